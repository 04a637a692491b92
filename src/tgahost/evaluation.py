"""The field's offline yardstick: split the seeds, train on one part, count the held-out
addresses a budget of candidates finds (hits), and the distinct /64 and /48 prefixes they
fall in. The split is the one ``../shared/tools/make_split.py`` makes, so figures compare
with published baselines measured on the same split.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

from tgahost.addresses import AddressSet, distinct


def split(seeds: np.ndarray, test_fraction: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(train, held-out): distinct addresses sorted by value, shuffled with
    ``random.Random(seed)``, the first ``round((1 - test_fraction) * n)`` for training."""
    ordered = distinct(seeds)
    order = list(range(len(ordered)))
    random.Random(seed).shuffle(order)
    k = round((1 - test_fraction) * len(ordered))
    index = np.array(order, dtype=np.int64)
    return ordered[index[:k]], ordered[index[k:]]


@dataclass
class Hits:
    budget: int
    hits: int
    hit_64s: int
    hit_48s: int
    held_out: int

    @property
    def hit_rate(self) -> float:
        return self.hits / self.budget if self.budget else 0.0

    @property
    def recall(self) -> float:
        return self.hits / self.held_out if self.held_out else 0.0


def count_hits(candidates: np.ndarray, held_out: np.ndarray) -> Hits:
    """Held-out addresses among ``candidates`` (distinct), and the prefixes they cover."""
    found = AddressSet(held_out).contains(candidates)
    hit_rows = distinct(candidates[found])
    return Hits(
        budget=len(candidates),
        hits=len(hit_rows),
        hit_64s=len(np.unique(hit_rows[:, :8], axis=0)),
        hit_48s=len(np.unique(hit_rows[:, :6], axis=0)),
        held_out=len(held_out),
    )
