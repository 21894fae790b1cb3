"""A flood of refusals is one log line a minute per address and reason, and the next says how many were left out."""

from __future__ import annotations

import logging

import pytest

from chatroom.refusals import RefusalLog
from tests.addresses import Clock

log = logging.getLogger("chatroom.test_refusals")


def test_a_thousand_refusals_from_one_address_are_one_line_then_a_count(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    refusals = RefusalLog(clock)
    with caplog.at_level(logging.INFO, logger=log.name):
        for _ in range(1000):
            refusals(log, "203.0.113.1", "rate_limited", "refused address=%s", "203.0.113.1")
        refusals(log, "198.51.100.2", "rate_limited", "refused address=%s", "198.51.100.2")
        refusals(log, "203.0.113.1", "invalid_json", "refused address=%s json", "203.0.113.1")
        clock.now = 60.0
        refusals(log, "203.0.113.1", "rate_limited", "refused address=%s", "203.0.113.1")
    assert caplog.messages == [
        "refused address=203.0.113.1",
        "refused address=198.51.100.2",
        "refused address=203.0.113.1 json",
        "refused address=203.0.113.1 (and 999 more in the last minute, not logged)",
    ]


def test_what_it_remembers_is_bounded() -> None:
    clock = Clock()
    refusals = RefusalLog(clock)
    for n in range(20_000):
        refusals(log, f"10.0.{n // 256}.{n % 256}", "rate_limited", "refused")
    assert len(refusals) == 10_000
