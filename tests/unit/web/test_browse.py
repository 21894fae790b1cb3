"""GET /rooms: the rooms people write in, the most recently active first, paged with plain links."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from chatroom.rooms import hub
from chatroom.settings import Settings
from tests.addresses import at, behind_proxy
from tests.people import Session, say, session


@pytest.fixture
def bob(client: TestClient) -> Session:
    return session(client, "bob")


def names(html: str) -> list[str]:
    return re.findall(r'<th scope="row"><a href="/rooms/([^"]+)">', html)


def test_rooms_are_listed_most_recently_active_first_a_page_at_a_time(
    client: TestClient, bob: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hub, "BROWSE_PAGE", 3)
    for n in range(5):
        say(client, "hi", f"room-{n}", bob)
    first = client.get("/rooms")
    assert first.status_code == 200 and names(first.text) == ["room-4", "room-3", "room-2"]
    assert 'href="/rooms?page=2"' in first.text and "page=0" not in first.text
    second = client.get("/rooms?page=2")
    assert names(second.text) == ["room-1", "room-0"] and 'href="/rooms?page=3"' not in second.text
    assert 'href="/rooms?page=1"' in second.text


def test_a_room_shows_when_it_was_last_written_in_and_who_is_there(client: TestClient, bob: Session) -> None:
    say(client, "hi", "dev", bob)
    shown = client.get("/rooms").text
    assert re.search(r'<time datetime="[^"]+">\d{4}-\d\d-\d\d \d\d:\d\d UTC</time>', shown)
    assert "Browse rooms" in client.get("/rooms/lobby").text


@pytest.mark.parametrize("raw", ["0", "-1", "1.5", "abc", "", "\u0663", "\uff11", "101", "1" * 30])
def test_a_page_that_is_not_a_whole_number_from_1_to_100_is_refused(client: TestClient, raw: str) -> None:
    refused = client.get("/rooms", params={"page": raw})
    assert refused.status_code == 422 and "page" in refused.text


def test_the_slash_after_rooms_is_no_room(client: TestClient) -> None:
    assert client.get("/rooms/").status_code == 404


def test_browsing_is_limited_per_address(settings: Settings) -> None:
    with behind_proxy(settings) as (client, clock):
        pages = [client.get("/rooms", headers=at("203.0.113.1")).status_code for _ in range(30)]
        assert pages.count(200) == 20 and pages[-1] == 429
        assert client.get("/rooms", headers=at("198.51.100.2")).status_code == 200
        clock.now += 1.0
        assert client.get("/rooms", headers=at("203.0.113.1")).status_code == 200
