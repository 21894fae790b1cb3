"""The scenarios. Each starts its own server, is bounded in time and stops what it started."""

from __future__ import annotations

import asyncio
import itertools
import math
import os
import statistics
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from bench.loadgen import Endpoint, Generator, User
from bench.servers import Server, ServerSpec, Target, Usage

PAD = "the quick brown fox jumps over the lazy dog"
MIN_STEP_MESSAGES = 3  # a ramp step at a low rate lasts long enough to send this many
HISTORY = 50  # messages in the room before a storm, so every snapshot is a full one
_rooms = itertools.count()


@dataclass
class Settings:
    fanout_clients: tuple[int, ...] = (100, 1000, 2000, 5000)
    fanout_rate: float = 5.0  # messages/s in total, whatever the room size
    senders: int = 5
    duration: float = 8.0
    drain: float = 5.0
    ramp_clients: int = 1000
    ramp_start: float = 2.0
    ramp_max: float = 1000.0
    ramp_min: float = 0.25
    ramp_refine: int = 3
    ramp_duration: float = 4.0
    p99_limit_ms: float = 250.0
    idle_levels: tuple[int, ...] = (1000, 5000, 10000)
    storm_clients: int = 2000
    reconnect_clients: int = 2000
    origin: bool = False
    deflate: bool = True
    connect_timeout: float = 60.0


def room_path(target: Target) -> str:
    return target.path.format(room=f"bench{os.getpid()}x{next(_rooms)}")


class Session:
    """One server plus the generator's users for one target, torn down on exit."""

    def __init__(self, spec: ServerSpec, target: Target, settings: Settings) -> None:
        self.spec, self.target, self.settings = spec, target, settings
        self.server = Server(spec)
        self.gen = Generator()
        self.users: list[User] = []

    async def __aenter__(self) -> Session:
        self.server.start()
        await self.server.ready()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        try:
            await self.gen.close(self.users)
        finally:
            await self.server.stop()
            self.server.cleanup()

    def endpoint(self, path: str | None = None) -> Endpoint:
        return Endpoint(
            "127.0.0.1",
            self.server.port,
            path or room_path(self.target),
            self.target.protocol,
            origin=self.settings.origin,
            deflate=self.settings.deflate,
        )

    def add_users(self, endpoint: Endpoint, n: int) -> list[User]:
        users = self.gen.users(endpoint, n, first=len(self.users))
        self.users += users
        return users

    async def drop_users(self) -> None:
        await self.gen.close(self.users)
        self.users = []

    async def seed(self, endpoint: Endpoint, n: int = HISTORY) -> None:
        """Fill the room's history so snapshots carry HISTORY messages."""
        (writer,) = self.add_users(endpoint, 1)
        await self.gen.connect([writer], timeout=10)
        await self.gen.send_phase([writer], 1, rate=200, duration=n / 200, drain=2, pad=PAD)
        await self.drop_users()


def _generator_cpu() -> float:
    times = os.times()
    return times.user + times.system


async def fanout_step(session: Session, clients: int, rate: float, duration: float) -> dict[str, Any]:
    """C clients in one fresh room, S of them sending `rate` messages/s in total."""
    s = session.settings
    endpoint = session.endpoint()
    users = session.add_users(endpoint, clients)
    connect_s = await session.gen.connect(users, concurrency=200, timeout=s.connect_timeout)
    ready = [u for u in users if u.ready_ns]
    await asyncio.sleep(0.3)
    usage = Usage(session.server.pid)
    usage.start()
    gen_cpu0, t0 = _generator_cpu(), time.monotonic()
    senders = ready[: s.senders] or users[:1]
    tally = await session.gen.send_phase(senders, len(ready), rate, duration, s.drain, PAD)
    gen_cpu = 100 * (_generator_cpu() - gen_cpu0) / (time.monotonic() - t0)
    result = {
        "clients": clients,
        "connected": len(ready),
        "connect_s": connect_s,
        "rate": rate,
        **tally.summary(),
        **usage.stop(),
        "gen_cpu_pct": gen_cpu,
        "closed_by_server": sum(1 for u in users if u.close_codes),
        "errors": sum(u.errors for u in users),
    }
    result["lost"] += (clients - len(ready)) * result["sent"]  # never connected = never delivered
    await session.drop_users()
    return result


async def fanout(spec: ServerSpec, target: Target, settings: Settings, clients: int) -> dict[str, Any]:
    async with Session(spec, target, settings) as session:
        return await fanout_step(session, clients, settings.fanout_rate, settings.duration)


def passes(step: dict[str, Any], settings: Settings) -> bool:
    return step["lost"] == 0 and step["p99_ms"] <= settings.p99_limit_ms and step["send_failed"] == 0


async def max_sustainable(spec: ServerSpec, target: Target, settings: Settings) -> dict[str, Any]:
    """Double the rate until p99 > limit or any loss, then bisect; best deliveries/s that passed.

    A server that fails the first step is ramped down instead (halving, to `ramp_min`).
    """
    s = settings
    steps: list[dict[str, Any]] = []
    best: dict[str, Any] | None = None
    good, bad = 0.0, math.inf
    rate = s.ramp_start
    refinements = 0
    session = Session(spec, target, settings)
    await session.__aenter__()
    try:
        while s.ramp_min <= rate <= s.ramp_max:
            duration = max(s.ramp_duration, MIN_STEP_MESSAGES / rate)
            step = await fanout_step(session, s.ramp_clients, rate, duration)
            step["passed"] = passes(step, s)
            steps.append(step)
            if step["passed"]:
                good = max(good, rate)
                if best is None or step["deliveries_per_s"] > best["deliveries_per_s"]:
                    best = step
            else:
                bad = min(bad, rate)
                await session.server.stop()  # a backlog must not leak into the next step
                session.server.start()
                await session.server.ready()
            if bad == math.inf:
                rate *= 2
            elif good == 0:
                rate /= 2
            elif refinements < s.ramp_refine:
                refinements += 1
                rate = math.sqrt(good * bad)
            else:
                break
    finally:
        await session.__aexit__(None, None, None)
    figures = dict(best) if best else {"deliveries_per_s": 0.0, "p99_ms": math.nan, "rate": 0.0}
    return {
        "best_deliveries_per_s": figures["deliveries_per_s"],
        "best_rate": figures["rate"],
        # What it can push through at all, however late: the only figure for a server that never passes.
        "peak_lossless_per_s": max((st["deliveries_per_s"] for st in steps if st["lost"] == 0), default=0.0),
        "p50_ms": figures.get("p50_ms", math.nan),
        "p99_ms": figures["p99_ms"],
        "cpu_pct": figures.get("cpu_pct", math.nan),
        "gen_cpu_pct": figures.get("gen_cpu_pct", math.nan),
        "others_core0_pct": figures.get("others_core0_pct", math.nan),
        "steps": steps,
    }


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


async def connect_storm(spec: ServerSpec, target: Target, settings: Settings) -> dict[str, Any]:
    """N clients connect at once; time until each has its snapshot (its first frame)."""
    n = settings.storm_clients
    async with Session(spec, target, settings) as session:
        endpoint = session.endpoint()
        await session.seed(endpoint)
        users = session.add_users(endpoint, n)
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
        endpoint = session.endpoint()
        await session.seed(endpoint)
        users = session.add_users(endpoint, n)
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
