"""A rate limiter's memory stays bounded, however many senders there are and however busy."""

from __future__ import annotations

from chatroom.rooms.ratelimit import RateLimiter
from tests.addresses import Clock


def test_a_limiter_keeps_at_most_its_cap_of_senders_even_when_all_of_them_are_busy() -> None:
    limiter = RateLimiter(per_second=1, burst=5, clock=Clock(), max_senders=100)
    for n in range(1_000):
        assert limiter.allow(f"s{n}")
    assert len(limiter._buckets) == 100


def test_forgetting_idle_senders_keeps_a_busy_one_limited() -> None:
    clock = Clock()
    limiter = RateLimiter(per_second=1, burst=2, clock=clock, max_senders=50)
    for n in range(50):
        limiter.allow(f"idle{n}")
    clock.now = 5  # the idle ones have refilled
    assert [limiter.allow("busy") for _ in range(3)] == [True, True, False]
    assert len(limiter._buckets) == 1, "the refilled ones were forgotten once over the cap"
    assert not limiter.allow("busy")
