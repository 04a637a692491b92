from __future__ import annotations

import ipaddress
from pathlib import Path

import numpy as np
import pytest
import tgahost

# The real seed sets live in the `shared` folder beside the repository, never in it.
DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data"
HITLIST = DATA / "hitlist-90k.txt"

#: Small enough that one training run takes a second or two.
TINY = {"hidden_size": 48, "embedding_size": 16, "epochs": 25, "batch_size": 64, "learning_rate": 0.01}


def structured_addresses() -> np.ndarray:
    """2001:db8:0:X::Y for 24 subnets X and 20 hosts Y: 480 addresses, one /32."""
    text = [f"2001:db8:0:{x:x}::{y:x}" for x in range(0, 48, 2) for y in range(1, 21)]
    packed = b"".join(ipaddress.IPv6Address(t).packed for t in text)
    return np.frombuffer(packed, dtype=np.uint8).reshape(-1, 16)


@pytest.fixture(scope="session")
def structured() -> np.ndarray:
    return structured_addresses()


@pytest.fixture
def tiny() -> dict:
    return dict(TINY)


@pytest.fixture(scope="session")
def structured_model(structured: np.ndarray) -> tgahost.ModelFile:
    return tgahost.train("lstm_ip", structured, params=TINY, seed=1)


@pytest.fixture(scope="session")
def real_sample() -> np.ndarray:
    if not HITLIST.is_file():
        pytest.skip(f"real seed data not found at {HITLIST}")
    seeds = tgahost.read_seeds(HITLIST).addresses
    return seeds[np.random.default_rng(7).choice(len(seeds), 400, replace=False)]
