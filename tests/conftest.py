from __future__ import annotations

import ipaddress
from pathlib import Path

import numpy as np
import pytest

from tgahost import PluginHost
from tgahost.generators import random_ip

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def packed(*texts: str) -> np.ndarray:
    """An (n, 16) uint8 array of the given addresses, in the given order."""
    raw = b"".join(ipaddress.IPv6Address(t).packed for t in texts)
    return np.frombuffer(raw, dtype=np.uint8).reshape(-1, 16)


def texts(addresses: np.ndarray) -> list[str]:
    return [str(ipaddress.IPv6Address(bytes(row))) for row in addresses]


@pytest.fixture
def shared_data() -> Path:
    """The real public seed sets beside the repository; tests using it skip without it."""
    if not (SHARED_DATA / "hitlist-90k.txt").exists():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


@pytest.fixture
def host() -> PluginHost:
    """A host with only the built-in random_ip plugin, independent of what is installed."""
    h = PluginHost(load_entry_points=False)
    h.register(random_ip, name="random_ip", distribution="tgahost", version="test")
    return h


@pytest.fixture
def seeds_200() -> np.ndarray:
    """200 seeds: 2001:db8:0:<i>::<j>, i < 20, j in 1..10."""
    return packed(*(f"2001:db8:0:{i:x}::{j:x}" for i in range(20) for j in range(1, 11)))
