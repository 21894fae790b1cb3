"""Which figures each scenario reports, and the arithmetic on them: medians, ratios, formats."""

from __future__ import annotations

import math
import statistics
from typing import Any

# scenario kind -> [(figure key, column label, format)]
FIGURES: dict[str, list[tuple[str, str, str]]] = {
    "fanout": [
        ("deliveries_per_s", "deliveries/s", ",.0f"),
        ("p50_ms", "p50 ms", ".1f"),
        ("p99_ms", "p99 ms", ".1f"),
        ("max_ms", "max ms", ".1f"),
        ("lost", "lost", ",.0f"),
        ("connected", "connected", ",.0f"),
        ("cpu_pct", "server CPU %", ".0f"),
        ("peak_rss_mb", "server RSS MB", ".1f"),
        ("gen_cpu_pct", "generator CPU %", ".0f"),
        ("others_core0_pct", "others on server core %", ".0f"),
    ],
    "max": [
        ("best_deliveries_per_s", "best deliveries/s", ",.0f"),
        ("best_rate", "at messages/s", ".1f"),
        ("p99_ms", "p99 ms there", ".1f"),
        ("peak_lossless_per_s", "peak deliveries/s with no loss (any p99)", ",.0f"),
        ("cpu_pct", "server CPU %", ".0f"),
        ("gen_cpu_pct", "generator CPU %", ".0f"),
        ("others_core0_pct", "others on server core %", ".0f"),
    ],
    "idle": [],  # filled per level
    "storm": [
        ("ready", "got snapshot", ",.0f"),
        ("failed", "failed", ",.0f"),
        ("p50_s", "p50 s", ".2f"),
        ("p99_s", "p99 s", ".2f"),
        ("max_s", "all s", ".2f"),
    ],
    "reconnect": [
        ("resynced", "resynced", ",.0f"),
        ("failed", "failed", ",.0f"),
        ("restart_s", "server back s", ".2f"),
        ("p50_s", "p50 s", ".2f"),
        ("max_s", "all resynced s", ".2f"),
        ("all_resynced_after_up_s", "all after back s", ".2f"),
    ],
}


FIGURES["rooms"] = FIGURES["fanout"]  # the same figures, over many rooms at once

NOT_THE_SERVERS = {"gen_cpu_pct", "others_core0_pct"}  # context, not figures of the server: no ratios


def idle_figures(levels: tuple[int, ...]) -> list[tuple[str, str, str]]:
    out = [("base_rss_mb", "base RSS MB", ".1f")]
    for level in levels:
        out += [
            (f"kb_per_conn_{level}", f"KB/conn @{level:,}", ".1f"),
            (f"connected_{level}", f"open @{level:,}", ",.0f"),
        ]
    return out


def median(values: list[float]) -> float:
    values = [v for v in values if isinstance(v, (int, float)) and not math.isnan(v)]
    return statistics.median(values) if values else math.nan


def ratio(a: float, b: float) -> float:
    if any(isinstance(v, float) and (math.isnan(v) or math.isinf(v)) for v in (a, b)) or b == 0:
        return math.nan
    return a / b


def fmt(value: Any, spec: str) -> str:
    if not isinstance(value, (int, float)):
        return "-"
    if math.isnan(value):
        return "-"
    if math.isinf(value):
        return "never"
    return format(value, spec)
