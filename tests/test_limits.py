"""The rate limiter, the bounded outbox and the bus event codec."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from chatroom.bus import MAX_INLINE_BYTES, RESYNC, decode, encode_message
from chatroom.outbox import Outbox, OutboxOverflow
from chatroom.ratelimit import RateLimiter
from chatroom.store import Message


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_burst_is_allowed_then_the_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(per_second=2, burst=3, clock=clock)
    assert [limiter.allow("a") for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("b"), "senders have their own buckets"
    clock.now = 0.5
    assert limiter.allow("a") and not limiter.allow("a")
    clock.now = 10
    assert [limiter.allow("a") for _ in range(4)] == [True, True, True, False], "the burst refills, no more"


def test_the_limiter_forgets_idle_senders() -> None:
    clock = Clock()
    limiter = RateLimiter(per_second=1, burst=1, clock=clock)
    for n in range(10_001):
        limiter.allow(f"s{n}")
    clock.now = 5
    limiter.allow("late")
    assert len(limiter._buckets) < 10


@dataclass(frozen=True)
class Item:
    seq: int
    html: str = ""
    json: str | None = None


def test_an_outbox_gives_frames_in_order_above_its_floor() -> None:
    async def run() -> list[int]:
        outbox = Outbox(10)
        outbox.floor = 2
        for seq in (1, 2, 3, 0, 4):
            outbox.offer(Item(seq))
        return [frame.seq for frame in await outbox.take()]

    assert asyncio.run(run()) == [3, 0, 4]


def test_an_outbox_that_overflows_is_dropped_and_says_so() -> None:
    dropped: list[bool] = []

    async def run() -> None:
        outbox = Outbox(2)
        outbox.on_drop = lambda: dropped.append(True)
        for seq in (1, 2, 3, 4):
            outbox.offer(Item(seq))
        with pytest.raises(OutboxOverflow):
            await outbox.take()

    asyncio.run(run())
    assert dropped == [True], "dropped once, and the memory it held is released"


def test_a_waiting_take_wakes_on_offer() -> None:
    async def run() -> list[int]:
        outbox = Outbox(2)
        waiting = asyncio.create_task(outbox.take())
        await asyncio.sleep(0)
        outbox.offer(Item(7))
        return [frame.seq for frame in await asyncio.wait_for(waiting, 1)]

    assert asyncio.run(run()) == [7]


def message(text: str) -> Message:
    return Message("lobby", 5, "ann", "u1", text, datetime(2026, 11, 23, 12, 0, 0, 123456, tzinfo=UTC))


def test_events_round_trip() -> None:
    event = decode(encode_message(message("hi ✓")))
    assert event is not None and event.type == "message" and event.message == message("hi ✓")


def test_a_big_message_travels_by_reference_under_notify_limits() -> None:
    raw = encode_message(message("€" * 2000 + '"' * 2000))
    assert len(raw.encode()) < MAX_INLINE_BYTES < 8000
    event = decode(raw)
    assert event is not None and (event.type, event.seq, event.message) == ("message", 5, None)


@pytest.mark.parametrize("raw", ["", "nonsense", "[]", '{"v": 2, "type": "message"}', '{"v": 1, "type": "x"}'])
def test_unknown_events_are_ignored(raw: str) -> None:
    assert decode(raw) is None


def test_resync_decodes() -> None:
    event = decode(RESYNC)
    assert event is not None and event.type == "resync"
