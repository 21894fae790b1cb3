"""Unread counts of signed-in people: per account and room, live in every tab, from the store at page load."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from typing import Any, cast

import pytest
from starlette.testclient import TestClient, WebSocketTestSession

from chatroom.rooms import directory, unread
from chatroom.rooms.counts import Count
from chatroom.rooms.outbox import Outbox
from chatroom.rooms.render import Fragments
from chatroom.store import RoomInfo
from chatroom.web.templating import template_environment
from tests.people import Session, page, say, sign_up
from tests.unit.conftest import Join
from tests.wire import recv, room_list

pytestmark = pytest.mark.timeout(60)

TITLE = re.compile(r'<title hx-swap-oob="true">([^<]*)</title>')


@pytest.fixture(autouse=True)
def quick_sends(monkeypatch: pytest.MonkeyPatch) -> None:
    """Counts are sent and reads written at most every so often (a quarter and a whole second in production)."""
    monkeypatch.setattr(unread, "SEND_SECONDS", 0.05)
    monkeypatch.setattr(unread, "FLUSH_SECONDS", 0.05)
    monkeypatch.setattr(directory, "INTERVAL_SECONDS", 0.1)


def line(html: str | None, room: str) -> str:
    """One room's `<li>` in a room list ("" when it is not listed)."""
    found = re.search(rf'<li data-room="{room}"[^>]*>.*?</li>', html or "", re.S)
    return found.group(0) if found else ""


def count(html: str | None, room: str) -> int:
    found = re.search(r'class="count">(\d+)', line(html, room))
    return int(found.group(1)) if found else 0


def mentioned(html: str | None, room: str) -> bool:
    return 'class="mentioned"' in line(html, room)


def title(html: str) -> str | None:
    found = TITLE.search(html) or re.search(r"<title>([^<]*)</title>", html)
    return found.group(1) if found else None


def until(ws: WebSocketTestSession, check: Callable[[str], bool], timeout: float = 5.0) -> str:
    """Read frames until one has a room list that passes `check`; that list, with the title sent with it."""
    seen: list[str] = []
    while True:
        try:
            frame = recv(ws, timeout)
        except TimeoutError:
            raise AssertionError(f"no room list passed; saw {seen!r}") from None
        listed = room_list(frame)
        if listed is not None:
            seen.append(frame)
            if check(frame):
                return frame


@pytest.fixture(autouse=True)
def rooms(client: TestClient) -> None:
    """The rooms the tests open: a place is kept only in a room that exists."""
    for room in ("dev", "ops"):
        assert client.post("/rooms", data={"name": room}, follow_redirects=False).status_code == 303
    client.cookies.clear()


@pytest.fixture
def alice(client: TestClient) -> Session:
    return sign_up(client, "alice")


@pytest.fixture
def bob(client: TestClient) -> Session:
    return sign_up(client, "bob")


def test_messages_in_a_room_they_opened_are_counted_live_with_the_title(
    client: TestClient, join: Join, alice: Session, bob: Session
) -> None:
    page(client, "/rooms/dev", alice)
    at_lobby = join(client, headers=alice)
    say(client, "one", "dev", bob)
    say(client, "two", "dev", bob)
    frame = until(at_lobby, lambda f: count(f, "dev") == 2)
    assert title(frame) == "(2) #lobby · chatroom"
    assert not mentioned(frame, "dev")


def test_changes_take_places_in_the_log_but_only_messages_are_counted(
    client: TestClient, join: Join, alice: Session, bob: Session
) -> None:
    page(client, "/rooms/dev", alice)
    say(client, "one", "dev", bob)
    client.post("/rooms/dev/messages/1/reactions", data={"emoji": "👍"}, headers=bob)
    client.post("/rooms/dev/messages/1/edit", data={"message": "one, edited"}, headers=bob)
    client.cookies.clear()
    say(client, "two", "dev", bob)
    shown = page(client, "/rooms/lobby", alice)
    assert count(shown, "dev") == 2 and title(shown) == "(2) #lobby · chatroom"


def test_only_whole_names_mention_someone_and_mentioned_rooms_are_marked(
    client: TestClient, join: Join, alice: Session, bob: Session
) -> None:
    al = sign_up(client, "al")
    page(client, "/rooms/dev", alice)
    page(client, "/rooms/dev", al)
    say(client, "@ALICE have a look", "dev", bob)
    say(client, "@alicex is someone else, and alice@example.org an address", "dev", bob)
    say(client, "@al only", "dev", bob)
    at_alice, at_al = join(client, headers=alice), join(client, headers=al)
    client.post("/rooms/dev/notify", data={"notify": "mentions"}, headers=alice)
    client.post("/rooms/dev/notify", data={"notify": "mentions"}, headers=al)
    client.cookies.clear()
    assert mentioned(until(at_alice, lambda f: count(f, "dev") == 1), "dev")
    assert mentioned(until(at_al, lambda f: count(f, "dev") == 1), "dev")
    say(client, "@Alice again", "dev", bob)
    frame = until(at_alice, lambda f: count(f, "dev") == 2)
    assert title(frame) == "(2) #lobby · chatroom"
    shown = page(client, "/rooms/lobby", al)
    assert count(shown, "dev") == 1, "al is not mentioned by @Alice"


def test_a_muted_room_shows_no_count_and_is_left_out_of_the_title(
    client: TestClient, join: Join, alice: Session, bob: Session
) -> None:
    page(client, "/rooms/dev", alice)
    page(client, "/rooms/ops", alice)
    muted = client.post("/rooms/ops/notify", data={"notify": "mute"}, headers=alice, follow_redirects=False)
    client.cookies.clear()
    assert muted.status_code == 303 and muted.headers["location"] == "/rooms/ops"
    at_lobby = join(client, headers=alice)
    say(client, "@alice in ops", "ops", bob)
    say(client, "in dev", "dev", bob)
    frame = until(at_lobby, lambda f: count(f, "dev") == 1)
    assert count(frame, "ops") == 0 and not mentioned(frame, "ops") and 'class="mine muted"' in line(frame, "ops")
    assert title(frame) == "(1) #lobby · chatroom"
    assert 'value="mute" selected' in page(client, "/rooms/ops", alice)


def test_opening_a_room_in_one_tab_clears_its_count_in_the_others(
    client: TestClient, join: Join, alice: Session, bob: Session
) -> None:
    page(client, "/rooms/dev", alice)
    first_tab = join(client, headers=alice)
    say(client, "one", "dev", bob)
    until(first_tab, lambda f: count(f, "dev") == 1)
    join(client, "dev", headers=alice)
    frame = until(first_tab, lambda f: count(f, "dev") == 0)
    assert title(frame) == "#lobby · chatroom"
    say(client, "read as it arrives: the room is open in the other tab", "dev", bob)
    say(client, "marker", "lobby", bob)
    while "marker" not in (frame := recv(first_tab)):
        assert count(room_list(frame) and frame, "dev") == 0
    assert count(page(client, "/rooms/lobby", alice), "dev") == 0


def test_a_page_load_marks_the_room_read_for_the_sockets_of_other_tabs(
    client: TestClient, join: Join, alice: Session, bob: Session
) -> None:
    page(client, "/rooms/dev", alice)
    tab = join(client, headers=alice)
    say(client, "one", "dev", bob)
    until(tab, lambda f: count(f, "dev") == 1)
    page(client, "/rooms/dev", alice)  # JavaScript off reads a room so
    until(tab, lambda f: count(f, "dev") == 0)


def test_the_page_marks_where_they_stopped_reading_once(client: TestClient, alice: Session, bob: Session) -> None:
    say(client, "old", "dev", bob)
    page(client, "/rooms/dev", alice)
    say(client, "mine", "dev", alice)
    say(client, "new one", "dev", bob)
    say(client, "new two", "dev", bob)
    assert "#msg-3::before" in page(client, "/rooms/dev", alice)
    assert '::before { content: "New messages"' not in page(client, "/rooms/dev", alice)


def test_their_rooms_come_first_then_the_active_ones(client: TestClient, alice: Session, bob: Session) -> None:
    for room in ["aaa", "bbb", "zzz"]:
        say(client, "hi", room, bob)
    page(client, "/rooms/zzz", alice)
    listed = re.findall(r'<li data-room="([^"]+)"', room_list(page(client, "/rooms/lobby", alice)) or "")
    assert listed[:2] == ["lobby", "zzz"] and set(listed[2:]) == {"aaa", "bbb", "dev", "ops"}


def test_guests_keep_the_shared_list_with_marks_by_css(client: TestClient, bob: Session) -> None:
    guest = {"cookie": ""}
    say(client, "hi", "dev", bob)
    shown = page(client, "/rooms/lobby", guest)
    assert 'data-seq="1"' in line(shown, "dev") and 'class="count"' not in shown
    assert "<title>#lobby · chatroom</title>" in shown and 'action="/rooms/lobby/notify"' not in shown


def test_the_notify_choice_is_for_signed_in_people_and_one_of_three(client: TestClient, alice: Session) -> None:
    guest = client.post("/rooms/dev/notify", data={"notify": "mute"}, follow_redirects=False)
    client.cookies.clear()
    assert guest.status_code == 403
    bad = client.post("/rooms/dev/notify", data={"notify": "loud"}, headers=alice, follow_redirects=False)
    client.cookies.clear()
    assert bad.status_code == 422 and "Choose every message" in bad.text


class StoreSpy:
    """Counts the store's calls by method name."""

    def __init__(self, store: Any) -> None:
        self.calls: Counter[str] = Counter()
        for name in dir(store):
            method = getattr(store, name)
            if not name.startswith("_") and callable(method):
                setattr(store, name, self._counted(name, method))

    def _counted(self, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return method(*args, **kwargs)

        return counted


def test_a_message_costs_no_store_query_per_person_counting_it(client: TestClient, join: Join, bob: Session) -> None:
    people = [sign_up(client, f"reader{n}") for n in range(6)]
    for who in people:
        page(client, "/rooms/dev", who)
    sockets = [join(client, headers=who) for who in people]
    spy = StoreSpy(client.app.state.chat.hub.store)  # type: ignore[attr-defined]
    for n in range(5):
        say(client, f"@reader1 message {n}", "dev", bob)
    for ws in sockets:
        until(ws, lambda f: count(f, "dev") == 5)
    per_message = {name: n for name, n in spy.calls.items() if n >= 5 and name != "append"}
    assert spy.calls["append"] == 5 and spy.calls["readings_of"] == 0 and per_message == {}, spy.calls


def test_a_read_announced_by_another_process_clears_what_it_read(
    client: TestClient, join: Join, alice: Session, bob: Session
) -> None:
    hub: Any = client.app.state.chat.hub  # type: ignore[attr-defined]
    page(client, "/rooms/dev", alice)
    tab = join(client, headers=alice)
    for text in ("one", "two", "three"):
        say(client, text, "dev", bob)
    until(tab, lambda f: count(f, "dev") == 3)
    [account] = hub.unread.readers

    def elsewhere_read(seq: int) -> None:  # as another process does: written, then announced
        client.portal.call(hub.store.mark_rooms_read, [(account, "dev", seq)], 0)  # type: ignore[union-attr]
        client.portal.call(hub.bus.publish_reads, [(account, "dev", seq, "")], "another-process")  # type: ignore[union-attr]

    elsewhere_read(1)  # up to "one": two are left, as the store counts them
    until(tab, lambda f: count(f, "dev") == 2)
    elsewhere_read(3)
    frame = until(tab, lambda f: count(f, "dev") == 0)
    assert title(frame) == "#lobby · chatroom"


def test_the_notify_choice_is_limited_per_person(client: TestClient, alice: Session) -> None:
    answers = [
        client.post("/rooms/dev/notify", data={"notify": "all"}, headers=alice, follow_redirects=False).status_code
        for _ in range(35)
    ]
    client.cookies.clear()
    assert answers.count(303) == 30 and answers[-1] == 429


def test_counts_are_read_once_at_connect_when_their_rooms_are_live_here(
    client: TestClient, join: Join, alice: Session, bob: Session
) -> None:
    page(client, "/rooms/dev", alice)
    join(client, "dev", headers=bob)  # the room's feed is live in this process
    spy = StoreSpy(client.app.state.chat.hub.store)  # type: ignore[attr-defined]
    join(client, headers=alice)
    assert spy.calls["readings_of"] == 1


def test_people_with_the_same_badges_share_one_rendering_of_a_listing(monkeypatch: pytest.MonkeyPatch) -> None:
    """A room list sent to every signed-in viewer at once renders each distinct list once, not once a person."""
    fragments = Fragments(template_environment())
    rendered: Counter[str] = Counter()
    personal = fragments.personal_room_list

    def counted(rooms: Any, online: Any, current: str, badges: Any, oob: bool = False) -> str:
        rendered[current] += 1
        return personal(rooms, online, current, badges, oob)

    monkeypatch.setattr(fragments, "personal_room_list", counted)
    counting = unread.Unread(cast(Any, None), cast(Any, None), cast(Any, None), fragments)
    outboxes = [cast(Outbox, object()) for _ in range(5)]
    for n, outbox in enumerate(outboxes):
        reader = unread.Reader(f"uid-{n}", f"p{n}", counts={"dev": Count(0, 3, unread=3 if n == 4 else 0)})
        reader.outboxes[outbox] = "lobby"
        counting.by_outbox[outbox] = reader
    listing: directory.Listing = ([RoomInfo("dev", 3), RoomInfo("lobby", 1)], {"lobby": 5})
    lists = [counting.render(outbox, "lobby", listing) for outbox in outboxes]
    assert rendered == {"lobby": 2}, "four people with nothing unread, one with 3 in dev"
    assert len(set(lists)) == 2 and count(lists[4], "dev") == 3 and count(lists[0], "dev") == 0
    fresh: directory.Listing = ([RoomInfo("dev", 4), RoomInfo("lobby", 1)], {"lobby": 5})
    assert counting.render(outboxes[0], "lobby", fresh) is not None
    assert rendered == {"lobby": 3}, "a new listing is rendered anew"
