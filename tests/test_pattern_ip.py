"""pattern_ip on hand-made seed sets whose right answers are known, and on a real sample."""

from __future__ import annotations

import numpy as np
import pytest

import tgahost

from .conftest import packed, texts


def _first(host, seeds, count, **params):
    model = tgahost.train("pattern_ip", seeds, params=params, host=host, seed=1)
    return texts(np.concatenate(list(tgahost.generate(model, count, host=host, seed=1))))


@pytest.fixture
def host():
    from tgahost.generators import pattern_ip

    h = tgahost.PluginHost(load_entry_points=False)
    h.register(pattern_ip, name="pattern_ip", distribution="tgahost")
    return h


def test_a_run_of_low_byte_hosts_continues_at_both_ends(host):
    seeds = packed(*(f"2001:db8::{i:x}" for i in range(1, 10)))
    got = _first(host, seeds, 4, holdout=0.3)
    assert set(got[:2]) == {"2001:db8::", "2001:db8::a"}  # one step past either end
    assert got[2:] == ["2001:db8::b", "2001:db8::c"]  # then further up (::0 has nothing below)


def test_eui64_neighbours_keep_the_ff_fe_marker(host):
    seeds = packed(*(f"2001:db8:0:1:211:22ff:fe33:44{i:02x}" for i in range(0, 40, 2)))
    got = _first(host, seeds, 30)
    assert all(":211:22ff:fe33:" in a for a in got)
    # the run of even identifiers continues at both ends first
    assert {"2001:db8:0:1:211:22ff:fe33:4428", "2001:db8:0:1:211:22ff:fe33:43fe"} <= set(got[:3])


def test_an_identifier_shared_across_subnets_is_tried_where_it_is_missing(host):
    nets = [f"2001:db8:0:{i:x}" for i in range(12)]
    seeds = [f"{n}::1" for n in nets] + [f"{n}::53" for n in nets if not n.endswith(":5")]
    got = _first(host, packed(*seeds), 200, radius=0, subnet_step=0)
    assert got[0] == "2001:db8:0:5::53"


def test_a_new_subnet_from_recombined_nybbles(host):
    seeds = [f"2001:db8:0:{s}::1" for s in ("1100", "1200", "2100")] + ["2001:db8:0:2200::2"]
    got = _first(host, packed(*seeds), 50, radius=0, subnet_step=0)
    assert "2001:db8:0:2200::1" in got  # shared identifier
    assert "2001:db8:0:1100::2" in got and "2001:db8:0:2100::2" in got


def test_output_is_ranked_reproducible_exact_and_never_a_seed(host, seeds_200):
    model = tgahost.train("pattern_ip", seeds_200, host=host, seed=4)
    first = np.concatenate(list(tgahost.generate(model, 3000, host=host, seed=4)))
    again = np.concatenate(list(tgahost.generate(model, 3000, host=host, seed=4)))
    assert np.array_equal(first, again)
    assert len(np.unique(first, axis=0)) == 3000
    assert not tgahost.AddressSet(seeds_200).contains(first).any()
    smaller = np.concatenate(list(tgahost.generate(model, 1000, host=host, seed=4)))
    assert np.array_equal(smaller, first[:1000])  # budgets are prefixes of one ranking


def test_small_seed_sets_still_meet_large_budgets(host):
    seeds = packed("2001:db8::1", "2001:db8:1::1")
    got = _first(host, seeds, 5000)
    assert len(set(got)) == 5000


def test_beats_plain_neighbours_on_a_real_sample(host, shared_data):
    from tgahost.evaluation import count_hits, split

    seeds = tgahost.read_seeds(shared_data / "hitlist-90k.txt").addresses
    sample = seeds[np.random.default_rng(0).choice(len(seeds), 20000, replace=False)]
    train, test = split(sample)
    model = tgahost.train("pattern_ip", train, host=host, seed=1)
    got = np.concatenate(list(tgahost.generate(model, 20000, host=host, seed=1)))
    ours = count_hits(got, test)
    hi, lo = (train.view(">u8").reshape(-1, 2)[:, i] for i in (0, 1))
    plus_minus_one = np.concatenate([np.c_[hi, lo + 1], np.c_[hi, lo - 1]]).astype(">u8").view(np.uint8)
    baseline = count_hits(np.unique(plus_minus_one.reshape(-1, 16), axis=0)[:20000], test)
    assert ours.hits > baseline.hits
    assert ours.hits > 150


def test_gap_filling_makes_the_inside_of_narrow_gaps_only():
    from tgahost.generators import pattern_ip

    seeds = packed("2001:db8::100", "2001:db8::200", "2001:db8::1000", "2001:db8::5000", "2001:db8:1::150")
    hi, lo = pattern_ip._split(seeds)
    got_hi, got_lo, _ = pattern_ip._gap_fill(hi, lo, radius=4, max_gap=1024)
    # ::100 .. ::200 less the 4 neighbours next to each seed; ::1000 .. ::5000 is too wide
    assert set(got_lo.tolist()) == set(range(0x105, 0x1FC))
    assert len(got_lo) == 0x1FC - 0x105
    assert set(got_hi.tolist()) == {int(hi[0])}
    assert len(pattern_ip._gap_fill(hi, lo, radius=4, max_gap=0)[0]) == 0


def test_a_sparsely_sampled_numbering_is_filled_in(host):
    # every 40th host of 2001:db8:0:<n>::/64 is known: the ones between are the next best guess
    seeds = packed(*(f"2001:db8:0:{n:x}::{i:x}" for n in range(30) for i in range(0x100, 0x600, 40)))
    got = set(_first(host, seeds, 20000, radius=2, max_gap=64, subnet_step=0))
    assert "2001:db8:0:7::114" in got  # between ::100 and ::128, 20 from either
    without = set(_first(host, seeds, 20000, radius=2, max_gap=0, subnet_step=0))
    assert "2001:db8:0:7::114" not in without


def test_a_hosting_48s_unknown_subnets_are_swept_with_its_shared_identifier():
    from tgahost.generators import pattern_ip

    rng = np.random.default_rng(5)
    subnets = rng.choice(1 << 16, size=70, replace=False)
    seeds = [f"2001:db8:7:{s:x}::1" for s in subnets] + ["2001:db8:7:1:2a3b:4c5d:6e7f:8091"]
    hi, lo = pattern_ip._split(packed(*seeds))
    got_hi, got_lo, _ = pattern_ip._subnet_sweep(hi, lo, min_subnets=64)
    assert set(got_lo.tolist()) == {1}  # the random identifier is not swept
    assert len(np.unique(got_hi)) == 1 << 16 and len(got_hi) == 1 << 16
    assert len(pattern_ip._subnet_sweep(hi, lo, min_subnets=72)[0]) == 0  # 71 subnets are too few


def test_sweeps_find_unpatterned_subnets_end_to_end(host):
    rng = np.random.default_rng(6)
    subnets = rng.choice(1 << 16, size=300, replace=False)
    known = [f"2001:db8:7:{s:x}::1" for s in subnets[:-1]]
    hidden = f"2001:db8:7:{subnets[-1]:x}::1"
    got = _first(host, packed(*known), 66000, subnet_step=0)
    assert hidden in got
    assert hidden not in _first(host, packed(*known), 66000, subnet_step=0, sweep_min_subnets=0)


def test_earlier_in_net_sums_per_64_in_order():
    from tgahost.generators import pattern_ip

    hi = np.array([5, 3, 5, 5, 3], dtype=np.uint64)
    values = np.array([1.0, 2.0, 4.0, 8.0, 16.0])
    assert pattern_ip._earlier_in_net(hi, values).tolist() == [0.0, 0.0, 1.0, 5.0, 2.0]


def test_coverage_moves_a_fresh_64_ahead_of_a_probably_hit_one_but_not_past_the_head():
    from tgahost.generators import pattern_ip

    head = pattern_ip.COVERAGE_FROM_RATE
    # /64 1: a sure bet, then a weak candidate; /64 2: a slightly weaker one, untouched
    ranked = np.array([0.5, 0.004, 0.003, head * 0.9])
    hi = np.array([1, 1, 2, 3], dtype=np.uint64)
    plain = np.argsort(-ranked, kind="stable").tolist()
    assert plain == [0, 3, 1, 2]
    adjusted = pattern_ip._favour_new_nets(ranked, hi, coverage=1.5)
    assert np.argsort(-adjusted, kind="stable").tolist() == [0, 3, 2, 1]
    assert adjusted[0] == 0.5 and adjusted[3] == head  # boosted, but capped at the head
    assert np.array_equal(pattern_ip._favour_new_nets(ranked, hi, coverage=0.0), ranked)


def test_sweeps_are_capped_most_telling_48_first(monkeypatch):
    from tgahost.generators import pattern_ip

    monkeypatch.setattr(pattern_ip, "MAX_SWEEPS", 1)
    seeds = [f"2001:db8:1:{s:x}::1" for s in range(0, 7000, 100)]  # 70 subnets share ::1
    seeds += [f"2001:db8:2:{s:x}::1" for s in range(0, 9000, 100)]  # 90 subnets share ::1
    hi, lo = pattern_ip._split(packed(*seeds))
    got_hi, _, _ = pattern_ip._subnet_sweep(hi, lo, min_subnets=64)
    assert len(got_hi) == 1 << 16
    assert set((got_hi >> np.uint64(16)).tolist()) == {0x20010DB80002}
