#!/usr/bin/env python3
"""How close lstm_ip's training and sampling come to this machine's matrix rate.

Counts the floating-point operations per address of an lstm_ip network (default size
unless given), times a dense float32 matrix product as the machine's practical peak, then
times a training step (forward, backward, Adam), the batched sampler, the beam search and
the seed completions. Weights are random: the arithmetic does not depend on their values.

    python benchmarks/lstm_flops.py [--hidden-size 128] [--num-layers 1] [--embedding-size 32]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch
from tgahost_lstm import model as lstm
from tgahost_lstm.plugin import PARAMS


def best_of(fn, repeats: int = 5) -> float:
    fn()  # warm up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def matmul_rate(n: int = 2048) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    return 2 * n**3 / best_of(lambda: a @ b)


def flops_per_address(hidden: int, layers: int, embedding: int) -> tuple[float, float]:
    """(training, sampling) FLOPs per address; training counts backward as twice forward."""
    inputs = embedding or lstm.VOCAB + 1
    gates = 4 * hidden
    per_step_sample = 2 * (hidden * gates * layers + hidden * gates * (layers - 1) + hidden * lstm.VOCAB)
    per_step_train = per_step_sample + 2 * inputs * gates  # the sampler looks the first input product up
    steps = lstm.ADDRESS_BYTES
    return 3 * per_step_train * steps, per_step_sample * steps


def main() -> None:
    defaults = {p.name: p.default for p in PARAMS}
    parser = argparse.ArgumentParser()
    for name in ("hidden_size", "num_layers", "embedding_size", "batch_size"):
        parser.add_argument("--" + name.replace("_", "-"), type=int, default=defaults[name])
    args = parser.parse_args()
    params = {**defaults, **{k: v for k, v in vars(args).items()}}
    threads = len(os.sched_getaffinity(0))
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    peak = matmul_rate()
    net = lstm.build(params)
    train_flops, sample_flops = flops_per_address(args.hidden_size, args.num_layers, args.embedding_size)
    rng = np.random.default_rng(0)
    batch = torch.from_numpy(rng.integers(0, 256, (args.batch_size, 16)))
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)

    def train_steps(n: int = 20) -> None:
        for _ in range(n):
            optimizer.zero_grad()
            lstm._loss(net, batch).backward()
            optimizer.step()

    train_rate = 20 * args.batch_size / best_of(train_steps, 3)
    sampler = lstm.Sampler(net)
    generator = torch.Generator().manual_seed(0)
    sample_rate = 4096 * 4 / best_of(lambda: [sampler.sample(4096, 1.0, generator) for _ in range(4)], 3)
    beam_rate = 100_000 / best_of(lambda: sampler.most_probable(100_000), 2)
    seeds = rng.integers(0, 256, (20_000, 16)).astype(np.uint8)
    completion_rate = len(seeds) / best_of(lambda: sampler.completions(seeds, 200_000, 0.7), 2)
    weights = sum(p.numel() for p in net.parameters())
    print(
        f"network: hidden {args.hidden_size} x {args.num_layers} layer(s), embedding "
        f"{args.embedding_size}, {weights:,} weights; {threads} thread(s), torch {torch.__version__}"
    )
    print(f"dense 2048x2048 float32 matmul: {peak / 1e9:.0f} GFLOP/s")
    print()
    print("| stage | FLOP per address | addresses/s | GFLOP/s | share of matmul rate |")
    print("|---|---|---|---|---|")
    for stage, flops, rate in (
        (f"training step (batch {args.batch_size}, forward + backward + Adam)", train_flops, train_rate),
        ("sampling (batch 4,096)", sample_flops, sample_rate),
    ):
        gflops = flops * rate / 1e9
        print(f"| {stage} | {flops / 1e6:.2f} M | {rate:,.0f} | {gflops:.0f} | {gflops * 1e9 / peak:.0%} |")
    print(f"| beam search (width 100,000) | | {beam_rate:,.0f} | | |")
    endings = f"{lstm.COMPLETION_WIDTH}+ endings each"
    print(f"| seed completions (seeds/s, {endings}) | | {completion_rate:,.0f} | | |")


if __name__ == "__main__":
    main()
