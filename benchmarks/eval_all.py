#!/usr/bin/env python3
"""Held-out hits of every installed TGA on every real seed set, at 10k, 100k and 1M.

Runs `tgahost eval --json` once per set in ../shared/data (default split: 80/20, seed 0)
and writes the results as Markdown to docs/eval-results.md (and prints them), with a
plot per set (docs/eval-<set>.png).

    python benchmarks/eval_all.py [--data ../shared/data] [--budget N ...] [--tga-type T ...]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def machine() -> str:
    cores = os.cpu_count()
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{platform.machine()}, {cores} cores, {memory:.0f} GiB, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--budget", type=int, action="append", dest="budgets")
    parser.add_argument("--tga-type", action="append", dest="tga_types", default=[])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "eval-results.md")
    args = parser.parse_args()
    budgets = args.budgets or [10_000, 100_000, 1_000_000]
    sets = sorted(args.data.glob("*.txt"))
    if not sets:
        raise SystemExit(f"no seed sets in {args.data}")
    lines = [
        "# Offline evaluation results",
        "",
        f"Made by `python benchmarks/eval_all.py` on {date.today()} ({machine()}). Split: distinct",
        "addresses sorted, shuffled with random.Random(0), 80 % training, 20 % held out. Hits are",
        "held-out addresses among the first N unique candidates; the distinct /64s they fall in in",
        "brackets. Times are whole runs of each TGA in its own process.",
        "",
    ]
    for path in sets:
        command = [sys.executable, "-m", "tgahost", "-q", "eval", "--input-file", str(path), "--json"]
        command += [f"--budget={b}" for b in budgets] + [f"--tga-type={t}" for t in args.tga_types]
        plot = args.out.parent / f"eval-{path.stem}.png"
        command += [f"--plot={plot}"]
        started = time.time()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode:
            raise SystemExit(f"{path.name}: {done.stderr.strip()}")
        data = json.loads(done.stdout)
        lines += [
            f"## {path.name} ({data['train']:,} training, {data['held_out']:,} held out in "
            f"{data['held_out_64s']:,} /64s; {time.time() - started:.0f} s in all)",
            "",
            "| TGA | "
            + " | ".join(f"@{b:,}" for b in budgets)
            + " | train s | generate s (largest) | peak MiB |",
            "|---|" + "---|" * (len(budgets) + 3),
        ]
        footer = [f"![hits against budget on {path.name}](eval-{path.stem}.png)", ""]
        for result in data["results"]:
            by_budget = {b["budget"]: b for b in result["budgets"]}
            cells = [
                f"{by_budget[b]['hits']:,} ({by_budget[b]['hit_64s']:,})" if b in by_budget else "-"
                for b in budgets
            ]
            last = result["budgets"][-1] if result["budgets"] else {}
            lines.append(
                f"| {result['name']} | "
                + " | ".join(cells)
                + f" | {result['train_seconds'] or 0:.0f} | {last.get('seconds') or 0:.0f}"
                + f" | {result['peak_rss_mib'] or 0:,.0f} |"
            )
            if result["note"]:
                lines.append(f"| ↳ note | {result['note']} |" + " |" * (len(budgets) + 2))
        lines.append("")
        lines += footer
    text = "\n".join(lines)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
