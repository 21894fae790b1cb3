"""The rate limiter: a token bucket per sender, on a clock the test turns."""

from __future__ import annotations

from chatroom.rooms.ratelimit import RateLimiter


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
