"""Train, save, load and generate: the calls behind the CLI and a scanner's Python code.

The host owns the guarantees here, whatever the plugin: exact counts, no training seed
ever emitted, no repeats when unique output is asked for, atomic model files.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from tgahost import modelfile
from tgahost.addresses import MIN_SEEDS, AddressSet, SeedSet, distinct
from tgahost.errors import TgahostError
from tgahost.modelfile import ModelFile
from tgahost.plugins import PluginHost, get_host
from tgahost.prefixes import PrefixSet
from tgahost.tga import Model, RunContext, new_seed

log = logging.getLogger("tgahost")

#: A unique run stops when this many batches in a row bring nothing new: the model's
#: distribution is exhausted, and asking again would loop forever.
DRY_BATCHES_LIMIT = 25
#: ``--fallback`` names and the TGA each runs when a model's own plugin cannot.
FALLBACKS = {"random": "random_ip"}


class ShortfallError(TgahostError):
    """Unique generation ended before reaching the requested count."""

    def __init__(self, made: int, wanted: int, tga_type: str) -> None:
        self.made = made
        self.wanted = wanted
        super().__init__(
            f"{tga_type} could make only {made:,} of the {wanted:,} distinct new addresses asked "
            "for; ask for fewer, or train on more seeds"
        )


def _noop(line: str) -> None:
    pass


def _host_version() -> str:
    from tgahost import __version__

    return __version__


def train(
    tga_type: str,
    seeds: np.ndarray | SeedSet,
    params: Mapping[str, Any] | None = None,
    seed: int | None = None,
    host: PluginHost | None = None,
    report: Callable[[str], None] | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    resume: bool = False,
) -> ModelFile:
    """Train a model of ``tga_type`` on ``seeds`` (an ``(n, 16) uint8`` array or a SeedSet).

    ``params`` maps parameter names to values or strings, as ``--param`` gives them.
    Returns the model in memory; :func:`save_model` writes it. A TGA that trains for long
    keeps its progress in ``checkpoint`` (if given) and, with ``resume``, continues from it.
    """
    if resume and (checkpoint is None or not Path(checkpoint).is_file()):
        raise TgahostError(
            f"nothing to resume: no checkpoint at {checkpoint}; train without --resume to start afresh"
        )
    host = host or get_host()
    spec, info = host.resolve(tga_type)
    resolved = spec.resolve_params(params or {})
    array = seeds.addresses if isinstance(seeds, SeedSet) else np.asarray(seeds, dtype=np.uint8)
    if array.ndim != 2 or array.shape[1] != 16:
        raise TgahostError(f"seeds must be an (n, 16) uint8 array, got shape {array.shape}")
    array = distinct(array)
    if len(array) < MIN_SEEDS:
        raise TgahostError(f"{len(array)} distinct seed(s); a TGA needs at least {MIN_SEEDS}")
    array.setflags(write=False)
    run = RunContext(
        seed=new_seed() if seed is None else seed,
        report=report or _noop,
        checkpoint=Path(checkpoint) if checkpoint is not None else None,
        resume=resume,
    )
    started = time.perf_counter()
    trained = host.hook_for("train_tga", info)(tga_type=tga_type, seeds=array, params=resolved, run=run)
    if trained is None:
        raise TgahostError(f"plugin {info.name} returned no model for {tga_type}")
    info_dict = dict(trained.info)
    info_dict.setdefault("train_seconds", round(time.perf_counter() - started, 3))
    info_dict.setdefault("train_seed", run.seed)
    metadata = modelfile.build_metadata(
        tga_type=tga_type,
        plugin=info.name,
        distribution=info.distribution,
        version=info.version,
        params=resolved,
        seeds=array,
        info=info_dict,
        host_version=_host_version(),
    )
    return ModelFile(metadata=metadata, arrays=dict(trained.arrays), seeds=array)


def save_model(model: ModelFile, path: str | os.PathLike[str]) -> int:
    """Write ``model`` to ``path`` atomically; returns the file size in bytes."""
    return modelfile.save(path, model.metadata, model.arrays, model.seeds)


def load_model(path: str | os.PathLike[str]) -> ModelFile:
    """Read a model file written by :func:`save_model` (or ``tgahost train``)."""
    return modelfile.load(path)


def _unavailable(model: ModelFile, host: PluginHost) -> str | None:
    """Why the plugin of ``model``'s TGA cannot generate here, or None when it can."""
    try:
        host.resolve(model.tga_type)
    except TgahostError as exc:
        return str(exc)
    return None


def generating_type(model: ModelFile, host: PluginHost | None = None, fallback: str | None = None) -> str:
    """The TGA type that :func:`generate` will run for ``model``: its own, or the fallback's."""
    host = host or get_host()
    if fallback is None or _unavailable(model, host) is None:
        return model.tga_type
    return FALLBACKS.get(fallback, model.tga_type)


def _plugin_model(
    model: ModelFile, host: PluginHost, overrides: Mapping[str, Any], fallback: str | None
) -> tuple[Model, Any]:
    """The model as its plugin sees it and the hook to call, or the fallback's."""
    reason = _unavailable(model, host)
    if reason is None:
        spec, info = host.resolve(model.tga_type)
        params = {p.name: p.default for p in spec.params}
        params.update(model.params)
        params.update(spec.resolve_params(overrides, at_generate=True))
        plugin_model = Model(model.tga_type, model.arrays, params, model.seeds, model.metadata)
        return plugin_model, host.hook_for("generate_targets", info)
    if fallback is None:
        made_by = model.metadata.get("plugin", {}).get("distribution")
        hint = f"; install {made_by}" if made_by else ""
        raise TgahostError(f"{reason}{hint}, or pass --fallback random")
    if fallback not in FALLBACKS:
        raise TgahostError(f"unknown fallback {fallback!r}; use one of {', '.join(FALLBACKS)}")
    fallback_type = FALLBACKS[fallback]
    fallback_spec, fallback_info = host.resolve(fallback_type)
    log.warning("%s; falling back to %s over the model's /64 prefixes", reason, fallback_type)
    params = {p.name: p.default for p in fallback_spec.params}
    params["prefix"] = 64
    plugin_model = Model(fallback_type, {}, params, model.seeds, model.metadata)
    return plugin_model, host.hook_for("generate_targets", fallback_info)


def generate(
    model: ModelFile | str | os.PathLike[str],
    count: int,
    unique: bool = True,
    seed: int | None = None,
    params: Mapping[str, Any] | None = None,
    host: PluginHost | None = None,
    fallback: str | None = None,
    report: Callable[[str], None] | None = None,
    exclude: PrefixSet | None = None,
) -> Iterator[np.ndarray]:
    """Yield batches of new candidate addresses, ``count`` in all, in the model's order.

    No training seed and nothing inside ``exclude`` is ever yielded; with ``unique`` no
    address is yielded twice, and a model that runs dry raises :class:`ShortfallError`
    after yielding what it made. ``params`` overrides the generate-time parameters a TGA
    declares (e.g. temperature).
    """
    if count < 0:
        raise TgahostError(f"--count must be >= 0, got {count}")
    host = host or get_host()
    if not isinstance(model, ModelFile):
        model = load_model(model)
    plugin_model, hook = _plugin_model(model, host, params or {}, fallback)
    if count == 0:
        return
    run = RunContext(seed=new_seed() if seed is None else seed, count=count, report=report or _noop)
    batches = hook(model=plugin_model, run=run)
    if batches is None:
        raise TgahostError(f"no plugin generated anything for {plugin_model.tga_type}")
    seen = AddressSet(model.seeds)
    made = 0
    dry = 0
    for batch in batches:
        batch = np.asarray(batch, dtype=np.uint8).reshape(-1, 16)
        if exclude is not None:
            batch = batch[~exclude.contains(batch)]
        keep = seen.add_new(batch) if unique else ~seen.contains(batch)
        fresh = batch[keep][: count - made]
        if len(fresh) == 0:
            dry += 1
            if dry >= DRY_BATCHES_LIMIT:
                break
            continue
        dry = 0
        made += len(fresh)
        yield fresh
        if made >= count:
            return
    if made < count:
        raise ShortfallError(made, count, plugin_model.tga_type)
