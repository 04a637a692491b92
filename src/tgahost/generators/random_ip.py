"""``random_ip``: random addresses, the floor every other TGA must beat.

With ``prefix=0`` it draws 16 uniform random bytes (the seed project's generator, which
practically never hits an active address). With ``prefix=32``, ``48`` or ``64`` it keeps the
first bits of a randomly chosen seed and draws the rest at random, so candidates land in
networks known to be active. ``iid=low`` draws only the last byte of the interface
identifier (``::1`` to ``::ff``); ``iid=random`` all 64 bits.

Defaults (prefix 64, low IIDs) are the variant that finds the most held-out addresses on
every real seed set we have; ``benchmarks/random_ip_prefix.py`` measures them all.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from tgahost import Model, Param, RunContext, TgaSpec, TrainedModel, hookimpl

BATCH = 65_536

SPEC = TgaSpec(
    name="random_ip",
    description="random addresses, optionally inside the seeds' /32, /48 or /64 prefixes",
    params=(
        Param(
            "prefix",
            "int",
            64,
            "keep this many leading bits of a random seed, draw the rest: 0 (anywhere), 32, 48 or 64",
            choices=(0, 32, 48, 64),
            at_generate=True,
            tune=(32, 48, 64),
        ),
        Param(
            "iid",
            "str",
            "low",
            "interface identifier (last 64 bits): 'random' draws all 64 bits, 'low' draws one "
            "of ::1 to ::ff (the low-byte style many servers and routers use)",
            choices=("random", "low"),
            at_generate=True,
            tune=("random", "low"),
        ),
    ),
)


@hookimpl
def tga_types() -> list[TgaSpec]:
    return [SPEC]


@hookimpl
def train_tga(
    tga_type: str, seeds: np.ndarray, params: Mapping[str, Any], run: RunContext
) -> TrainedModel | None:
    if tga_type != SPEC.name:
        return None
    # Nothing to learn beyond the seeds, which the model file keeps anyway.
    keep = params["prefix"] // 8
    prefixes = len(np.unique(seeds[:, :keep], axis=0)) if keep else 1
    return TrainedModel(arrays={}, info={"distinct_prefixes": int(prefixes)})


@hookimpl
def generate_targets(model: Model, run: RunContext) -> Iterator[np.ndarray] | None:
    if model.tga_type != SPEC.name:
        return None
    return _random_batches(model.seeds, int(model.params["prefix"]), model.params["iid"], run)


def _random_batches(seeds: np.ndarray, prefix_bits: int, iid: str, run: RunContext) -> Iterator[np.ndarray]:
    rng = run.rng()
    keep = prefix_bits // 8
    while True:
        batch = rng.integers(0, 256, size=(BATCH, 16), dtype=np.uint8)
        if iid == "low":
            batch[:, 8:15] = 0
            batch[:, 15] = rng.integers(1, 256, size=BATCH, dtype=np.uint8)
        if keep:
            batch[:, :keep] = seeds[rng.integers(0, len(seeds), size=BATCH), :keep]
        yield batch
