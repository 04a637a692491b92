from __future__ import annotations

import numpy as np

import tgahost
from tgahost.addresses import parse_token
from tgahost.evaluation import count_hits, split

from .conftest import packed


def _in_file_order(path) -> np.ndarray:
    raw = b"".join(parse_token(line) for line in path.read_text().splitlines())
    return np.frombuffer(raw, dtype=np.uint8).reshape(-1, 16)


def test_split_matches_the_referee_split(shared_data):
    seeds = tgahost.read_seeds(shared_data / "hitlist-90k.txt").addresses
    train, test = split(seeds)
    reference = shared_data / "splits" / "hitlist-90k"
    assert np.array_equal(train, _in_file_order(reference / "train.txt"))
    assert np.array_equal(test, _in_file_order(reference / "test.txt"))


def test_split_has_no_leakage_and_keeps_everything():
    rng = np.random.default_rng(0)
    seeds = rng.integers(0, 256, size=(1001, 16), dtype=np.uint8)
    train, test = split(seeds)
    assert len(train) == 801 and len(test) == 200
    assert not tgahost.AddressSet(train).contains(test).any()
    assert np.array_equal(np.unique(np.concatenate([train, test]), axis=0), np.unique(seeds, axis=0))


def test_count_hits_on_a_hand_made_case():
    held_out = packed("2001:db8::1", "2001:db8::2", "2001:db8:0:1::1", "2001:db8:1::1")
    candidates = packed("2001:db8::1", "2001:db8::2", "2001:db8:1::1", "2001:db8::99", "2001:db8:5::1")
    hits = count_hits(candidates, held_out)
    assert (hits.hits, hits.hit_64s, hits.hit_48s) == (3, 2, 2)
    assert hits.hit_rate == 3 / 5
    assert hits.recall == 3 / 4
