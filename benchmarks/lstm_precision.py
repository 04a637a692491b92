#!/usr/bin/env python3
"""float32 against float16 and int8 lstm_ip model files: file size and held-out hits.

Takes one trained float32 model file, stores the same weights at each precision (what
``--param precision=...`` at training writes), and scores 1M candidates of each on a split.

    python benchmarks/lstm_precision.py MODEL --train-file TRAIN --test-file TEST [--budget N ...]

e.g. a model trained with ``tgahost train --tga-type lstm_ip`` on
``../shared/data/splits/hitlist-90k/train.txt``, scored on that split's ``test.txt``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np
from tgahost_lstm import model as lstm

import tgahost
from tgahost.evaluation import count_hits


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("--train-file", required=True)
    parser.add_argument("--test-file", required=True)
    parser.add_argument("--budget", type=int, action="append", dest="budgets")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    budgets = sorted(args.budgets or [100_000, 1_000_000])
    full = tgahost.load_model(args.model)
    if full.tga_type != "lstm_ip" or full.params.get("precision", "float32") != "float32":
        raise SystemExit(f"{args.model}: need a float32 lstm_ip model")
    test = tgahost.read_seeds(args.test_file).addresses
    weights = lstm.expand(full.arrays)
    header = "| precision | model file | of which weights | " + " | ".join(f"@{b:,}" for b in budgets)
    print(header + " | generate s |")
    print("|---|---|---|" + "---|" * len(budgets) + "---|")
    with tempfile.TemporaryDirectory() as folder:
        for precision in ("float32", "float16", "int8"):
            arrays = lstm.compact(weights, precision)
            metadata = {**full.metadata, "params": {**full.params, "precision": precision}}
            path = os.path.join(folder, f"{precision}.bin")
            size = tgahost.save_model(tgahost.ModelFile(metadata, arrays, full.seeds), path)
            weight_bytes = sum(a.nbytes for a in arrays.values())
            started = time.perf_counter()
            batches = tgahost.generate(tgahost.load_model(path), max(budgets), seed=args.seed)
            candidates = np.concatenate(list(batches))
            seconds = time.perf_counter() - started
            scores = []
            for budget in budgets:
                hits = count_hits(candidates[:budget], test)
                scores.append(f"{hits.hits:,} ({hits.hit_64s:,})")
            print(
                f"| {precision} | {size / 1e6:.2f} MB | {weight_bytes / 1e3:.0f} kB | "
                + " | ".join(scores)
                + f" | {seconds:.0f} |"
            )


if __name__ == "__main__":
    main()
