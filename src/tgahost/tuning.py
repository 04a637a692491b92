"""``tgahost tune``: search a TGA's parameters on a validation split within a time budget.

A setting fixed at training (model size, learning rate) costs a training run to try; a
setting that generation may override (how candidates are drawn) costs only a generation,
so every trained model is scored under every generate-time combination. Training
combinations run in random order, the TGA's defaults first, until the next one would not
fit in the time left. Each trial is scored as ``tgahost eval`` scores a TGA: the held-out
addresses (and their distinct /64s) among the first ``budget`` candidates.

The values tried come from each parameter's ``Param.tune`` (what the plugin author thinks
worth trying) unless ``grid`` names others.
"""

from __future__ import annotations

import itertools
import math
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tgahost import api
from tgahost.errors import TgahostError
from tgahost.evaluation import score_stream
from tgahost.modelfile import ModelFile
from tgahost.plugins import PluginHost, get_host
from tgahost.tga import TgaSpec

#: What "best" means: most held-out hits, or most distinct /64s holding a hit (immune to
#: one aliased prefix that answers for every address); the other breaks ties.
METRICS = ("hits", "64s")


@dataclass
class Trial:
    """One combination of the searched parameters and what it found."""

    params: dict[str, Any]
    hits: int = 0
    hit_64s: int = 0
    train_seconds: float = 0.0
    generate_seconds: float = 0.0
    note: str | None = None  # why it failed or fell short

    def key(self, metric: str) -> tuple[int, int]:
        return (self.hit_64s, self.hits) if metric == "64s" else (self.hits, self.hit_64s)


@dataclass
class Search:
    """Every trial in the order run, the best one and its model (trained on the training part)."""

    tga_type: str
    metric: str
    budget: int
    space: dict[str, tuple[Any, ...]]
    trials: list[Trial] = field(default_factory=list)
    best: Trial | None = None
    model: ModelFile | None = None
    stopped_by: str = "done"  # done, time_budget, max_trials or interrupted
    seconds: float = 0.0

    def table(self) -> str:
        """The trials as a Markdown table, best marked."""
        names = list(self.space)
        head = ["#", *names, "hits", "/64s", "train s", "generate s", "note"]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for number, trial in enumerate(self.trials, 1):
            note = "**best**" if trial is self.best else (trial.note or "")
            cells = [
                str(number),
                *(_show(trial.params[n]) for n in names),
                f"{trial.hits:,}",
                f"{trial.hit_64s:,}",
                f"{trial.train_seconds:.1f}",
                f"{trial.generate_seconds:.1f}",
                note,
            ]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)


def _show(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def search_space(spec: TgaSpec, grid: Mapping[str, Sequence[Any]] | None = None) -> dict[str, tuple]:
    """The values to try per parameter: the plugin's ``tune`` values, replaced by ``grid``."""
    space = {p.name: tuple(p.tune) for p in spec.params if p.tune}
    for name, values in (grid or {}).items():
        param = spec.param(name)
        if param is None:
            known = ", ".join(p.name for p in spec.params) or "none"
            raise TgahostError(f"--grid {name}: {spec.name} has no such parameter (it accepts: {known})")
        if not values:
            raise TgahostError(f"--grid {name}: give at least one value, e.g. {name}=1,2")
        space[name] = tuple(dict.fromkeys(param.convert(v) for v in values))
    if not space:
        raise TgahostError(f"{spec.name} suggests no values to tune; give some with --grid KEY=V1,V2")
    return space


def _combinations(space: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    names = list(space)
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*(space[n] for n in names))]


def search(
    tga_type: str,
    train: np.ndarray,
    held_out: np.ndarray,
    *,
    budget: int = 100_000,
    time_budget: float = 1800.0,
    grid: Mapping[str, Sequence[Any]] | None = None,
    fixed: Mapping[str, Any] | None = None,
    metric: str = "hits",
    seed: int = 0,
    max_trials: int = 0,
    host: PluginHost | None = None,
    report: Callable[[str], None] | None = None,
) -> Search:
    """Try combinations of ``tga_type``'s parameters; ``fixed`` holds the ones not searched.

    Stops before a training run that would overrun ``time_budget`` seconds (a TGA with a
    ``time_budget`` parameter of its own is capped to the time left), after ``max_trials``
    trials (0: no limit), or at Ctrl-C, keeping what was measured.
    """
    if metric not in METRICS:
        raise TgahostError(f"--metric {metric}: use one of {', '.join(METRICS)}")
    if time_budget <= 0:
        raise TgahostError(f"--time-budget must be positive, got {time_budget:g}")
    say = report or (lambda line: None)
    host = host or get_host()
    spec, _ = host.resolve(tga_type)
    fixed = spec.resolve_params(fixed or {})  # checked and converted; defaults filled
    space = search_space(spec, grid)
    at_generate = {p.name for p in spec.params if p.at_generate}
    train_space = {k: v for k, v in space.items() if k not in at_generate}
    generate_space = {k: v for k, v in space.items() if k in at_generate}
    # the defaults first, as the baseline every other trial is compared with
    first = {k: fixed[k] for k in train_space}
    rest = [c for c in _combinations(train_space) if c != first]
    random.Random(seed).shuffle(rest)
    generate_combos = _combinations(generate_space)
    result = Search(tga_type, metric, budget, space)
    started = time.perf_counter()
    spent_per_model: list[float] = []
    try:
        for number, combo in enumerate([first, *rest], 1):
            left = time_budget - (time.perf_counter() - started)
            if spent_per_model and np.mean(spent_per_model) > left:
                result.stopped_by = "time_budget"
                break
            if max_trials and len(result.trials) >= max_trials:
                result.stopped_by = "max_trials"
                break
            model_started = time.perf_counter()
            params = {**fixed, **combo}
            if "time_budget" in params and "time_budget" not in at_generate:
                own = float(params["time_budget"]) or math.inf
                params["time_budget"] = max(1.0, min(own, left))
            say(f"training {number}/{len(rest) + 1}: {describe(combo) or 'defaults'}")
            try:
                model = api.train(tga_type, train, params=params, seed=seed, host=host)
                error = None
            except TgahostError as exc:
                model, error = None, str(exc)
            train_seconds = time.perf_counter() - model_started
            for overrides in generate_combos:
                if max_trials and len(result.trials) >= max_trials:
                    result.stopped_by = "max_trials"
                    break
                trial = Trial({**combo, **overrides}, train_seconds=train_seconds, note=error)
                if model is not None:
                    _score(trial, model, overrides, held_out, budget, seed, host)
                result.trials.append(trial)
                say(
                    f"  {describe(trial.params)}: {trial.hits:,} hits in {trial.hit_64s:,} /64s"
                    f"{f' ({trial.note})' if trial.note else ''}"
                )
                if model is not None and (result.best is None or trial.key(metric) > result.best.key(metric)):
                    result.best, result.model = trial, model
            spent_per_model.append(time.perf_counter() - model_started)
    except KeyboardInterrupt:
        result.stopped_by = "interrupted"
        say("interrupted: keeping the trials measured so far")
    result.seconds = time.perf_counter() - started
    if result.best is None:
        raise TgahostError(f"no trial of {tga_type} ran to the end; see the notes above")
    return result


def _score(
    trial: Trial,
    model: ModelFile,
    overrides: Mapping[str, Any],
    held_out: np.ndarray,
    budget: int,
    seed: int,
    host: PluginHost,
) -> None:
    started = time.perf_counter()
    try:
        batches = api.generate(model, budget, unique=True, seed=seed, params=overrides, host=host)
        found, note = score_stream(batches, held_out, [budget])
    except TgahostError as exc:
        trial.note = str(exc)
        return
    finally:
        trial.generate_seconds = time.perf_counter() - started
    trial.note = note
    if found:  # a shortfall is scored on what was made
        trial.hits, trial.hit_64s = found[-1].hits, found[-1].hit_64s


def describe(params: Mapping[str, Any]) -> str:
    return " ".join(f"{k}={_show(v)}" for k, v in params.items())
