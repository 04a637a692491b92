"""The evaluation plot: held-out hits against budget, one line per TGA (matplotlib, lazily)."""

from __future__ import annotations

import os
from collections.abc import Sequence

from tgahost.addresses import atomic_write_bytes
from tgahost.errors import TgahostError
from tgahost.evaluation import Result


def plot_hits(results: Sequence[Result], path: str | os.PathLike[str], title: str) -> None:
    """Write a PNG with two panels: hits and hit /64s against budget (log x)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise TgahostError("--plot needs matplotlib: pip install 'tgahost[plot]'") from None
    import io

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5), constrained_layout=True)
    for result in results:
        points = [b for b in result.budgets if b.budget > 0]
        if not points:
            continue
        budgets = [b.budget for b in points]
        left.plot(budgets, [b.hits for b in points], marker="o", label=result.name)
        right.plot(budgets, [b.hit_64s for b in points], marker="o", label=result.name)
    for axis, label in ((left, "held-out addresses found (hits)"), (right, "distinct /64s with a hit")):
        axis.set_xscale("log")
        axis.set_xlabel("candidates generated (budget)")
        axis.set_ylabel(label)
        axis.grid(True, which="both", alpha=0.3)
    left.legend(loc="upper left", fontsize="small")
    figure.suptitle(title)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    atomic_write_bytes(path, buffer.getvalue())
