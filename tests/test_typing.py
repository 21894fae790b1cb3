"""Who's typing: set by the input's throttled events, cleared by the message or by the server after quiet."""

from __future__ import annotations

import time

import pytest
from starlette.testclient import TestClient, WebSocketTestSession

from tests.people import none_of, session, typing, wait_for
from tests.wire import message_ids, recv, send_message

pytestmark = pytest.mark.timeout(60)


def type_text(ws: WebSocketTestSession, text: str) -> None:
    """What htmx sends from the message input on `input` (hx-vals adds `typing`): the form's fields."""
    ws.send_json({"message": text, "typing": True, "headers": {"HX-Request": "true", "HX-Source": "input#msg-input"}})


@pytest.fixture
def room(client: TestClient, join) -> dict[str, WebSocketTestSession]:
    people = {name: join(client, headers=session(client, name)) for name in ("alice", "bob", "carol")}
    for ws in people.values():  # the arrivals are seen, so what follows is only about typing
        none_of(ws, lambda frame: None, wait=0.3)
    return people


def test_the_others_see_who_is_typing(room: dict[str, WebSocketTestSession]) -> None:
    type_text(room["bob"], "hel")
    for name in ("alice", "carol"):
        wait_for(room[name], typing, "bob is typing…")
    none_of(room["bob"], typing)


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


def test_the_server_clears_it_after_quiet(client: TestClient, room: dict[str, WebSocketTestSession]) -> None:
    client.app.state.chat.hub.typing.quiet = 0.4  # type: ignore[attr-defined]
    type_text(room["bob"], "hm")
    wait_for(room["alice"], typing, "bob is typing…")
    started = time.monotonic()
    wait_for(room["alice"], typing, "")
    assert 0.3 < time.monotonic() - started < 2


def test_each_typing_event_keeps_it_up(client: TestClient, room: dict[str, WebSocketTestSession]) -> None:
    client.app.state.chat.hub.typing.quiet = 1.5  # type: ignore[attr-defined]
    type_text(room["bob"], "a")
    wait_for(room["alice"], typing, "bob is typing…")
    for text in ("ab", "abc"):
        none_of(room["alice"], typing, wait=1.05)  # within the rate limit: a browser sends one every 2 s
        type_text(room["bob"], text)
    none_of(room["alice"], typing, wait=1.0)
    wait_for(room["alice"], typing, "", timeout=2)


def test_an_emptied_input_stops_it(room: dict[str, WebSocketTestSession]) -> None:
    type_text(room["bob"], "oops")
    wait_for(room["alice"], typing, "bob is typing…")
    time.sleep(1.05)
    type_text(room["bob"], "")
    wait_for(room["alice"], typing, "")


def test_a_typing_event_trailing_the_sent_message_is_ignored(room: dict[str, WebSocketTestSession]) -> None:
    send_message(room["bob"], "done")
    type_text(room["bob"], "done")
    none_of(room["alice"], typing, wait=0.6)


def test_typing_events_are_rate_limited_per_connection(
    client: TestClient, room: dict[str, WebSocketTestSession]
) -> None:
    hub = client.app.state.chat.hub  # type: ignore[attr-defined]
    calls: list[bool] = []
    original = hub.typed
    hub.typed = lambda room_name, person, on: (calls.append(on), original(room_name, person, on))
    for n in range(30):
        type_text(room["bob"], "x" * (n + 1))
    wait_for(room["alice"], typing, "bob is typing…")
    time.sleep(0.3)
    assert 1 <= len(calls) <= 3


def test_typing_is_not_a_message(room: dict[str, WebSocketTestSession]) -> None:
    type_text(room["bob"], "not sent")
    wait_for(room["alice"], typing, "bob is typing…")
    none_of(room["bob"], message_ids_or_none, wait=0.3)


def message_ids_or_none(frame: str) -> list[int] | None:
    return message_ids(frame) or None


def test_names_are_escaped(client: TestClient, join) -> None:
    alice = join(client, headers=session(client, "alice"))
    mallory = join(client, headers=session(client, "<b>mallory</b>"))
    type_text(mallory, "hi")
    frame = wait_for(alice, typing, "&lt;b&gt;mallory&lt;/b&gt; is typing…")
    assert "<b>" not in frame


def test_sockets_without_a_session_neither_show_nor_see_typing(client: TestClient, join) -> None:
    alice = join(client, headers=session(client, "alice"))
    anonymous = join(client)
    type_text(anonymous, "who am I")
    none_of(alice, typing, wait=0.5)
    type_text(alice, "hi")
    none_of(anonymous, typing, wait=0.5)


def test_typing_from_another_process_shows_and_expires(client: TestClient, join) -> None:
    hub = client.app.state.chat.hub  # type: ignore[attr-defined]
    hub.typing.quiet = 0.4
    alice = join(client, headers=session(client, "alice"))
    client.portal.call(hub.bus.publish_typing, "lobby", "uid-far", "dora", True)
    wait_for(alice, typing, "dora is typing…")
    wait_for(alice, typing, "")


def test_a_new_viewer_sees_who_is_typing_already(client: TestClient, room: dict[str, WebSocketTestSession]) -> None:
    type_text(room["bob"], "hey")
    wait_for(room["alice"], typing, "bob is typing…")
    with client.websocket_connect("/rooms/lobby/ws", headers=session(client, "dave")) as dave:
        assert typing(recv(dave)) == "bob is typing…"


def test_the_sse_page_types_over_http(client: TestClient, join) -> None:
    alice = join(client, headers=session(client, "alice"))
    bob = session(client, "bob")
    typed = client.post("/rooms/lobby/typing", data={"message": "hi"}, headers={**bob, "hx-request": "true"})
    assert typed.status_code == 204
    wait_for(alice, typing, "bob is typing…")
    forged = client.post("/rooms/lobby/typing", data={"message": ""}, headers=bob)
    assert forged.status_code == 403, "only htmx sends typing events (a cheap CSRF check)"
    client.cookies.clear()
    client.post("/rooms/lobby/typing", data={"message": ""}, headers={**bob, "hx-request": "true"})
    wait_for(alice, typing, "")
