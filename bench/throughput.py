"""Throughput scenarios: fan-out at a fixed rate, and the rate ramp to the highest sustainable one."""

from __future__ import annotations

import asyncio
import math
import os
import time
from typing import Any

from bench.client import User
from bench.session import PAD, Session, Settings
from bench.targets import ServerSpec, Target
from bench.usage import Usage

MIN_STEP_MESSAGES = 3  # a ramp step at a low rate lasts long enough to send this many


def _generator_cpu() -> float:
    times = os.times()
    return times.user + times.system


async def _measured(
    session: Session,
    users: list[User],
    connect_s: float,
    senders: list[User],
    receivers: int,
    rate: float,
    duration: float,
    settle: float,
) -> dict[str, Any]:
    """Connected `users` settle, then `senders` send `rate` messages/s in total (round robin) for `duration`,
    each for `receivers` clients: the deliveries, the server's CPU and memory meanwhile, the generator's CPU.
    The users are dropped."""
    s = session.settings
    ready = [u for u in users if u.ready_ns]
    await asyncio.sleep(settle)
    usage = Usage(session.server.pid)
    usage.start()
    gen_cpu0, t0 = _generator_cpu(), time.monotonic()
    tally = await session.gen.send_phase(senders, receivers, rate, duration, s.drain, PAD)
    gen_cpu = 100 * (_generator_cpu() - gen_cpu0) / (time.monotonic() - t0)
    result = {
        "clients": len(users),
        "connected": len(ready),
        "connect_s": connect_s,
        "rate": rate,
        **tally.summary(),
        **usage.stop(),
        "gen_cpu_pct": gen_cpu,
        "closed_by_server": sum(1 for u in users if u.close_codes),
        "errors": sum(u.errors for u in users),
    }
    await session.drop_users()
    return result


async def fanout_step(session: Session, clients: int, rate: float, duration: float) -> dict[str, Any]:
    """C clients in one fresh room, S of them sending `rate` messages/s in total."""
    s = session.settings
    users = session.add_users(session.endpoint(), clients)
    await session.sign_in(users)
    connect_s = await session.gen.connect(users, concurrency=200, timeout=s.connect_timeout)
    ready = [u for u in users if u.ready_ns]
    senders = ready[: s.senders] or users[:1]
    result = await _measured(session, users, connect_s, senders, len(ready), rate, duration, 0.3)
    result["lost"] += (clients - len(ready)) * result["sent"]  # never connected = never delivered
    return result


async def fanout(spec: ServerSpec, target: Target, settings: Settings, clients: int) -> dict[str, Any]:
    async with Session(spec, target, settings) as session:
        return await fanout_step(session, clients, settings.fanout_rate, settings.duration)


async def many_rooms(spec: ServerSpec, target: Target, settings: Settings) -> dict[str, Any]:
    """`many_rooms` rooms of `room_viewers` clients each, one of them sending `room_rate` messages/s in its
    room: a server that follows thousands of rooms at once (a feed and a bus subscription for each). A client
    that never connected counts as lost: each message is expected by all of its room's clients."""
    s = settings
    async with Session(spec, target, settings) as session:
        rooms = [session.add_users(session.endpoint(), s.room_viewers) for _ in range(s.many_rooms)]
        users = [u for room in rooms for u in room]
        await session.sign_in(users)
        connect_s = await session.gen.connect(users, concurrency=200, timeout=s.connect_timeout)
        senders = [next((u for u in room if u.ready_ns), room[0]) for room in rooms]
        rate = s.room_rate * len(rooms)  # round robin over the rooms' senders: each room gets `room_rate`
        result = await _measured(session, users, connect_s, senders, s.room_viewers, rate, s.duration, 1.0)
        return {**result, "rooms": len(rooms)}


def passes(step: dict[str, Any], settings: Settings) -> bool:
    return bool(step["lost"] == 0 and step["p99_ms"] <= settings.p99_limit_ms and step["send_failed"] == 0)


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
