"""Counting deliveries: every message text carries `~<id>.<send_ns>~`, every frame is searched for it.

JSON and HTML escaping both leave the token alone, so one regex over the raw frame finds it
whatever the protocol; the id says which message, the send time gives the latency.
"""

from __future__ import annotations

import re
from array import array
from typing import Any

import numpy as np

TOKEN = re.compile(rb"~(\d+)\.(\d+)~")
find_tokens = TOKEN.findall


class Tally:
    """Deliveries of one send phase: per-message counts and every delivery's latency."""

    def __init__(self, base: int, receivers: int) -> None:
        self.base = base
        self.receivers = receivers
        self.sent_ns = array("q")
        self.counts = array("l")
        self.latencies = array("q")
        self.delivered = 0
        self.send_failed = 0
        self.last_delivery_ns = 0
        self.window_s = 0.0  # how long sending took

    def record(self, found: list[tuple[bytes, bytes]], at: int) -> None:
        counts, base = self.counts, self.base
        for mid, sent in found:
            i = int(mid) - base
            if 0 <= i < len(counts):
                counts[i] += 1
                self.latencies.append(at - int(sent))
                self.delivered += 1
        self.last_delivery_ns = at

    def summary(self) -> dict[str, Any]:
        sent = len(self.sent_ns)
        counts = np.frombuffer(self.counts, dtype=np.int64) if sent else np.zeros(0, np.int64)
        expected = sent * self.receivers
        unique = int(np.minimum(counts, self.receivers).sum())
        lat = np.frombuffer(self.latencies, dtype=np.int64) / 1e6 if self.latencies else np.full(1, np.nan)
        span = (self.last_delivery_ns - self.sent_ns[0]) / 1e9 if sent and self.delivered else 0.0
        span = max(span, self.window_s)
        return {
            "sent": sent,
            "send_failed": self.send_failed,
            "expected": expected,
            "delivered": unique,
            "lost": expected - unique,
            "duplicates": int(np.maximum(counts - self.receivers, 0).sum()),
            "deliveries_per_s": unique / span if span > 0 else 0.0,
            "p50_ms": float(np.percentile(lat, 50)),
            "p99_ms": float(np.percentile(lat, 99)),
            "max_ms": float(lat.max()),
        }
