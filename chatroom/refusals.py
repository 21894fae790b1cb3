"""Refusals are logged once per address and reason a minute, with how many were not: a flood is one event.

A script that sends a thousand refused requests a second must not write a thousand log lines a second
(the disk and the log pipeline are costs a visitor could otherwise trigger at will).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

WINDOW_SECONDS = 60.0
REMEMBERED = 10_000  # keys; past this the oldest window is forgotten (its next refusal logs again)


class RefusalLog:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._windows: dict[tuple[str, str], tuple[float, int]] = {}  # (who, reason) -> (since, not logged)

    def __len__(self) -> int:
        """How many (address, reason) windows it remembers."""
        return len(self._windows)

    def __call__(self, log: logging.Logger, who: str | None, reason: str, line: str, *args: object) -> None:
        """Log `line % args` at INFO unless `who` (an address, or a connection) was refused for `reason` in the
        last minute; the first line after a quiet minute says how many were left out."""
        key = (who or "?", reason)
        now = self.clock()
        since, skipped = self._windows.get(key, (-WINDOW_SECONDS, 0))
        if now - since < WINDOW_SECONDS:
            self._windows[key] = (since, skipped + 1)
            return
        if skipped:
            line, args = f"{line} (and %d more in the last minute, not logged)", (*args, skipped)
        self._windows.pop(key, None)  # re-inserted at the end: the dict is in the order windows began
        if len(self._windows) >= REMEMBERED:
            self._windows.pop(next(iter(self._windows)))  # the oldest window
        self._windows[key] = (now, 0)
        log.info(line, *args)


log_refusal = RefusalLog()
