"""CPU and memory of a server's process tree, and how busy its core was with anything else."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import psutil

from bench.servers import SERVER_CORE


class Usage:
    """CPU and RSS of a server's process tree, sampled in the background."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.peak_rss = 0
        self.cpu0 = 0.0
        self.t0 = 0.0
        self.core0: Any = None
        self._task: asyncio.Task[None] | None = None

    def _tree(self) -> list[psutil.Process]:
        try:
            return [self.root, *self.root.children(recursive=True)]
        except psutil.Error:
            return []

    def cpu_seconds(self) -> float:
        total = 0.0
        for proc in self._tree():
            try:
                times = proc.cpu_times()
                total += times.user + times.system
            except psutil.Error:
                pass
        return total

    def rss(self) -> int:
        total = 0
        for proc in self._tree():
            with contextlib.suppress(psutil.Error):
                total += proc.memory_info().rss
        return total

    def start(self) -> None:
        self.cpu0, self.t0, self.peak_rss = self.cpu_seconds(), time.monotonic(), self.rss()
        self.core0 = _core_times()
        self._task = asyncio.ensure_future(self._sample())

    async def _sample(self) -> None:
        while True:
            await asyncio.sleep(0.25)
            self.peak_rss = max(self.peak_rss, self.rss())

    def stop(self) -> dict[str, float]:
        if self._task is not None:
            self._task.cancel()
        wall = time.monotonic() - self.t0
        rss = self.rss()
        cpu_pct = 100 * (self.cpu_seconds() - self.cpu0) / wall if wall > 0 else 0.0
        return {
            "cpu_pct": cpu_pct,
            # Anything else that ran on the server's core meanwhile (the machine is shared).
            "others_core0_pct": max(0.0, _busy_pct(self.core0, _core_times()) - cpu_pct),
            "rss_mb": rss / 2**20,
            "peak_rss_mb": max(self.peak_rss, rss) / 2**20,
        }


def _core_times() -> Any:
    return psutil.cpu_times(percpu=True)[int(SERVER_CORE)]


def _busy_pct(before: Any, after: Any) -> float:
    total = sum(after) - sum(before)
    idle = (after.idle + getattr(after, "iowait", 0.0)) - (before.idle + getattr(before, "iowait", 0.0))
    return 100 * (total - idle) / total if total > 0 else 0.0
