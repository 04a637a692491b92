#!/usr/bin/env python3
"""Throughput of each stage (parse, train, generate, write), addresses per second and peak
memory, each stage in a fresh process so that its peak RSS is its own.

    python benchmarks/throughput.py [--input ../shared/data/hitlist-90k.txt] [--count 1000000]
        [--tga-type T ...]

Writes docs/throughput.md and prints it.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import resource
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def stage_parse(path: str) -> tuple[int, float]:
    import tgahost

    started = time.perf_counter()
    seeds = tgahost.read_seeds(path)
    return seeds.lines, time.perf_counter() - started


def stage_train(path: str, tga_type: str, model_path: str) -> tuple[int, float]:
    import tgahost

    seeds = tgahost.read_seeds(path)
    started = time.perf_counter()
    model = tgahost.train(tga_type, seeds, seed=1)
    seconds = time.perf_counter() - started
    tgahost.save_model(model, model_path)
    return len(seeds), seconds


def stage_generate(model_path: str, count: int, out_path: str) -> tuple[int, float]:
    import numpy as np

    import tgahost

    model = tgahost.load_model(model_path)
    started = time.perf_counter()
    batches = list(tgahost.generate(model, count, unique=True, seed=1))
    seconds = time.perf_counter() - started
    np.save(out_path, np.concatenate(batches))
    return count, seconds


def stage_write(array_path: str, fmt: str, out_path: str) -> tuple[int, float]:
    import numpy as np

    from tgahost.addresses import AddressWriter

    batch = np.load(array_path)
    started = time.perf_counter()
    with AddressWriter(out_path, fmt) as writer:
        for start in range(0, len(batch), 65_536):
            writer.write(batch[start : start + 65_536])
    return len(batch), time.perf_counter() - started


def _run(conn, function, args) -> None:
    count, seconds = function(*args)
    conn.send((count, seconds, _peak_mib()))


def measure(function, *args) -> tuple[int, float, float]:
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe(duplex=False)
    process = context.Process(target=_run, args=(child, function, args))
    process.start()
    result = parent.recv()
    process.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--input", default=str(ROOT.parent / "shared" / "data" / "hitlist-90k.txt"))
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--tga-type", action="append", dest="tga_types")
    args = parser.parse_args()
    import tgahost

    host = tgahost.get_host()
    tga_types = args.tga_types or sorted(
        name for name, owners in host.owners().items() if len(owners) == 1 and host.resolve(name)[0].available
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        count, seconds, peak = measure(stage_parse, args.input)
        rows.append(("parse", "-", count, seconds, peak))
        for tga_type in tga_types:
            model_path = os.path.join(tmp, f"{tga_type}.bin")
            array_path = os.path.join(tmp, f"{tga_type}.npy")
            count, seconds, peak = measure(stage_train, args.input, tga_type, model_path)
            rows.append(("train", tga_type, count, seconds, peak))
            count, seconds, peak = measure(stage_generate, model_path, args.count, array_path)
            rows.append((f"generate {args.count:,} unique", tga_type, count, seconds, peak))
        for fmt in ("compressed", "full"):
            count, seconds, peak = measure(stage_write, array_path, fmt, os.path.join(tmp, "out.txt"))
            rows.append((f"write ({fmt})", "-", count, seconds, peak))
    cores = os.cpu_count()
    lines = [
        "# Throughput",
        "",
        f"Made by `python benchmarks/throughput.py` on {date.today()}: {platform.machine()}, {cores} cores, "
        f"Python {platform.python_version()}; input {Path(args.input).name}. Each stage runs in a fresh "
        "process; peak memory is that process's maximum resident set, imports included.",
        "",
        "| stage | TGA | addresses | seconds | addresses/s | peak MiB |",
        "|---|---|---|---|---|---|",
    ]
    lines += [f"| {s} | {t} | {c:,} | {sec:.2f} | {c / sec:,.0f} | {p:,.0f} |" for s, t, c, sec, p in rows]
    text = "\n".join(lines) + "\n"
    (ROOT / "docs" / "throughput.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
