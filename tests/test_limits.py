"""The rate limiter and the bus event codec."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chatroom.bus import MAX_INLINE_BYTES, RESYNC, decode, encode_message
from chatroom.rooms.ratelimit import RateLimiter
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
