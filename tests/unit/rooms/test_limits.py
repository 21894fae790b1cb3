"""Limits per client address: messages, connections, rooms, history pages and new guests."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatroom.errors import RateLimited, TooManyConnections
from chatroom.rooms.limits import AddressLimits, Connections
from chatroom.settings import Settings
from tests.addresses import Clock


def limits(**changes: object) -> tuple[AddressLimits, Clock]:
    clock = Clock()
    return AddressLimits(Settings(data_dir=Path("unused"), **changes), clock), clock  # type: ignore[arg-type]


def test_an_address_sends_one_seconds_worth_at_once_then_at_its_rate() -> None:
    address, clock = limits(rate_limit_per_address=30)
    for _ in range(30):
        address.message("203.0.113.1")
    with pytest.raises(RateLimited):
        address.message("203.0.113.1")
    address.message("203.0.113.2")  # another address has its own
    clock.now = 0.1
    address.message("203.0.113.1")
    address.message("203.0.113.1")
    address.message("203.0.113.1")
    with pytest.raises(RateLimited):
        address.message("203.0.113.1")


def test_a_session_creates_six_rooms_a_minute_and_an_address_thirty() -> None:
    address, clock = limits()
    for _ in range(6):
        address.room("203.0.113.1", "u1")
    with pytest.raises(RateLimited):
        address.room("203.0.113.1", "u1")
    for n in range(24):  # the rest of the address's 30, by other sessions and by none
        address.room("203.0.113.1", None if n % 2 else f"u{n + 2}")
    with pytest.raises(RateLimited):
        address.room("203.0.113.1", "u-new")
    clock.now = 2
    address.room("203.0.113.1", "u-new")


def test_an_address_makes_sixty_guests_a_minute() -> None:
    address, clock = limits()
    assert [address.new_session("203.0.113.1") for _ in range(61)] == [True] * 60 + [False]
    assert address.new_session(None), "a client off the network is not limited by address"
    clock.now = 1
    assert address.new_session("203.0.113.1")


def test_an_address_reads_thirty_history_pages_at_once_then_ten_a_second() -> None:
    address, clock = limits()
    for _ in range(30):
        address.history_page("203.0.113.1")
    with pytest.raises(RateLimited):
        address.history_page("203.0.113.1")
    clock.now = 0.1
    address.history_page("203.0.113.1")


def test_connections_stop_at_the_cap_and_a_released_slot_is_free_again() -> None:
    connections = Connections(2)
    first, second = connections.take("203.0.113.1"), connections.take("203.0.113.1")
    with pytest.raises(TooManyConnections):
        connections.take("203.0.113.1")
    connections.take("203.0.113.2").release()
    first.release()
    first.release()  # a second release frees nothing more
    third = connections.take("203.0.113.1")
    with pytest.raises(TooManyConnections):
        connections.take("203.0.113.1")
    second.release()
    third.release()
    assert connections._open == {}, "an address with no connection is forgotten"


def test_a_client_off_the_network_is_not_counted() -> None:
    connections = Connections(1)
    with connections.take(None), connections.take(None):
        assert connections._open == {}
