"""Dropping cookies or opening connections buys nothing: messages, guests, rooms, history pages and
connections are limited per client address, and one address's limit is not another's."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from chatroom.settings import Settings
from tests.addresses import Clock, at, behind_proxy
from tests.wire import message_ids, recv, recv_json

pytestmark = pytest.mark.timeout(60)

A, B = "203.0.113.1", "198.51.100.2"


@pytest.fixture
def opened() -> Iterator[ExitStack]:
    """Sockets entered here are closed at teardown, before the client, whatever the test found."""
    with ExitStack() as stack:
        yield stack


Proxied = tuple[TestClient, Clock]


@pytest.fixture
def proxied(settings: Settings) -> Iterator[Proxied]:
    with behind_proxy(settings) as (client, clock):
        yield client, clock


def cookieless_post(client: TestClient, address: str, text: str, room: str = "lobby") -> int:
    client.cookies.clear()
    response = client.post(
        f"/rooms/{room}/messages", data={"message": text}, headers=at(address), follow_redirects=False
    )
    client.cookies.clear()
    return response.status_code


def test_cookieless_form_posts_from_one_address_stop_at_its_limit_while_another_address_posts(proxied: Proxied) -> None:
    client, clock = proxied
    assert [cookieless_post(client, A, f"m{n}") for n in range(40)] == [303] * 30 + [429] * 10
    assert cookieless_post(client, B, "from elsewhere") == 303
    clock.now = 60  # a minute: the messages' bucket has refilled, and the new guests' too
    assert [cookieless_post(client, A, f"later{n}") for n in range(31)] == [303] * 30 + [429]


def test_a_refused_htmx_post_says_why_in_errors_with_429(proxied: Proxied) -> None:
    client, _ = proxied
    for n in range(30):
        cookieless_post(client, A, f"m{n}")
    client.cookies.clear()
    response = client.post(
        "/rooms/lobby/messages", data={"message": "one more"}, headers=at(A, **{"hx-request": "true"})
    )
    assert response.status_code == 429
    assert 'id="errors"' in response.text and "Too many messages from your network" in response.text


def test_forty_sockets_without_a_session_from_one_address_share_its_limit(proxied: Proxied, opened: ExitStack) -> None:
    client, _ = proxied
    sockets = [opened.enter_context(client.websocket_connect("/ws/rooms/lobby/", headers=at(A))) for _ in range(40)]
    outcomes = []
    for ws in sockets:
        assert recv_json(ws)["type"] == "connection_established"
    for n, ws in enumerate(sockets):
        ws.send_json({"message": f"m{n}"})
        while True:
            frame = recv_json(ws)
            if frame["type"] == "error" or frame.get("message") == f"m{n}":
                outcomes.append(frame.get("error", "sent"))
                break
    assert outcomes == ["sent"] * 30 + ["rate_limited"] * 10
    with client.websocket_connect("/ws/rooms/lobby/", headers=at(B)) as other:
        recv_json(other)
        other.send_json({"message": "from elsewhere"})
        assert recv_json(other)["message"] == "from elsewhere"


def test_the_connection_cap_refuses_the_next_websocket_with_1013_until_one_closes(settings: Settings) -> None:
    with behind_proxy(settings, max_connections_per_address=2) as (client, _), ExitStack() as opened:
        first = client.websocket_connect("/rooms/lobby/ws", headers=at(A)).__enter__()
        second = opened.enter_context(client.websocket_connect("/ws/rooms/lobby/", headers=at(A)))
        opened.callback(first.__exit__, None, None, None)
        recv(first), recv(second)
        with client.websocket_connect("/rooms/lobby/ws", headers=at(A)) as third:
            with pytest.raises(WebSocketDisconnect) as refused:
                recv(third)
            assert refused.value.code == 1013
        with client.websocket_connect("/rooms/lobby/ws", headers=at(B)) as elsewhere:
            assert recv(elsewhere).startswith('<ul id="messages"')
        first.__exit__(None, None, None)
        wait_until_open(client, A, 1)
        with client.websocket_connect("/rooms/lobby/ws", headers=at(A)) as again:
            assert recv(again).startswith('<ul id="messages"')


def test_the_connection_cap_answers_the_next_sse_stream_429_until_one_ends(settings: Settings) -> None:
    with behind_proxy(settings, max_connections_per_address=2) as (client, _), ExitStack() as opened:
        recv(opened.enter_context(client.websocket_connect("/ws/rooms/lobby/", headers=at(A))))
        with client.stream("GET", "/rooms/lobby/events", headers=at(A)) as stream:
            assert stream.status_code == 200
            lines = stream.iter_lines()  # kept: a dropped iterator closes the stream
            next(lines)
            with client.stream("GET", "/rooms/lobby/events", headers=at(A)) as refused:
                assert refused.status_code == 429
                assert refused.headers["retry-after"] == "10"
                assert "Too many open connections from your network" in refused.read().decode()
        wait_until_open(client, A, 1)
        with client.stream("GET", "/rooms/lobby/events", headers=at(A)) as stream:
            assert stream.status_code == 200


def wait_until_open(client: TestClient, address: str, count: int) -> None:
    """The server sees a closed connection a moment after the client does."""
    connections = client.app.app.state.chat.hub.limits.connections  # type: ignore[attr-defined]
    deadline = time.monotonic() + 5
    while connections.count(address) != count:
        assert time.monotonic() < deadline, connections.count(address)
        time.sleep(0.01)


def test_a_room_creation_flood_gets_429_per_session_then_per_address(proxied: Proxied) -> None:
    client, _ = proxied
    client.get("/", headers=at(A))
    created = [
        client.post("/rooms", data={"name": f"junk-{n}"}, headers=at(A), follow_redirects=False) for n in range(7)
    ]
    assert [r.status_code for r in created] == [303] * 6 + [429]
    assert "You are creating rooms too fast" in created[-1].text
    assert 'id="messages"' not in created[-1].text, "a flood is answered with the small page, not a room page"
    statuses = []
    for n in range(30):
        client.cookies.clear()
        statuses.append(
            client.post("/rooms", data={"name": f"more-{n}"}, headers=at(A), follow_redirects=False).status_code
        )
    assert statuses == [303] * 24 + [429] * 6
    assert client.post("/rooms", data={"name": "fine"}, headers=at(B), follow_redirects=False).status_code == 303


def test_past_sixty_new_guests_an_address_still_reads_but_a_cookieless_post_is_refused(proxied: Proxied) -> None:
    client, _ = proxied
    for _ in range(60):
        client.cookies.clear()
        assert "set-cookie" in client.get("/", headers=at(A)).headers
    client.cookies.clear()
    page = client.get("/", headers=at(A))
    assert page.status_code == 200 and "set-cookie" not in page.headers
    refused = client.post("/rooms/lobby/messages", data={"message": "hi"}, headers=at(A), follow_redirects=False)
    assert refused.status_code == 429 and "Too many new visitors from your network" in refused.text
    client.cookies.clear()
    assert "set-cookie" in client.get("/", headers=at(B)).headers


def test_older_pages_from_one_address_stop_at_its_limit_while_another_address_reads(proxied: Proxied) -> None:
    client, _ = proxied
    cookieless_post(client, B, "one")
    older = [client.get("/rooms/lobby/messages?before=2", headers=at(A)).status_code for _ in range(31)]
    assert older == [200] * 30 + [429]
    assert client.get("/rooms/lobby?around=1", headers=at(A)).status_code == 429
    assert client.get("/rooms/lobby?before=2", headers=at(B)).status_code == 200


def test_a_replay_that_would_read_the_store_past_the_address_limit_gets_the_snapshot(settings: Settings) -> None:
    with behind_proxy(settings, history_limit=2) as (client, _):
        for n in range(5):
            cookieless_post(client, B, f"m{n}")
        for _ in range(30):
            client.get("/rooms/lobby/messages?before=5", headers=at(A))
        with client.stream("GET", "/rooms/lobby/events", headers=at(A, **{"last-event-id": "1"})) as stream:
            first = list(itertools.takewhile(bool, stream.iter_lines()))
        assert first[0] == "id: 5" and first[1].startswith('data: <ul id="messages"'), "the snapshot, not a replay"
        assert message_ids("".join(first)) == [4, 5]


def test_a_refused_plain_post_gets_the_small_error_page_not_the_room(proxied: Proxied) -> None:
    """A flood's answers cost no store reads: the room page (messages, people, room list) is not rendered."""
    client, _ = proxied
    statuses = [cookieless_post(client, A, f"m{n}") for n in range(31)]
    assert statuses[-1] == 429
    client.cookies.clear()
    refused = client.post("/rooms/lobby/messages", data={"message": "x"}, headers=at(A), follow_redirects=False)
    assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
    assert 'id="messages"' not in refused.text and 'id="room-list"' not in refused.text


def test_link_pages_from_one_address_stop_at_its_limit_while_another_address_opens_one(proxied: Proxied) -> None:
    client, _ = proxied
    guesses = [client.get(f"/join/guess{n}", headers=at(A)).status_code for n in range(61)]
    assert guesses == [404] * 60 + [429]
    assert client.get("/reset/another", headers=at(A)).status_code == 429
    assert client.get("/setup/another", headers=at(B)).status_code == 404
