"""``pattern_ip``: candidates from the structure of the seeds, ranked by calibrated hit rate.

Six families of candidates, each a vectorised expansion of the seeds (no loop per
address):

- **neighbours**: a seed's interface identifier plus or minus r (r = 1..``radius``), inside
  the seed's own /64. Scanned networks number their hosts densely (``::1``, ``::2``, ...,
  or runs of embedded IPv4 addresses), so the next address along is often live.
- **gap filling**: every address between two seeds of a /64 that lie at most ``max_gap``
  apart. A sparse seed set samples a dense numbering thinly (seeds at ``::251`` and
  ``::fc6``): the range between them is in use even where no neighbour reaches.
- **shared IIDs**: an interface identifier seen in one /64 of a /48, tried in the /48's other
  known /64s. Operators reuse identifiers across subnets (``::1`` routers, ``::53`` DNS,
  CDN edge addresses that differ only in the subnet).
- **new subnets**: subnet identifiers (bits 48..63) that vary among a /48's known /64s are
  recombined nybble by nybble (the wildcard-nybble idea of 6Gen and Entropy/IP), and each
  new /64 gets the /48's most common identifiers.
- **subnet steps**: a seed's identifier in nearby subnets (subnet +-d at each nybble).
- **subnet sweeps**: all 65,536 subnets of a /48 that numbers many of them, with the low
  identifier (``::1``) most of them share. Hosting /48s hand each customer a /64 at subnet
  identifiers no pattern predicts; only a sweep finds them.

How to rank a neighbour against a shared identifier? The model measures it: training holds
out a share of the seeds, expands the rest, and records for every family and bucket
(distance, density of the /64, how often an identifier recurs, ...) the share of candidates
that were held-out seeds, over several rounds with fresh hold-outs (small seed sets need
many before rare buckets see a hit). At generate time every candidate is scored with its bucket's
measured rate and emitted best first, so any budget prefix is the best the model has.
Past the head of that ranking (candidates under a 2 % rate), ``coverage`` favours /64s that
no higher-ranked candidate has probably hit yet: a large budget finds more distinct /64s
at the cost of a few hits in dense, often aliased, /64s.
Ideas from the literature: seed neighbourhoods (6Tree, 6Scan), nybble patterns (Entropy/IP,
6Gen, 6Graph); the calibration by an internal hold-out is ours.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from tgahost import Model, Param, RunContext, TgaSpec, TrainedModel, hookimpl
from tgahost.addresses import AddressSet, distinct

FAMILIES = ("neighbour", "shared_iid", "new_subnet", "subnet_step", "gap_fill", "subnet_sweep")
BUCKETS = 8192  # per family; bucket keys are small integers below this
GAP_BUCKETS = 12
NO_SEED = np.uint64(2**64 - 1)
BATCH = 65_536
#: ``coverage`` leaves the candidates at least this likely to hit in their pure hit-rate order
#: (on hitlist-90k the first ~280k): a small budget is best spent on hits, a large one on /64s.
COVERAGE_FROM_RATE = 0.02
#: rounds=0 calibrates until this many held-out seeds are measured, within these bounds; small
#: seed sets need many rounds before their rare buckets see a hit.
AUTO_HELD_OUT = 40_000
AUTO_ROUNDS = (5, 50)
#: Gap filling makes at most this many candidates, the narrowest gaps first, so that a set
#: of large dense /64s cannot fill memory.
GAP_FILL_LIMIT = 2_000_000
#: Subnet sweeps make 65,536 candidates each; at most this many, so that a seed set with
#: thousands of busy /48s cannot fill memory (hitlist-100k has 87, hitlist-90k 30).
MAX_SWEEPS = 128
#: Neighbour rings past ``radius`` tried once the ranked candidates are used up.
MAX_TAIL_RINGS = 1 << 16

SPEC = TgaSpec(
    name="pattern_ip",
    description="seed neighbourhoods, shared interface identifiers and subnet patterns, ranked by "
    "hit rate measured on a held-out share of the seeds",
    ranked=True,
    params=(
        Param(
            "radius",
            "int",
            64,
            "neighbours: try each seed's identifier +-1 .. +-radius",
            minimum=0,
            tune=(16, 64, 256),
        ),
        Param(
            "max_gap",
            "int",
            16384,
            "gap filling: every address between two seeds of a /64 at most this far apart, past what "
            f"the neighbours cover (0: none; at most {GAP_FILL_LIMIT:,} candidates, narrowest gaps first)",
            minimum=0,
            tune=(0, 4096, 16384, 65536),
        ),
        Param(
            "max_iids_per_48",
            "int",
            64,
            "shared IIDs and new subnets: use a /48's this many most common identifiers",
            minimum=0,
        ),
        Param(
            "max_subnets_per_48",
            "int",
            256,
            "new subnets: at most this many recombined subnet identifiers per /48",
            minimum=0,
        ),
        Param(
            "subnet_step",
            "int",
            4,
            "nearby subnets: move each seed's subnet by +-1 .. +-this at each of its four nybbles",
            minimum=0,
            tune=(2, 4, 8),
        ),
        Param(
            "sweep_min_subnets",
            "int",
            64,
            "subnet sweeps: all 65,536 subnets of each /48 with at least this many known /64s, with the "
            "low identifiers (::1-like) a tenth or more of them share; lower reaches more /48s, trains "
            "longer (0: no sweeps)",
            minimum=0,
            tune=(0, 32, 64, 256),
        ),
        Param(
            "coverage",
            "float",
            1.5,
            "favour new /64s: candidates below a 2 % hit rate weigh 1 + coverage x the chance that no "
            "higher-ranked candidate of their /64 hit; more /64s at large budgets, fewer hits in dense "
            "(often aliased) /64s (0: pure hit rate)",
            minimum=0.0,
            at_generate=True,
            tune=(0.0, 1.5, 3.0),
        ),
        Param(
            "rounds",
            "int",
            0,
            "calibration rounds, each holding out a fresh random share; more measure rare buckets better "
            f"but train longer (0: enough to measure {AUTO_HELD_OUT:,} held-out seeds, {AUTO_ROUNDS[0]} to "
            f"{AUTO_ROUNDS[1]} rounds)",
            minimum=0,
        ),
        Param(
            "holdout",
            "float",
            0.2,
            "share of the seeds held out to measure each bucket's hit rate",
            minimum=0.01,
            maximum=0.9,
        ),
    ),
)


@hookimpl
def tga_types() -> list[TgaSpec]:
    return [SPEC]


# -- address arithmetic on (hi, lo) uint64 pairs ---------------------------------------------


def _split(addresses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pairs = np.ascontiguousarray(addresses, dtype=np.uint8).view(">u8").reshape(-1, 2)
    return pairs[:, 0].astype(np.uint64), pairs[:, 1].astype(np.uint64)


def _join(hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    out = np.empty((len(hi), 2), dtype=">u8")
    out[:, 0] = hi
    out[:, 1] = lo
    return out.view(np.uint8).reshape(-1, 16)


def _empty() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    none = np.empty(0, dtype=np.uint64)
    return none, none, np.empty(0, dtype=np.int64)


def _log2_bucket(values: np.ndarray, top: int) -> np.ndarray:
    return np.minimum(np.floor(np.log2(np.maximum(values, 1))).astype(np.int64), top)


def _group_sizes(keys: np.ndarray) -> np.ndarray:
    """For each element (row, for a 2-D array), how many share its key."""
    axis = 0 if keys.ndim > 1 else None
    _, inverse, counts = np.unique(keys, axis=axis, return_inverse=True, return_counts=True)
    return counts[inverse.reshape(-1)]


# -- the candidate families: (hi, lo, bucket) arrays ---------------------------------------


def _steps(lo: np.ndarray, r: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(valid mask, lo + r) and (valid mask, lo - r): steps that would wrap around the /64
    are masked out."""
    step = np.uint64(r)
    yield lo <= np.uint64(2**64 - 1) - step, lo + step
    yield lo >= step, lo - step


def _iid_style(lo: np.ndarray) -> np.ndarray:
    """0: low (< 2^16), 1: small (< 2^32, e.g. embedded IPv4), 2: EUI-64 (ff:fe), 3: other."""
    style = np.full(len(lo), 3, dtype=np.int64)
    style[((lo >> np.uint64(24)) & np.uint64(0xFFFF)) == np.uint64(0xFFFE)] = 2
    style[lo < np.uint64(1 << 32)] = 1
    style[lo < np.uint64(1 << 16)] = 0
    return style


def _neighbours(hi: np.ndarray, lo: np.ndarray, radius: int) -> tuple[np.ndarray, ...]:
    """Each candidate comes from its nearest seed below (stepping up) or, when that one is
    out of reach, its nearest seed above (stepping down), so it appears once, bucketed by
    the gaps to the seeds on both sides: a gap between two seeds fills far more often than
    the open space past the last one."""
    order = np.lexsort((lo, hi))
    hi, lo = hi[order], lo[order]
    gaps = np.where(hi[1:] == hi[:-1], lo[1:] - lo[:-1], NO_SEED)
    gap_up = np.r_[gaps, NO_SEED].astype(np.uint64)
    gap_down = np.r_[NO_SEED, gaps].astype(np.uint64)
    density = _log2_bucket(_group_sizes(hi), 7)  # seeds in the /64: 1, 2-3, 4-7, ... 128+
    context = (_iid_style(lo) * 8 + density) * 2
    his, los, buckets = [], [], []
    for r in range(1, radius + 1):
        step = np.uint64(r)
        near = _log2_bucket(np.array([r]), 6)[0]  # 1, 2-3, ..., 64
        up = (lo <= np.uint64(2**64 - 1) - step) & (gap_up > step)
        far = _gap_bucket(gap_up[up] - step)
        his.append(hi[up])
        los.append(lo[up] + step)
        buckets.append(((context[up] + 1) * 7 + near) * GAP_BUCKETS + far)
        # stepping down only where the seed below could not reach
        down = (lo >= step) & (gap_down > step) & (gap_down - step > np.uint64(radius))
        far = _gap_bucket(gap_down[down] - step)
        his.append(hi[down])
        los.append(lo[down] - step)
        buckets.append((context[down] * 7 + near) * GAP_BUCKETS + far)
    if not his:
        return _empty()
    return np.concatenate(his), np.concatenate(los), np.concatenate(buckets)


def _gap_fill(hi: np.ndarray, lo: np.ndarray, radius: int, max_gap: int) -> tuple[np.ndarray, ...]:
    """Every address strictly between two seeds of a /64 that lie at most ``max_gap`` apart,
    less the ``radius`` next to each seed that the neighbours already make. Sparse seed sets
    sample a dense numbering thinly: seeds at ``::251`` and ``::fc6`` say the range between
    is in use. Bucketed by identifier style, /64 density, the gap and the distance to the
    nearer seed."""
    if max_gap <= 2 * radius + 1:
        return _empty()
    order = np.lexsort((lo, hi))
    hi, lo = hi[order], lo[order]
    same = hi[1:] == hi[:-1]
    gap = np.where(same, lo[1:] - lo[:-1], np.uint64(0))
    inner = np.flatnonzero(same & (gap > np.uint64(2 * radius + 1)) & (gap <= np.uint64(max_gap)))
    sizes = (gap[inner] - np.uint64(2 * radius + 1)).astype(np.int64)
    by_size = np.argsort(gap[inner], kind="stable")
    keep = by_size[: int(np.searchsorted(np.cumsum(sizes[by_size]), GAP_FILL_LIMIT, side="right"))]
    inner, sizes = inner[keep], sizes[keep]
    if not len(inner):
        return _empty()
    density = _log2_bucket(_group_sizes(hi), 7)
    context = (_iid_style(lo) * 8 + density)[inner]
    gap_class = np.clip(_log2_bucket(gap[inner].astype(np.float64), 30) - 7, 0, 7)
    at = np.repeat(np.arange(len(inner)), sizes)
    offset = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes) + radius + 1
    nearer = np.minimum(offset, gap[inner][at].astype(np.int64) - offset)
    near_class = np.clip(_log2_bucket(nearer, 30) - 6, 0, 7)
    bucket = (context[at] * 8 + gap_class[at]) * 8 + near_class
    return hi[inner][at], lo[inner][at] + offset.astype(np.uint64), bucket


def _gap_bucket(gap: np.ndarray) -> np.ndarray:
    """log2 of the distance to the seed on the far side, 0..10; 11 where there is none."""
    bucket = _log2_bucket(np.minimum(gap, np.uint64(1 << 62)).astype(np.float64), 10)
    return np.where(gap >= NO_SEED - np.uint64(1 << 63), GAP_BUCKETS - 1, bucket)


def _top_iids_per_48(hi: np.ndarray, lo: np.ndarray, limit: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(/48 key, IID, seeds with that IID in that /48), the ``limit`` most common per /48."""
    key48 = hi >> np.uint64(16)
    pairs = np.stack([key48, lo], axis=1)
    uniq, counts = np.unique(pairs, axis=0, return_counts=True)
    # most common first within each /48: sort by /48, then by count descending
    order = np.lexsort((-counts, uniq[:, 0]))
    uniq, counts = uniq[order], counts[order]
    starts = np.r_[0, np.flatnonzero(np.diff(uniq[:, 0])) + 1]
    rank = np.arange(len(uniq)) - np.repeat(starts, np.diff(np.r_[starts, len(uniq)]))
    keep = rank < limit
    return uniq[keep, 0], uniq[keep, 1], counts[keep]


def _cross(
    subnets_48: np.ndarray, subnets: np.ndarray, iid_48: np.ndarray, iids: np.ndarray, iid_counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (subnet, IID) pair that shares a /48: (hi, lo, IID count)."""
    order = np.argsort(iid_48, kind="stable")
    iid_48, iids, iid_counts = iid_48[order], iids[order], iid_counts[order]
    left = np.searchsorted(iid_48, subnets_48, side="left")
    right = np.searchsorted(iid_48, subnets_48, side="right")
    per = right - left
    subnet_index = np.repeat(np.arange(len(subnets)), per)
    offsets = np.arange(per.sum()) - np.repeat(np.cumsum(per) - per, per)
    iid_index = left[subnet_index] + offsets
    return subnets[subnet_index], iids[iid_index], iid_counts[iid_index]


def _shared_iids(hi: np.ndarray, lo: np.ndarray, limit: int) -> tuple[np.ndarray, ...]:
    nets = np.unique(hi)
    iid_48, iids, counts = _top_iids_per_48(hi, lo, limit)
    nets_per_48 = _group_sizes(nets >> np.uint64(16))
    c_hi, c_lo, c_count = _cross(nets >> np.uint64(16), nets, iid_48, iids, counts)
    nets_here = nets_per_48[np.searchsorted(nets, c_hi)]
    # how common the identifier is among the /48's known /64s, in eighths
    share = np.minimum((8 * c_count) // np.maximum(nets_here, 1), 7).astype(np.int64)
    bucket = _iid_style(c_lo) * 64 + _log2_bucket(c_count, 7) * 8 + share
    return c_hi, c_lo, bucket


def _new_subnets(hi: np.ndarray, lo: np.ndarray, iid_limit: int, subnet_limit: int) -> tuple[np.ndarray, ...]:
    nets = np.unique(hi)
    key48 = nets >> np.uint64(16)
    subnet = (nets & np.uint64(0xFFFF)).astype(np.int64)
    starts = np.r_[0, np.flatnonzero(np.diff(key48)) + 1]
    ends = np.r_[starts[1:], len(nets)]
    new_hi: list[np.ndarray] = []
    sizes: list[int] = []
    for start, end in zip(starts, ends, strict=True):
        if end - start < 2:
            continue  # one subnet shows no pattern to recombine
        values = subnet[start:end]
        nybbles = [(values >> shift) & 0xF for shift in (12, 8, 4, 0)]
        choices = [np.unique(n) for n in nybbles]
        size = int(np.prod([len(c) for c in choices]))
        if size > subnet_limit or size <= end - start:
            continue
        grid = np.stack(np.meshgrid(*choices, indexing="ij"), axis=-1).reshape(-1, 4)
        combined = (grid[:, 0] << 12) | (grid[:, 1] << 8) | (grid[:, 2] << 4) | grid[:, 3]
        fresh = np.setdiff1d(combined, values)
        new_hi.append((key48[start] << np.uint64(16)) | fresh.astype(np.uint64))
        sizes.extend([size] * len(fresh))
    if not new_hi:
        return _empty()
    subnets = np.concatenate(new_hi)
    fill = np.array(sizes, dtype=np.int64) / 1.0
    iid_48, iids, counts = _top_iids_per_48(hi, lo, iid_limit)
    c_hi, c_lo, c_count = _cross(subnets >> np.uint64(16), subnets, iid_48, iids, counts)
    # density of the recombined grid: known subnets over grid size, in eighths
    known = _group_sizes(nets >> np.uint64(16))
    known_here = known[np.searchsorted(nets >> np.uint64(16), c_hi >> np.uint64(16))]
    grid_size = fill[np.searchsorted(subnets, c_hi)]
    fill_eighths = np.minimum((8 * known_here) // np.maximum(grid_size, 1), 7).astype(np.int64)
    bucket = _log2_bucket(c_count, 7) * 8 + fill_eighths
    return c_hi, c_lo, bucket


def _subnet_steps(hi: np.ndarray, lo: np.ndarray, max_step: int) -> tuple[np.ndarray, ...]:
    """The seed's identifier in nearby subnets: subnet +-d at each nybble (d*1, d*16, ...)."""
    nets = np.unique(hi)
    key48 = nets >> np.uint64(16)
    at = np.searchsorted(nets, hi)
    density = _log2_bucket(_group_sizes(key48)[at], 3)
    # an identifier found in several of the /48's subnets is a better guess for a new one
    iid_nets = _log2_bucket(_group_sizes(np.stack([hi >> np.uint64(16), lo], axis=1)), 4)
    # is the new subnet inside the range the /48's known subnets span?
    first = np.r_[0, np.flatnonzero(np.diff(key48)) + 1]
    group = np.repeat(np.arange(len(first)), np.diff(np.r_[first, len(nets)]))
    low_sub = (nets[first] & np.uint64(0xFFFF)).astype(np.int64)[group][at]
    high_sub = (nets[np.r_[first[1:], len(nets)] - 1] & np.uint64(0xFFFF)).astype(np.int64)[group][at]
    subnet = (hi & np.uint64(0xFFFF)).astype(np.int64)
    base = hi - subnet.astype(np.uint64)
    context = ((_iid_style(lo) * 5 + iid_nets) * 4 + density) * 2
    his, los, buckets = [], [], []
    for level in range(4):
        for d in range(1, max_step + 1):
            for sign in (1, -1):
                moved = subnet + sign * d * 16**level
                ok = (moved >= 0) & (moved <= 0xFFFF)
                inside = (moved > low_sub) & (moved < high_sub)
                his.append(base[ok] | moved[ok].astype(np.uint64))
                los.append(lo[ok])
                buckets.append(((context + inside)[ok] * 4 + level) * 4 + min(d - 1, 3))
    if not his:
        return _empty()
    return np.concatenate(his), np.concatenate(los), np.concatenate(buckets)


def _subnet_sweep(hi: np.ndarray, lo: np.ndarray, min_subnets: int) -> tuple[np.ndarray, ...]:
    """Every subnet of a /48 that numbers many subnets, with the identifiers most of them
    share: large hosting /48s give each customer a /64 with ``::1`` at scattered subnet
    identifiers no nybble pattern predicts. Bucketed by the /48's known subnets and the
    identifier's share of them."""
    if min_subnets <= 0:
        return _empty()
    nets = np.unique(hi)
    key48, counts = np.unique(nets >> np.uint64(16), return_counts=True)
    busy = key48[counts >= min_subnets]
    if not len(busy):
        return _empty()
    iid_48, iids, iid_counts = _top_iids_per_48(hi, lo, 2)
    nets_of = counts[np.searchsorted(key48, iid_48)]
    share = iid_counts / np.maximum(nets_of, 1)
    # Measured on hitlist-90k, only low identifiers (::1, ::2, ...) shared by a tenth of the
    # subnets or more ever hit in a new subnet; sweeping the others costs millions for nothing.
    keep = np.isin(iid_48, busy) & (share >= 0.1) & (iids < np.uint64(1 << 16))
    iid_48, iids, share, nets_of = iid_48[keep], iids[keep], share[keep], nets_of[keep]
    # the most telling first (most known subnets sharing the identifier), as many as fit
    best = np.argsort(-(share * nets_of), kind="stable")[:MAX_SWEEPS]
    iid_48, iids, share, nets_of = iid_48[best], iids[best], share[best], nets_of[best]
    subnet = np.arange(1 << 16, dtype=np.uint64)
    c_hi = ((iid_48[:, None] << np.uint64(16)) | subnet[None, :]).reshape(-1)
    c_lo = np.repeat(iids, len(subnet))
    share_bucket = np.minimum((share * 8).astype(np.int64), 7)
    bucket = np.repeat(_log2_bucket(nets_of, 8) * 8 + share_bucket, len(subnet))
    return c_hi, c_lo, bucket


def _candidates(seeds: np.ndarray, params: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All candidates of all families: (addresses, family index, bucket), seeds excluded."""
    if len(seeds) == 0:  # a calibration round on a tiny set can hold out every seed
        none = np.empty(0, dtype=np.int64)
        return np.empty((0, 16), dtype=np.uint8), none, none
    hi, lo = _split(seeds)
    parts = (
        _neighbours(hi, lo, params["radius"]),
        _shared_iids(hi, lo, params["max_iids_per_48"]),
        _new_subnets(hi, lo, params["max_iids_per_48"], params["max_subnets_per_48"]),
        _subnet_steps(hi, lo, params["subnet_step"]),
        _gap_fill(hi, lo, params["radius"], params["max_gap"]),
        _subnet_sweep(hi, lo, params["sweep_min_subnets"]),
    )
    joined = [_join(h, lo_) for h, lo_, _ in parts]
    buckets = [b for _, _, b in parts]
    if len(joined[-1]):
        # A sweep covers every subnet, so it repeats what the other families make; left in,
        # calibration would credit it with their hits.
        fresh = ~AddressSet(np.concatenate(joined[:-1])).contains(joined[-1])
        joined[-1], buckets[-1] = joined[-1][fresh], buckets[-1][fresh]
    addresses = np.concatenate(joined)
    family = np.repeat(np.arange(len(joined)), [len(j) for j in joined])
    bucket = np.concatenate(buckets)
    keep = ~AddressSet(seeds).contains(addresses)
    return addresses[keep], family[keep], bucket[keep]


# -- hooks -------------------------------------------------------------------------------


@hookimpl
def train_tga(
    tga_type: str, seeds: np.ndarray, params: Mapping[str, Any], run: RunContext
) -> TrainedModel | None:
    if tga_type != SPEC.name:
        return None
    rng = run.rng()
    size = len(FAMILIES) * BUCKETS
    tried, found = np.zeros(size), np.zeros(size)
    candidates = hit_count = held_out = 0
    rounds = params["rounds"] or int(
        np.clip(np.ceil(AUTO_HELD_OUT / max(len(seeds) * params["holdout"], 1)), *AUTO_ROUNDS)
    )
    for _ in range(rounds):
        held = rng.random(len(seeds)) < params["holdout"]
        known, hidden = seeds[~held], seeds[held]
        addresses, family, bucket = _candidates(known, params)
        hits = AddressSet(hidden).contains(addresses)
        slot = family * BUCKETS + bucket
        tried += np.bincount(slot, minlength=size)
        found += np.bincount(slot, weights=hits, minlength=size)
        candidates += len(addresses)
        hit_count += int(hits.sum())
        held_out += len(hidden)
        run.report(
            f"pattern_ip: calibrated on {len(known):,} seeds: {len(addresses):,} candidates found "
            f"{len(distinct(addresses[hits])):,} of {len(hidden):,} held-out seeds"
        )
    return TrainedModel(
        arrays={
            "tried": tried.reshape(len(FAMILIES), BUCKETS),
            "found": found.reshape(len(FAMILIES), BUCKETS),
        },
        info={
            "calibration_candidates": candidates,
            "calibration_hits": hit_count,
            "held_out": held_out,
            "rounds": rounds,
        },
    )


def _coarse(family: int, bucket: np.ndarray) -> np.ndarray:
    """The one feature of each family's buckets that matters most (distance for steps, how
    common the identifier is for the others); thin buckets borrow their rate from it."""
    if FAMILIES[family] == "neighbour":
        return (bucket // GAP_BUCKETS) % 7
    if FAMILIES[family] == "subnet_step":
        return bucket % 16
    if FAMILIES[family] == "shared_iid":
        return (bucket // 8) % 8
    if FAMILIES[family] == "gap_fill":
        return bucket % 64
    if FAMILIES[family] == "subnet_sweep":
        return bucket % 8
    return bucket // 8  # new_subnet


def _rates(tried: np.ndarray, found: np.ndarray) -> np.ndarray:
    """Hit rate per (family, bucket). Where a bucket saw little data its rate is shrunk
    towards its coarse group's, and a thin group's towards the family's."""
    prior = 20.0
    rates = np.empty_like(tried)
    bucket = np.arange(tried.shape[1])
    for family in range(len(FAMILIES)):
        t, f = tried[family], found[family]
        family_rate = f.sum() / max(t.sum(), 1.0)
        group = _coarse(family, bucket)
        group_tried = np.bincount(group, weights=t)[group]
        group_found = np.bincount(group, weights=f)[group]
        group_rate = (group_found + prior * family_rate) / (group_tried + prior)
        rates[family] = (f + prior * group_rate) / (t + prior)
    return rates


def _per_family(counts: np.ndarray) -> np.ndarray:
    """Calibration counts for every family; a model made before a family existed has none
    for it (its candidates then rank last)."""
    padded = np.zeros((len(FAMILIES), BUCKETS))
    padded[: len(counts)] = counts
    return padded


@hookimpl
def generate_targets(model: Model, run: RunContext) -> Iterator[np.ndarray] | None:
    if model.tga_type != SPEC.name:
        return None
    return _ranked(model, run)


def _earlier_in_net(hi: np.ndarray, values: np.ndarray) -> np.ndarray:
    """For each element, the sum of ``values`` over the elements before it (in array order)
    that share its /64."""
    by_net = np.argsort(hi, kind="stable")
    ordered = values[by_net]
    before = np.cumsum(ordered) - ordered
    starts = np.r_[0, np.flatnonzero(np.diff(hi[by_net])) + 1]
    sizes = np.diff(np.r_[starts, len(hi)])
    out = np.empty(len(hi))
    out[by_net] = before - np.repeat(before[starts], sizes)
    return out


def _favour_new_nets(ranked: np.ndarray, hi: np.ndarray, coverage: float) -> np.ndarray:
    """Scores for a ranking by hit rate (``ranked``, best first, /64s ``hi``) that also
    value new /64s. A hit in a /64 that earlier candidates have probably hit already adds an
    address but no /64, so past the head each candidate weighs 1 + coverage x P(no earlier
    candidate of its /64 hit), capped so that nothing overtakes the head."""
    misses = -np.log1p(-np.minimum(ranked, 0.999))  # -log P(miss), summed per /64 below
    untouched = np.exp(-_earlier_in_net(hi, misses))
    weighted = np.minimum(ranked * (1.0 + coverage * untouched), COVERAGE_FROM_RATE)
    return np.where(ranked >= COVERAGE_FROM_RATE, ranked, weighted)


def _ranked(model: Model, run: RunContext) -> Iterator[np.ndarray]:
    addresses, family, bucket = _candidates(model.seeds, model.params)
    tried, found = (_per_family(model.arrays[name]) for name in ("tried", "found"))
    rates = _rates(tried, found)
    score = rates[family, bucket]
    order = np.argsort(-score, kind="stable")
    coverage = float(model.params["coverage"])
    if coverage > 0:
        adjusted = _favour_new_nets(score[order], _split(addresses)[0][order], coverage)
        order = order[np.argsort(-adjusted, kind="stable")]
    for start in range(0, len(order), BATCH):
        yield addresses[order[start : start + BATCH]]
    # Past the ranked candidates, keep widening the seeds' neighbourhoods, so a large budget
    # on a small seed set is still met (the host drops what was already emitted).
    hi, lo = _split(model.seeds)
    radius = int(model.params["radius"])
    for r in range(radius + 1, radius + 1 + MAX_TAIL_RINGS):
        for ok, step_lo in _steps(lo, r):
            yield _join(hi[ok], step_lo[ok])
