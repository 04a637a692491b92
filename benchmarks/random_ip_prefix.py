#!/usr/bin/env python3
"""Which random_ip prefix length finds the most held-out addresses?

For each seed set in ../shared/data: the standard 80/20 split (tgahost.evaluation.split),
train random_ip on the training part with prefix 0, 32, 48 and 64 and random or low-byte
IIDs, generate 100,000 unique candidates, and count held-out hits and, in brackets, the
distinct /64s they fall in. Prints a Markdown table (recorded in docs/benchmarks.md).

    python benchmarks/random_ip_prefix.py [--budget 100000] [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import platform
from datetime import date
from pathlib import Path

import numpy as np

import tgahost
from tgahost.evaluation import count_hits, split

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--budget", type=int, default=100_000)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    args = parser.parse_args()
    sets = sorted(args.data.glob("*.txt"))
    if not sets:
        raise SystemExit(f"no seed sets in {args.data}")
    variants = [(p, "random") for p in (0, 32, 48, 64)] + [(p, "low") for p in (32, 48, 64)]
    print(f"random_ip, {args.budget:,} unique candidates, split seed 0; {platform.node()}, {date.today()}\n")
    print("| set | " + " | ".join(f"prefix={p} iid={i}" for p, i in variants) + " |")
    print("|---|" + "---|" * len(variants))
    for path in sets:
        train, test = split(tgahost.read_seeds(path).addresses)
        cells = []
        for prefix, iid in variants:
            model = tgahost.train("random_ip", train, params={"prefix": prefix, "iid": iid}, seed=1)
            got = np.concatenate(list(tgahost.generate(model, args.budget, seed=1)))
            hits = count_hits(got, test)
            cells.append(f"{hits.hits:,} ({hits.hit_64s:,})")
        print(f"| {path.name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
