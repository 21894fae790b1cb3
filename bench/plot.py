"""The plot: p99 latency against delivered messages/s for each target, from the ramp steps."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any


def ramp_points(runs: list[dict[str, Any]]) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """Every step as (deliveries/s, p99 ms), and the median of the steps at each offered rate."""
    steps = [
        step
        for run in runs
        for step in run.get("steps", [])
        if step.get("deliveries_per_s", 0) > 0 and not math.isnan(step.get("p99_ms", math.nan))
    ]
    by_rate: dict[float, list[dict[str, Any]]] = defaultdict(list)
    for step in steps:
        by_rate[float(f"{step['rate']:.3g}")].append(step)
    medians = [
        (statistics.median(s["deliveries_per_s"] for s in group), statistics.median(s["p99_ms"] for s in group))
        for _, group in sorted(by_rate.items())
    ]
    return [(s["deliveries_per_s"], s["p99_ms"]) for s in steps], medians


def plot(results: dict[str, Any], path: Path) -> bool:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5), dpi=120)
    drawn = False
    for key in ("max", "headroom"):
        scenario = results["scenarios"].get(key)
        if not scenario:
            continue
        for target, runs in scenario["runs"].items():
            every, medians = ramp_points(runs)
            if not every:
                continue
            (line,) = ax.plot(*zip(*medians, strict=True), marker="o", markersize=4, linewidth=1.2, label=target)
            xs, ys = zip(*every, strict=True)
            ax.scatter(xs, ys, s=6, alpha=0.35, color=line.get_color())
            drawn = True
    if not drawn:
        plt.close(fig)
        return False
    ax.axhline(250, color="grey", linestyle="--", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("delivered messages/s")
    ax.set_ylabel("p99 latency (ms)")
    clients = results["settings"]["ramp_clients"]
    ax.set_title(f"p99 latency vs delivered messages/s ({clients:,} clients, one room)")
    ax.text(0.01, 0.01, "line: median per offered rate; dots: every step of every run", transform=ax.transAxes,
            fontsize=7, color="grey")  # fmt: skip
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True
