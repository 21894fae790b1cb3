"""Per-sender token buckets: a steady rate with a burst allowance."""

from __future__ import annotations

import time
from collections.abc import Callable


class RateLimiter:
    def __init__(self, per_second: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_second = per_second
        self.burst = float(burst)
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # sender -> (tokens, when)

    def allow(self, sender: str) -> bool:
        now = self.clock()
        tokens, when = self._buckets.get(sender, (self.burst, now))
        tokens = min(self.burst, tokens + (now - when) * self.per_second)
        if len(self._buckets) > 10_000:
            self._forget_full(now)
        if tokens < 1:
            self._buckets[sender] = (tokens, now)
            return False
        self._buckets[sender] = (tokens - 1, now)
        return True

    def _forget_full(self, now: float) -> None:
        """Drop senders whose bucket has refilled: they are indistinguishable from new ones."""
        refill = self.burst / self.per_second
        self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < refill}
