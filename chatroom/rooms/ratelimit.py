"""Per-sender token buckets: a steady rate with a burst allowance, in bounded memory."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

MAX_SENDERS = 10_000


class RateLimiter:
    def __init__(
        self,
        per_second: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        max_senders: int = MAX_SENDERS,
    ) -> None:
        self.per_second = per_second
        self.burst = float(burst)
        self.clock = clock
        self.max_senders = max_senders
        # sender -> (tokens, when), least recently seen first
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def allow(self, sender: str) -> bool:
        now = self.clock()
        tokens, when = self._buckets.pop(sender, (self.burst, now))
        tokens = min(self.burst, tokens + (now - when) * self.per_second)
        allowed = tokens >= 1
        self._buckets[sender] = (tokens - 1 if allowed else tokens, now)
        if len(self._buckets) > self.max_senders:
            self._forget(now)
        return allowed

    def _forget(self, now: float) -> None:
        """Drop senders whose bucket has refilled (they are indistinguishable from new ones), oldest first.

        If every one of them is still refilling, the least recently seen goes anyway: memory stays bounded,
        and what that sender gains is one fresh burst.
        """
        refill = self.burst / self.per_second
        while self._buckets:
            _, when = next(iter(self._buckets.values()))
            if now - when < refill and len(self._buckets) <= self.max_senders:
                return
            self._buckets.popitem(last=False)
