"""The field's offline yardstick: split the seeds, train on one part, count the held-out
addresses a budget of candidates finds (hits), and the distinct /64 and /48 prefixes they
fall in. The split is the one ``../shared/tools/make_split.py`` makes, so figures compare
with published baselines measured on the same split.

Budgets are cumulative: one run generates the largest budget as a single stream, and the
first N candidates of that stream are the N-candidate result.
"""

from __future__ import annotations

import multiprocessing
import random
import resource
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from tgahost.addresses import AddressSet, as_keys, distinct, open_text, parse_in_order
from tgahost.errors import TgahostError
from tgahost.prefixes import PrefixSet


def split(seeds: np.ndarray, test_fraction: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(train, held-out): distinct addresses sorted by value, shuffled with
    ``random.Random(seed)``, the first ``round((1 - test_fraction) * n)`` for training."""
    if not 0 < test_fraction < 1:
        raise TgahostError(f"--test-fraction must lie between 0 and 1, got {test_fraction}")
    ordered = distinct(seeds)
    order = list(range(len(ordered)))
    random.Random(seed).shuffle(order)
    k = round((1 - test_fraction) * len(ordered))
    index = np.array(order, dtype=np.int64)
    return ordered[index[:k]], ordered[index[k:]]


@dataclass
class Hits:
    """What a budget of candidates found among the held-out addresses."""

    budget: int
    hits: int
    hit_64s: int
    hit_48s: int
    held_out: int
    held_out_64s: int = 0
    hits_outside_exclude: int | None = None
    seconds: float | None = None  # generation time to reach this budget

    @property
    def hit_rate(self) -> float:
        return self.hits / self.budget if self.budget else 0.0

    @property
    def recall(self) -> float:
        return self.hits / self.held_out if self.held_out else 0.0

    @property
    def held_out_64_share(self) -> float:
        """Share of the held-out /64s that hold at least one hit."""
        return self.hit_64s / self.held_out_64s if self.held_out_64s else 0.0

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(hit_rate=self.hit_rate, recall=self.recall, held_out_64_share=self.held_out_64_share)
        if self.seconds:
            data["candidates_per_second"] = self.budget / self.seconds
        return data


def count_hits(candidates: np.ndarray, held_out: np.ndarray, exclude: PrefixSet | None = None) -> Hits:
    """Held-out addresses among ``candidates`` and the prefixes they cover."""
    found = AddressSet(held_out).contains(candidates)
    hit_rows = distinct(candidates[found])
    outside = None
    if exclude is not None:
        outside = int((~exclude.contains(hit_rows)).sum()) if len(hit_rows) else 0
    return Hits(
        budget=len(candidates),
        hits=len(hit_rows),
        hit_64s=len(np.unique(hit_rows[:, :8], axis=0)),
        hit_48s=len(np.unique(hit_rows[:, :6], axis=0)),
        held_out=len(held_out),
        held_out_64s=len(np.unique(held_out[:, :8], axis=0)),
        hits_outside_exclude=outside,
    )


@dataclass
class Result:
    """One TGA (or candidate file) evaluated at every budget."""

    name: str
    budgets: list[Hits] = field(default_factory=list)
    train_seconds: float | None = None
    peak_rss_mib: float | None = None
    note: str | None = None  # a shortfall, or why the run failed
    dropped: dict[str, int] | None = None  # candidate files: lines not counted, by reason

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "train_seconds": self.train_seconds,
            "peak_rss_mib": self.peak_rss_mib,
            "note": self.note,
            "dropped": self.dropped,
            "budgets": [b.as_dict() for b in self.budgets],
        }


def score_stream(
    batches: Iterable[np.ndarray],
    held_out: np.ndarray,
    budgets: Sequence[int],
    exclude: PrefixSet | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> tuple[list[Hits], str | None]:
    """Score the prefixes of a candidate stream at each budget (budgets ascending)."""
    wanted = sorted(set(budgets))
    chunks: list[np.ndarray] = []
    made = 0
    started = time.perf_counter()
    reached: dict[int, float] = {}
    note = None
    try:
        for batch in batches:
            chunks.append(batch)
            made += len(batch)
            now = time.perf_counter() - started
            for budget in wanted:
                if budget not in reached and made >= budget:
                    reached[budget] = now
            if on_progress:
                on_progress(made)
            if made >= wanted[-1]:
                break
    except TgahostError as exc:  # a shortfall: score what was made
        note = str(exc)
    stream = np.concatenate(chunks) if chunks else np.empty((0, 16), dtype=np.uint8)
    results = []
    for budget in wanted:
        if budget not in reached:
            if made and made < budget and note is None:
                note = f"stream ended after {made:,} candidates"
            continue
        hits = count_hits(stream[:budget], held_out, exclude)
        hits.seconds = reached[budget]
        results.append(hits)
    if made < wanted[-1] and made and not any(h.budget == made for h in results):
        partial = count_hits(stream, held_out, exclude)
        partial.seconds = time.perf_counter() - started
        results.append(partial)
    return results, note


def _peak_rss_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def evaluate_tga(
    tga_type: str,
    train: np.ndarray,
    held_out: np.ndarray,
    budgets: Sequence[int],
    params: Mapping[str, Any] | None = None,
    seed: int = 0,
    exclude: PrefixSet | None = None,
    report: Callable[[str], None] | None = None,
) -> Result:
    """Train ``tga_type`` on ``train`` and score its unique candidates at every budget."""
    from tgahost import api

    say = report or (lambda line: None)
    result = Result(tga_type)
    say(f"{tga_type}: training on {len(train):,} addresses")
    started = time.perf_counter()
    model = api.train(
        tga_type, train, params=params, seed=seed, report=lambda line: say(f"{tga_type}: {line}")
    )
    result.train_seconds = time.perf_counter() - started
    top = max(budgets)
    say(f"{tga_type}: generating {top:,} candidates")
    stream = api.generate(model, top, unique=True, seed=seed)
    last = [0.0]

    def progress(made: int) -> None:
        if time.monotonic() - last[0] > 5:
            last[0] = time.monotonic()
            say(f"{tga_type}: generated {made:,}/{top:,}")

    result.budgets, result.note = score_stream(stream, held_out, budgets, exclude, progress)
    result.peak_rss_mib = _peak_rss_mib()
    return result


def _child(conn, args: tuple) -> None:
    """Entry point of the per-TGA process: evaluate, sending progress lines and then the
    result (or the error) back through ``conn``."""
    try:
        result = evaluate_tga(*args, report=lambda line: conn.send(("progress", line)))
        conn.send(("ok", result.as_dict()))
    except TgahostError as exc:
        conn.send(("error", str(exc)))
    except BaseException as exc:  # report any crash as that TGA's failure
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def evaluate_tga_in_process(
    tga_type: str,
    train: np.ndarray,
    held_out: np.ndarray,
    budgets: Sequence[int],
    params: Mapping[str, Any] | None = None,
    seed: int = 0,
    exclude: PrefixSet | None = None,
    report: Callable[[str], None] | None = None,
) -> Result:
    """:func:`evaluate_tga` in a fresh process, so that peak memory is that TGA's own and a
    crash or an out-of-memory kill of one TGA does not end the others."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe(duplex=False)
    args = (tga_type, train, held_out, list(budgets), dict(params or {}), seed, exclude)
    process = context.Process(target=_child, args=(child, args), daemon=True)
    process.start()
    child.close()
    status, payload = "error", "the evaluation process died (out of memory?)"
    try:
        while True:
            status, payload = parent.recv()
            if status != "progress":
                break
            if report:
                report(payload)
    except EOFError:
        status, payload = "error", "the evaluation process died (out of memory?)"
    finally:
        process.join()
    if status == "error":
        return Result(tga_type, note=payload)
    return result_from_dict(payload)


def result_from_dict(data: Mapping[str, Any]) -> Result:
    keys = {f for f in Hits.__dataclass_fields__}
    budgets = [Hits(**{k: v for k, v in b.items() if k in keys}) for b in data["budgets"]]
    return Result(
        name=data["name"],
        budgets=budgets,
        train_seconds=data.get("train_seconds"),
        peak_rss_mib=data.get("peak_rss_mib"),
        note=data.get("note"),
        dropped=data.get("dropped"),
    )


def read_candidates(path: str, train: np.ndarray, budget: int) -> tuple[np.ndarray, dict[str, int]]:
    """The first ``budget`` distinct, valid, non-training candidates of a file, in file
    order, and how many lines before the last of them were dropped, by reason."""
    with open_text(path) as text:
        rows, invalid_before = parse_in_order(text)
    training = AddressSet(train).contains(rows)
    first = np.zeros(len(rows), dtype=bool)
    first[np.unique(as_keys(rows), return_index=True)[1]] = True
    kept = np.flatnonzero(first & ~training)[:budget]
    end = kept[-1] + 1 if len(kept) == budget and budget else len(rows)
    dropped = {
        "invalid": int(invalid_before[end - 1] if end < len(rows) else invalid_before[-1]),
        "duplicate": int((~first[:end] & ~training[:end]).sum()),
        "training": int(training[:end].sum()),
    }
    return rows[kept], dropped


def evaluate_candidates(
    path: str,
    train: np.ndarray,
    held_out: np.ndarray,
    budgets: Sequence[int],
    exclude: PrefixSet | None = None,
) -> Result:
    """Score a candidate file made by any tool, on the same split and budgets."""
    candidates, dropped = read_candidates(path, train, max(budgets))
    result = Result(f"file:{path}", dropped=dropped)
    result.budgets, result.note = score_stream([candidates], held_out, budgets, exclude)
    for hits in result.budgets:
        hits.seconds = None  # the file was made elsewhere: no generation time to report
    return result
