"""Unread counts and private rooms together: a direct message counts for someone who never opened it, a member
who leaves stops counting the room, and a private room shows up only in its members' own list, by its title."""

from __future__ import annotations

import asyncio
import re

import pytest
from starlette.testclient import TestClient

from chatroom.rooms import directory, unread
from chatroom.rooms.feed import RoomFeed
from chatroom.rooms.feeds import Feeds
from tests.people import Session, page, say, sign_up
from tests.unit.conftest import Join
from tests.unit.rooms.test_unread import count, title, until
from tests.unit.web.test_private_rooms import post, private_room
from tests.wire import recv


@pytest.fixture(autouse=True)
def quick_sends(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(unread, "SEND_SECONDS", 0.05)
    monkeypatch.setattr(unread, "FLUSH_SECONDS", 0.05)
    monkeypatch.setattr(directory, "INTERVAL_SECONDS", 0.1)


@pytest.fixture
def alice(client: TestClient) -> Session:
    return sign_up(client, "Alice")


@pytest.fixture
def bob(client: TestClient) -> Session:
    return sign_up(client, "Bob")


def direct(client: TestClient, who: Session, name: str) -> str:
    opened = client.get(f"/dm/{name}", headers=who, follow_redirects=False)
    client.cookies.clear()
    return str(opened.headers["location"]).removeprefix("/rooms/")


def conversation_count(html: str, room: str) -> int:
    found = re.search(rf'<li data-room="{room}">.*?</li>', html, re.S)
    number = re.search(r'class="count">(\d+)', found.group(0)) if found else None
    return int(number.group(1)) if number else 0


def test_a_direct_message_counts_for_someone_who_never_opened_it(
    client: TestClient, join: Join, alice: Session, bob: Session
) -> None:
    at_lobby = join(client, headers=bob)
    room = direct(client, alice, "Bob")
    say(client, "psst", room, alice)
    say(client, "are you there?", room, alice)
    frame = until(at_lobby, lambda f: title(f) == "(2) #lobby · chatroom")
    assert room not in frame.split("<title")[0]  # not in the room list: only in their own list, with its count
    while conversation_count(frame, room) != 2:
        frame = recv(at_lobby)
    shown = page(client, "/", bob)
    assert title(shown) == "(2) #lobby · chatroom" and conversation_count(shown, room) == 2
    opened = page(client, f"/rooms/{room}", bob)
    assert title(opened) == "Alice · chatroom"  # the other person, never the room's inner name
    assert title(page(client, "/", bob)) == "#lobby · chatroom"


def test_a_message_sent_while_the_conversations_feed_starts_here_is_counted(
    client: TestClient, join: Join, alice: Session, bob: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The count read from the store and the feed held after it: the second message falls between them."""
    hold = Feeds.hold

    async def slow_hold(feeds: Feeds, room: str) -> RoomFeed:
        await asyncio.sleep(0.3)
        return await hold(feeds, room)

    monkeypatch.setattr(Feeds, "hold", slow_hold)
    at_lobby = join(client, headers=bob)
    room = direct(client, alice, "Bob")
    say(client, "psst", room, alice)
    until(at_lobby, lambda f: title(f) == "(1) #lobby · chatroom")
    say(client, "are you there?", room, alice)
    until(at_lobby, lambda f: title(f) == "(2) #lobby · chatroom")
    assert title(page(client, "/", bob)) == "(2) #lobby · chatroom"


def test_a_private_rooms_count_shows_in_its_members_own_list_live(
    client: TestClient, join: Join, alice: Session, bob: Session
) -> None:
    room = private_room(client, alice, "plans")
    assert post(client, f"/rooms/{room}/members", alice, name="Bob") == 303
    at_lobby = join(client, headers=bob)
    say(client, "first", room, alice)
    frame = until(at_lobby, lambda f: title(f) == "(1) #lobby · chatroom")
    while conversation_count(frame, room) != 1:  # their list is read once it has a count to show, then sent
        frame = recv(at_lobby)


def test_a_member_who_leaves_stops_counting_the_room(
    client: TestClient, join: Join, alice: Session, bob: Session
) -> None:
    room = private_room(client, alice, "plans")
    assert post(client, f"/rooms/{room}/members", alice, name="Bob") == 303
    say(client, "first", room, alice)
    assert title(page(client, "/", bob)) == "(1) #lobby · chatroom"
    at_lobby = join(client, headers=bob)
    assert post(client, f"/rooms/{room}/leave", bob) == 303
    say(client, "after you left", room, alice)
    until(at_lobby, lambda f: title(f) == "#lobby · chatroom")
    shown = page(client, "/", bob)
    assert title(shown) == "#lobby · chatroom" and room not in shown


def test_a_private_room_is_never_in_the_public_list_the_browse_page_or_its_members_room_list(
    client: TestClient, alice: Session, bob: Session
) -> None:
    room = private_room(client, alice, "plans")
    say(client, "hello", room, alice)
    say(client, "hello", "lobby", bob)
    for who in (alice, bob, None):
        shown = page(client, "/rooms", who) if who else client.get("/rooms").text
        client.cookies.clear()
        assert room not in shown and "plans" not in shown
    mine = page(client, f"/rooms/{room}", alice)
    public_list = re.search(r'<ul id="room-list".*?</ul>', mine, re.S)
    assert public_list is not None and room not in public_list.group(0)
    assert f'<li data-room="{room}">' in mine  # in her own list, once
    assert title(mine) == "plans · chatroom" and count(mine, room) == 0
