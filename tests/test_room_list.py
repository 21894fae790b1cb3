"""The live room list: people online per room, unread marks per session, updated live."""

from __future__ import annotations

import re
import time

import pytest
from starlette.testclient import TestClient

from tests.people import none_of, page, room_list, session, wait_for
from tests.wire import recv

pytestmark = pytest.mark.timeout(60)


def entry(html: str | None, room: str) -> str | None:
    """One room's `<li>` in a room list."""
    found = re.search(rf'<li data-room="{room}"[^>]*>.*?</li>', html or "")
    return found.group(0) if found else None


def online(html: str | None, room: str) -> int:
    found = re.search(r'class="online"[^>]*>(\d+)<', entry(html, room) or "")
    return int(found.group(1)) if found else 0


def seq(html: str | None, room: str) -> str | None:
    found = re.search(r'data-seq="(\d+)"', entry(html, room) or "")
    return found.group(1) if found else None


def say(client: TestClient, room: str, text: str, who: dict[str, str]) -> None:
    client.post(f"/rooms/{room}/messages", data={"message": text}, headers=who)
    client.cookies.clear()


def hides_unread(html: str, room: str, seen: int) -> bool:
    """The viewer's style hides `room`'s unread mark while its list entry says `data-seq="{seen}"`."""
    return f'#room-list li[data-room="{room}"][data-seq="{seen}"] .unread {{ display: none; }}' in html


def test_the_page_lists_rooms_by_name_with_people_online(client: TestClient, join) -> None:
    alice, bob = session(client, "alice"), session(client, "bob")
    client.post("/rooms", data={"name": "dev"})
    join(client, "dev", headers=alice)
    deadline = time.monotonic() + 5
    while online(room_list(page(client, "/rooms/lobby", bob)), "dev") != 1:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    html = page(client, "/rooms/lobby", bob)
    names = re.findall(r'<li data-room="([^"]+)"', room_list(html) or "")
    assert names == sorted(names) and "dev" in names and "lobby" in names
    assert 'href="/rooms/lobby" aria-current="page"' in html


def test_people_arriving_elsewhere_update_the_counts_live(client: TestClient, join) -> None:
    bob = join(client, headers=session(client, "bob"))
    client.post("/rooms", data={"name": "dev"})
    join(client, "dev", headers=session(client, "alice"))
    wait_for(bob, lambda f: online(room_list(f), "dev") if room_list(f) else None, 1)


def test_a_message_elsewhere_marks_that_room_live(client: TestClient, join) -> None:
    alice = session(client, "alice")
    bob = join(client, headers=session(client, "bob"))
    say(client, "dev", "news", alice)
    frame = wait_for(bob, lambda f: seq(room_list(f), "dev") if room_list(f) else None, "1")
    assert 'data-room="lobby"' in frame and 'data-room="lobby" data-seq' not in frame, "own room: never unread"


def test_messages_in_my_own_room_do_not_resend_the_list(client: TestClient, join) -> None:
    alice = session(client, "alice")
    bob = join(client, headers=session(client, "bob"))
    none_of(bob, room_list, wait=0.3)
    for n in range(3):
        say(client, "lobby", f"m{n}", alice)
    none_of(bob, room_list, wait=1.5)


def test_unread_is_per_session_and_cleared_by_visiting(client: TestClient, join) -> None:
    alice, bob = session(client, "alice"), session(client, "bob")
    say(client, "dev", "one", alice)
    html = page(client, "/rooms/lobby", bob)
    assert seq(room_list(html), "dev") == "1"
    assert not hides_unread(html, "dev", 1), "bob has not seen dev"
    with client.websocket_connect("/rooms/dev/ws", headers=bob) as ws:
        recv(ws)  # bob saw dev (its snapshot), and left; a socket closed before that saw nothing
    deadline = time.monotonic() + 5
    while not hides_unread(page(client, "/rooms/lobby", bob), "dev", 1):
        assert time.monotonic() < deadline, "bob's visit was never recorded"
        time.sleep(0.05)
    say(client, "dev", "two", alice)
    html = page(client, "/rooms/lobby", bob)
    assert seq(room_list(html), "dev") == "2" and not hides_unread(html, "dev", 2)
    assert hides_unread(page(client, "/rooms/lobby", alice), "dev", 2) is False, "alice never opened dev"


def test_a_room_open_in_another_tab_is_not_unread(client: TestClient, join) -> None:
    alice, bob = session(client, "alice"), session(client, "bob")
    join(client, "dev", headers=bob)
    say(client, "dev", "hello", alice)
    deadline = time.monotonic() + 5
    while not hides_unread(page(client, "/rooms/lobby", bob), "dev", 1):
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_room_names_in_the_style_are_css_escaped(client: TestClient) -> None:
    bob = session(client, "bob")
    say(client, "a-b_c", "x", bob)
    assert hides_unread(page(client, "/rooms/lobby", bob), "a-b_c", 1) is False
    style = page(client, "/rooms/lobby", bob).split("</style>")[0]
    assert "<" not in style.split("<style>")[-1]
