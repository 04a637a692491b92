from __future__ import annotations

import ipaddress

import numpy as np
import pytest

from tgahost import TgahostError
from tgahost.prefixes import PrefixSet

from .conftest import packed


def test_longest_and_shortest_prefixes_both_match():
    prefixes = PrefixSet.from_lines(["2001:db8::/32", "2400:cb00:2048:1::/64 # aliased", "", "2a00::1"])
    batch = packed(
        "2001:db8:ffff::1",
        "2001:db9::1",
        "2400:cb00:2048:1::abcd",
        "2400:cb00:2048:2::1",
        "2a00::1",
        "2a00::2",
    )
    assert prefixes.contains(batch).tolist() == [True, False, True, False, True, False]
    assert len(prefixes) == 3


def test_agrees_with_ipaddress_on_random_prefixes():
    rng = np.random.default_rng(3)
    nets = [
        ipaddress.IPv6Network((int(rng.integers(0, 2**62)) << 66, int(rng.integers(1, 40))), strict=False)
        for _ in range(30)
    ]
    batch = rng.integers(0, 256, size=(3000, 16), dtype=np.uint8)
    batch[:1000, :4] = 0  # many addresses near ::/something, where the random prefixes sit
    expected = [any(ipaddress.IPv6Address(bytes(row)) in net for net in nets) for row in batch]
    assert PrefixSet(nets).contains(batch).tolist() == expected
    assert sum(expected) > 100


def test_bad_prefix_line_names_file_and_line():
    with pytest.raises(TgahostError, match=r"ex.txt:2: not an IPv6 prefix: '10.0.0.0/8'"):
        PrefixSet.from_lines(["2001:db8::/32", "10.0.0.0/8"], source="ex.txt")
