"""Who's typing: set by the input's throttled events, cleared by the message or by the server after quiet."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from starlette.testclient import TestClient, WebSocketTestSession

from chatroom.accounts.service import Accounts
from chatroom.bus import Bus
from chatroom.identity import Person
from chatroom.rooms.hub import Hub
from chatroom.rooms.outbox import Outbox
from chatroom.rooms.presence import Signal
from chatroom.rooms.render import Fragments
from chatroom.rooms.typing import QUIET_SECONDS
from chatroom.settings import Settings
from chatroom.store.sqlite import SQLiteStore
from chatroom.web.templating import template_environment
from tests.clock import advance, run_turned
from tests.inprocess import hub_of, in_app
from tests.people import Lobby, Session, session
from tests.unit.conftest import Join
from tests.wire import first_found, marker, message_ids, recv, send_message, type_text, typing, wait_for

pytestmark = pytest.mark.timeout(60)

ALICE, BOB = Person("u-alice", "alice"), Person("u-bob", "bob")


@pytest.fixture
def room(client: TestClient, join: Join) -> dict[str, WebSocketTestSession]:
    """Alice, Bob and Carol in #lobby (the frames about their arrivals are passed over: what is read is typing)."""
    return {name: join(client, headers=session(client, name)) for name in ("alice", "bob", "carol")}


def test_the_others_see_who_is_typing(room: dict[str, WebSocketTestSession]) -> None:
    type_text(room["bob"], "hel")
    for name in ("alice", "carol"):
        wait_for(room[name], typing, "bob is typing…")
    type_text(room["carol"], "hi")
    assert first_found(room["bob"], typing) == "carol is typing…", "bob was never shown himself"


def test_two_people_typing(room: dict[str, WebSocketTestSession]) -> None:
    type_text(room["alice"], "a")
    wait_for(room["carol"], typing, "alice is typing…")
    type_text(room["bob"], "b")
    wait_for(room["carol"], typing, "alice and bob are typing…")
    wait_for(room["alice"], typing, "bob is typing…")
    wait_for(room["bob"], typing, "alice is typing…")


def test_sending_the_message_clears_it(room: dict[str, WebSocketTestSession]) -> None:
    type_text(room["bob"], "hello")
    wait_for(room["alice"], typing, "bob is typing…")
    send_message(room["bob"], "hello")
    frame = wait_for(room["alice"], typing, "")
    assert message_ids(frame) in ([1], []), "the indicator goes with (or right after) the message"


def in_a_room(tmp_path: Path, scenario: object) -> None:
    """Run `scenario(hub, alices_outbox)` on the turned clock, with alice watching room "r"."""

    async def main() -> None:
        store = SQLiteStore(f"sqlite:///{tmp_path / 'typing.sqlite3'}")
        await store.open()
        bus = Bus("memory://")
        await bus.connect()
        settings = Settings(secret_key="k")
        hub = Hub(store, bus, Fragments(template_environment()), settings, Accounts(store, bus, settings))
        try:
            outbox = Outbox(100)
            async with hub.connect("r", outbox, ALICE):
                await scenario(hub, outbox)  # type: ignore[operator]
        finally:
            await hub.close()
            await bus.disconnect()
            await store.close()

    run_turned(main())


async def typing_shown(outbox: Outbox) -> list[str | None]:
    """What the typing frames waiting in `outbox` say, after a marker offered now (so it is all of them).

    A change is shown on the loop's next turn (changes in one turn are shown together): that turn comes first.
    """
    await asyncio.sleep(0)
    outbox.offer(Signal("marker"))
    shown: list[str | None] = []
    while "marker" not in shown:
        shown += [typing(frame.html) if frame.html != "marker" else "marker" for frame in await outbox.take()]
    return [said for said in shown[:-1] if said is not None]


def test_the_server_clears_it_after_quiet(tmp_path: Path) -> None:
    async def scenario(hub: Hub, outbox: Outbox) -> None:
        hub.typed("r", BOB, True)
        assert await typing_shown(outbox) == ["bob is typing…"]
        await advance(QUIET_SECONDS - 0.01)
        assert await typing_shown(outbox) == []
        await advance(0.01)
        assert await typing_shown(outbox) == [""]

    in_a_room(tmp_path, scenario)


def test_each_typing_event_keeps_it_up(tmp_path: Path) -> None:
    async def scenario(hub: Hub, outbox: Outbox) -> None:
        hub.typed("r", BOB, True)
        for _ in range(3):
            await advance(QUIET_SECONDS - 1)
            hub.typed("r", BOB, True)
        await advance(QUIET_SECONDS - 0.01)
        assert await typing_shown(outbox) == ["bob is typing…"], "shown once, and kept up all along"
        await advance(0.01)
        assert await typing_shown(outbox) == [""]

    in_a_room(tmp_path, scenario)


def test_an_emptied_input_stops_it(room: dict[str, WebSocketTestSession]) -> None:
    type_text(room["bob"], "oops")
    wait_for(room["alice"], typing, "bob is typing…")
    type_text(room["bob"], "")
    wait_for(room["alice"], typing, "")


def test_a_typing_event_trailing_the_sent_message_is_ignored(room: dict[str, WebSocketTestSession]) -> None:
    send_message(room["bob"], "done")
    type_text(room["bob"], "done")
    type_text(room["carol"], "x")
    assert first_found(room["alice"], typing) == "carol is typing…"


def test_typing_events_are_rate_limited_per_connection(
    client: TestClient, room: dict[str, WebSocketTestSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = hub_of(client)
    calls: list[bool] = []
    original = hub.typed

    def typed(room_name: str, person: Person, on: bool) -> None:
        calls.append(on)
        original(room_name, person, on)

    monkeypatch.setattr(hub, "typed", typed)
    for n in range(30):
        type_text(room["bob"], "x" * (n + 1))
    marker(room["bob"], people_too=False)  # read after all thirty
    assert 1 <= len(calls) <= 3


def test_typing_is_not_a_message(room: dict[str, WebSocketTestSession]) -> None:
    type_text(room["bob"], "not sent")
    wait_for(room["alice"], typing, "bob is typing…")
    marker(room["bob"], room["alice"], people_too=False)


def test_names_are_escaped(client: TestClient, join: Join, alice: Session) -> None:
    at_alice = join(client, headers=alice)
    mallory = join(client, headers=session(client, "<b>mallory</b>"))
    type_text(mallory, "hi")
    frame = wait_for(at_alice, typing, "&lt;b&gt;mallory&lt;/b&gt; is typing…")
    assert "<b>" not in frame


def test_sockets_without_a_session_neither_show_nor_see_typing(client: TestClient, join: Join, lobby: Lobby) -> None:
    anonymous = join(client)
    type_text(anonymous, "who am I")
    type_text(lobby.bob, "hi")
    assert first_found(lobby.alice, typing) == "bob is typing…", "the anonymous socket showed nothing before"
    marker(anonymous)  # and it was sent no indicator


def test_typing_from_another_process_shows_and_expires(client: TestClient, join: Join, alice: Session) -> None:
    hub = hub_of(client)
    hub.typing.quiet = 0.4
    at_alice = join(client, headers=alice)
    in_app(client, hub.bus.publish_typing, "lobby", "uid-far", "dora", True)
    wait_for(at_alice, typing, "dora is typing…")
    wait_for(at_alice, typing, "")


def test_a_new_viewer_sees_who_is_typing_already(client: TestClient, room: dict[str, WebSocketTestSession]) -> None:
    type_text(room["bob"], "hey")
    wait_for(room["alice"], typing, "bob is typing…")
    with client.websocket_connect("/rooms/lobby/ws", headers=session(client, "dave")) as dave:
        assert typing(recv(dave)) == "bob is typing…"


def test_the_sse_page_types_over_http(client: TestClient, join: Join, alice: Session, bob: Session) -> None:
    at_alice = join(client, headers=alice)
    typed = client.post("/rooms/lobby/typing", data={"message": "hi"}, headers={**bob, "hx-request": "true"})
    assert typed.status_code == 204
    wait_for(at_alice, typing, "bob is typing…")
    forged = client.post("/rooms/lobby/typing", data={"message": ""}, headers=bob)
    assert forged.status_code == 403, "only htmx sends typing events (a cheap CSRF check)"
    client.cookies.clear()
    client.post("/rooms/lobby/typing", data={"message": ""}, headers={**bob, "hx-request": "true"})
    wait_for(at_alice, typing, "")
