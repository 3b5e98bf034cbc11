"""``--plot FILE.png``: the ratios to the persistent floor as bars (needs matplotlib)."""

from __future__ import annotations

from typing import Any

from .report import FLOOR
from .runner import median_spread
from .targets import Variant
from .workloads import WORKLOADS

__all__ = ["plot"]


def plot(path: str, header: list[str], variants: list[Variant], data: dict[str, Any]) -> None:
    """Draw one group of bars per workload, one bar per variant, and save *path*."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise SystemExit("--plot needs matplotlib: pip install 'django-pool[plot]'") from None
    sequential = data["sequential"]
    names = list(sequential)
    fig, ax = plt.subplots(figsize=(10, 4.5))
    width = 0.8 / len(variants)
    for i, variant in enumerate(variants):
        ratios = []
        for name in names:
            wall, _ = median_spread(sequential[name][variant.alias]["wall_us"])
            floor, _ = median_spread(sequential[name][FLOOR]["wall_us"])
            ratios.append(wall / floor)
        positions = [g + i * width for g in range(len(names))]
        bars = ax.bar(positions, ratios, width, label=variant.label)
        ax.bar_label(bars, fmt="%.2f", fontsize=7)
    ax.axhline(1.0, color="grey", linewidth=0.8, linestyle="--")
    ax.set_xticks([g + width * (len(variants) - 1) / 2 for g in range(len(names))])
    ax.set_xticklabels([WORKLOADS[n][0] for n in names])
    ax.set_ylabel("time per request, × persistent connection")
    ax.set_yscale("log")
    ax.set_title("\n".join(header), fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
