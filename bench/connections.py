"""Connection scenarios: idle memory, the connect storm and the reconnect storm."""

from __future__ import annotations

import asyncio
import math
import statistics
import time
from collections import Counter
from typing import Any

from bench.client import User
from bench.session import Session, Settings
from bench.targets import ServerSpec, Target
from bench.usage import Usage


async def idle(spec: ServerSpec, target: Target, settings: Settings) -> dict[str, Any]:
    """Server RSS per open, idle connection at each level."""
    async with Session(spec, target, settings) as session:
        endpoint = session.endpoint()
        warm = session.add_users(endpoint, 10)
        await session.gen.connect(warm, timeout=10)
        await session.drop_users()
        await asyncio.sleep(1.0)
        usage = Usage(session.server.pid)
        base = usage.rss()
        result: dict[str, Any] = {"base_rss_mb": base / 2**20}
        for level in settings.idle_levels:
            more = session.add_users(endpoint, level - len(session.users))
            await session.sign_in(more)
            await session.gen.connect(more, concurrency=200, timeout=settings.connect_timeout)
            await asyncio.sleep(2.0)
            connected = sum(1 for u in session.users if u.ready_ns and u.conn is not None)
            rss = usage.rss()
            result[f"connected_{level}"] = connected
            result[f"rss_mb_{level}"] = rss / 2**20
            result[f"kb_per_conn_{level}"] = (rss - base) / 1024 / max(connected, 1)
        return result


def failure_kinds(users: list[User]) -> dict[str, int]:
    """Why connection attempts failed (a client may fail, retry and succeed)."""
    kinds = Counter(kind for u in users for kind in u.failures)
    kinds["NoFirstFrame"] = sum(1 for u in users if u.conn is not None and not u.ready_ns)
    return {kind: n for kind, n in kinds.items() if n}


def _spread(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50_s": math.nan, "p99_s": math.nan, "max_s": math.nan}
    values = sorted(values)
    return {
        "p50_s": statistics.median(values),
        "p99_s": values[min(len(values) - 1, int(0.99 * len(values)))],
        "max_s": values[-1],
    }


async def _seeded_room(session: Session, n: int) -> list[User]:
    """A fresh room with its history filled (full snapshots), and n users for it, not yet connected."""
    endpoint = session.endpoint()
    await session.seed(endpoint)
    users = session.add_users(endpoint, n)
    await session.sign_in(users)
    return users


async def connect_storm(spec: ServerSpec, target: Target, settings: Settings) -> dict[str, Any]:
    """N clients connect at once; time until each has its snapshot (its first frame)."""
    n = settings.storm_clients
    async with Session(spec, target, settings) as session:
        users = await _seeded_room(session, n)
        start = time.monotonic_ns()
        await session.gen.connect(users, concurrency=None, timeout=15.0)
        times = [(u.ready_ns - start) / 1e9 for u in users if u.ready_ns]
        return {
            "clients": n,
            "ready": len(times),
            "failed": n - len(times),
            "failures": failure_kinds(users),
            **_spread(times),
            "all_ready_s": max(times) if len(times) == n else math.inf,
        }


async def reconnect_storm(spec: ServerSpec, target: Target, settings: Settings) -> dict[str, Any]:
    """Restart the server under N clients; time until every one has a new snapshot."""
    n = settings.reconnect_clients
    async with Session(spec, target, settings) as session:
        users = await _seeded_room(session, n)
        await session.gen.connect(users, concurrency=200, timeout=settings.connect_timeout)
        connected = [u for u in users if u.ready_ns]
        for user in connected:
            user.reconnect = True
        before = {id(u): u.connections for u in connected}
        start = time.monotonic_ns()
        session.server.terminate()
        await session.server.wait_exit()
        stopped = time.monotonic_ns()
        session.server.start()
        await session.server.ready()
        up = time.monotonic_ns()

        def resynced(u: User) -> bool:
            return u.connections > before[id(u)] and u.ready_ns > start

        deadline = time.monotonic() + 30.0
        while time.monotonic() < deadline and not all(resynced(u) for u in connected):
            await asyncio.sleep(0.02)
        times = [(u.ready_ns - start) / 1e9 for u in connected if resynced(u)]
        return {
            "clients": n,
            "connected_before": len(connected),
            "resynced": len(times),
            "failed": n - len(times),
            "failures": failure_kinds(users),
            "stop_s": (stopped - start) / 1e9,
            "restart_s": (up - start) / 1e9,
            **_spread(times),
            "all_resynced_s": max(times) if len(times) == n else math.inf,
            "all_resynced_after_up_s": (max(times) - (up - start) / 1e9) if len(times) == n else math.inf,
        }
