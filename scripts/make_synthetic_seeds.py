#!/usr/bin/env python3
"""Write data/synthetic-seeds.txt: a SYNTHETIC seed file for the quick start and tests.

The addresses are made up, all inside the documentation prefix 2001:db8::/32 (RFC 3849),
so nothing generated from them can be probed by mistake. They imitate the structures real
hitlists show: a few networks with dense subnets, and interface identifiers that are
low-byte (::1, ::2), service-port-like (::80, ::443), embedded IPv4, EUI-64 (ff:fe in the
middle, a handful of vendor OUIs) or random (privacy addresses).

    python scripts/make_synthetic_seeds.py [--count 3000] [--out data/synthetic-seeds.txt]
"""

from __future__ import annotations

import argparse
import ipaddress
import random
from pathlib import Path

OUIS = (0x001B21, 0x3C5AB4, 0xF4F26D, 0x00163E, 0xB827EB)
PORTS = (0x25, 0x53, 0x80, 0x443, 0x8080, 0x993)


def iid(rng: random.Random, style: str, index: int) -> int:
    if style == "low":
        return index
    if style == "port":
        return rng.choice(PORTS)
    if style == "ipv4":
        return (198 << 24) | (51 << 16) | (rng.randrange(4) << 8) | rng.randrange(256)
    if style == "eui64":
        oui = rng.choice(OUIS) ^ 0x020000  # the universal/local bit flips in EUI-64
        return (oui << 40) | (0xFFFE << 24) | rng.randrange(1 << 24)
    return rng.getrandbits(64)  # privacy address


def make(count: int, seed: int = 2026) -> list[str]:
    rng = random.Random(seed)
    styles = ("low", "low", "low", "port", "ipv4", "eui64", "random")
    networks = [(rng.randrange(1 << 16), rng.choice(styles), rng.randrange(1, 40)) for _ in range(60)]
    out: set[int] = set()
    while len(out) < count:
        site, style, subnets = rng.choice(networks)
        subnet = rng.randrange(subnets) if rng.random() < 0.8 else rng.randrange(1 << 16)
        host = iid(rng, style, rng.randrange(1, 64))
        out.add((0x20010DB8 << 96) | (site << 80) | (subnet << 64) | host)
    return [ipaddress.IPv6Address(a).compressed for a in sorted(out)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument(
        "--out", default=str(Path(__file__).resolve().parents[1] / "data" / "synthetic-seeds.txt")
    )
    args = parser.parse_args()
    header = (
        "# SYNTHETIC seed addresses made by scripts/make_synthetic_seeds.py, not measured data.\n"
        "# All inside 2001:db8::/32 (documentation prefix). For the quick start and tests only.\n"
    )
    Path(args.out).write_text(header + "".join(a + "\n" for a in make(args.count)))
    print(f"wrote {args.count} synthetic addresses to {args.out}")


if __name__ == "__main__":
    main()
