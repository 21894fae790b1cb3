"""The live room list: people online per room, unread marks per session, updated live."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from chatroom.rooms import directory
from chatroom.web.templating import template_environment
from tests.people import Session, page, say, session
from tests.unit.conftest import Join
from tests.wire import first_found, members, recv, room_list, wait_for

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(autouse=True)
def lists_every_tenth_of_a_second(monkeypatch: pytest.MonkeyPatch) -> None:
    """The list is sent at most once per interval (a second in production); these tests are about what it says."""
    monkeypatch.setattr(directory, "INTERVAL_SECONDS", 0.1)


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


def hides_unread(html: str, room: str, seen: int) -> bool:
    """The viewer's style hides `room`'s unread mark while its list entry says `data-seq="{seen}"`."""
    return f'#room-list li[data-room="{room}"][data-seq="{seen}"] .unread {{ display: none; }}' in html


def dev_entry(frame: str) -> tuple[str | None, int] | None:
    """In a frame with a room list: dev's last seq and how many are online in the lobby."""
    listed = room_list(frame)
    return (seq(listed, "dev"), online(listed, "lobby")) if listed else None


def test_the_page_lists_rooms_by_name_with_people_online(
    client: TestClient, join: Join, alice: Session, bob: Session
) -> None:
    at_bob = join(client, headers=bob)
    client.post("/rooms", data={"name": "dev"})
    join(client, "dev", headers=alice)
    wait_for(at_bob, lambda f: online(room_list(f), "dev") if room_list(f) else None, 1)  # alice's lease is written
    html = page(client, "/rooms/lobby", bob)
    assert online(room_list(html), "dev") == 1
    names = re.findall(r'<li data-room="([^"]+)"', room_list(html) or "")
    assert names == sorted(names) and "dev" in names and "lobby" in names
    assert 'href="/rooms/lobby" aria-current="page"' in html


def test_people_arriving_elsewhere_update_the_counts_live(
    client: TestClient, join: Join, alice: Session, bob: Session
) -> None:
    at_bob = join(client, headers=bob)
    client.post("/rooms", data={"name": "dev"})
    join(client, "dev", headers=alice)
    wait_for(at_bob, lambda f: online(room_list(f), "dev") if room_list(f) else None, 1)


def test_a_message_elsewhere_marks_that_room_live(client: TestClient, join: Join, alice: Session, bob: Session) -> None:
    at_bob = join(client, headers=bob)
    say(client, "news", "dev", alice)
    frame = wait_for(at_bob, lambda f: seq(room_list(f), "dev") if room_list(f) else None, "1")
    assert 'data-room="lobby"' in frame and 'data-room="lobby" data-seq' not in frame, "own room: never unread"


def test_messages_in_my_own_room_do_not_resend_the_list(
    client: TestClient, join: Join, alice: Session, bob: Session
) -> None:
    at_bob = join(client, headers=bob)
    say(client, "first", "dev", alice)
    wait_for(at_bob, dev_entry, ("1", 1))  # bob's list is settled: dev's message and bob himself are in it
    for n in range(3):
        say(client, f"m{n}", "lobby", alice)
    say(client, "second", "dev", alice)
    assert first_found(at_bob, dev_entry) == ("2", 1), "the lobby's messages sent no list before dev's did"


def test_unread_is_per_session_and_cleared_by_visiting(
    client: TestClient, join: Join, alice: Session, bob: Session
) -> None:
    say(client, "one", "dev", alice)
    html = page(client, "/rooms/lobby", bob)
    assert seq(room_list(html), "dev") == "1"
    assert not hides_unread(html, "dev", 1), "bob has not seen dev"
    carol = join(client, "dev", headers=session(client, "carol"))
    with client.websocket_connect("/rooms/dev/ws", headers=bob) as ws:
        recv(ws)  # bob saw dev (its snapshot), and left; a socket closed before that saw nothing
    join(client, "dev", headers=session(client, "dave"))
    wait_for(carol, members, ["carol", "dave"])  # written after what bob read (or with it)
    assert hides_unread(page(client, "/rooms/lobby", bob), "dev", 1)
    say(client, "two", "dev", alice)
    html = page(client, "/rooms/lobby", bob)
    assert seq(room_list(html), "dev") == "2" and not hides_unread(html, "dev", 2)
    assert hides_unread(page(client, "/rooms/lobby", alice), "dev", 2) is False, "alice never opened dev"


def test_a_room_open_in_another_tab_is_not_unread(client: TestClient, join: Join, alice: Session, bob: Session) -> None:
    carol = join(client, "dev", headers=session(client, "carol"))
    join(client, "dev", headers=bob)
    wait_for(carol, members, ["bob", "carol"])  # bob's lease in dev is written
    say(client, "hello", "dev", alice)
    assert hides_unread(page(client, "/rooms/lobby", bob), "dev", 1)


def test_room_names_in_the_style_are_css_escaped(client: TestClient, bob: Session) -> None:
    say(client, "x", "a-b_c", bob)
    style = page(client, "/rooms/lobby", bob).split("<style>")[-1].split("</style>")[0]
    assert "<" not in style
    # A room name is [a-z0-9_-], nothing to escape: the filter its rule goes through is shown with what is.
    rule = template_environment().from_string('li[data-room="{{ name|css_string }}"]')
    assert rule.render(name='a"b\\c<\nZoë') == r'li[data-room="a\22 b\5c c\3c \a Zo\eb "]'
    assert rule.render(name="a-b_c") == 'li[data-room="a-b_c"]'


def test_arrivals_seeing_the_same_count_share_one_listing_so_each_distinct_list_is_rendered_once() -> None:
    """Each signed-in arrival's list is kept by the listing it was made from: a storm of arrivals that see the same
    count in their room (between two refreshes of its people) must see the same listing object."""
    import asyncio
    from typing import Any, cast

    from chatroom.rooms.outbox import Outbox
    from chatroom.rooms.presence import Viewer
    from chatroom.rooms.render import Fragments
    from chatroom.store import RoomInfo

    listings: list[object] = []
    d = directory.RoomDirectory(cast(Any, None), cast(Any, None), Fragments(template_environment()), cast(Any, None))
    d._listing = ([RoomInfo("dev", 3), RoomInfo("lobby", 1)], {"lobby": 4})

    def personal(outbox: Outbox, room: str, listing: Any) -> str:
        listings.append(listing)
        return f"<list {listing[1][room]}>"

    d.personal = personal

    async def arrive(count: int) -> str:
        viewer = Viewer("u")
        viewer.members = count
        return await d.first_list("lobby", viewer, Outbox(8))

    async def run() -> None:
        assert [await arrive(5) for _ in range(3)] == ["<list 5>"] * 3
        assert await arrive(6) == "<list 6>"
        assert d._listing is not None and d._listing[1] == {"lobby": 4}, "the process's own listing is untouched"

    asyncio.run(run())
    assert listings[0] is listings[1] is listings[2] and listings[3] is not listings[0]
