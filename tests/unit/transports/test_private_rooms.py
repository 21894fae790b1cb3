"""Private rooms on the live wires: a handshake refused (403) to anyone who is not a member, on both sockets,
and a member who is removed or leaves loses their sockets and streams to the room at once (1008)."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tests.people import Session, say, sign_up
from tests.unit.conftest import Join
from tests.unit.web.test_private_rooms import post, private_room
from tests.wire import recv


@pytest.fixture
def alice(client: TestClient) -> Session:
    return sign_up(client, "Alice")


@pytest.fixture
def bob(client: TestClient) -> Session:
    return sign_up(client, "Bob")


def refused(client: TestClient, url: str, who: Session | None) -> int | None:
    with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect(url, headers=dict(who or {})) as ws:
        recv(ws)
    client.cookies.clear()
    return closed.value.code


def closed_code(ws: object) -> int | None:
    with pytest.raises(Exception) as closed:
        while True:
            recv(ws)  # type: ignore[arg-type]
    return getattr(closed.value, "code", None)


def test_both_sockets_refuse_a_non_member_and_a_guest(client: TestClient, alice: Session, bob: Session) -> None:
    room = private_room(client, alice)
    for who in (bob, None):
        for url in (f"/rooms/{room}/ws", f"/ws/rooms/{room}/"):
            assert refused(client, url, who) == 1008, (url, who)  # closed before accept: a 403 to the handshake


def test_a_member_connects_on_both_sockets(client: TestClient, join: Join, alice: Session) -> None:
    room = private_room(client, alice)
    join(client, room, headers=alice)
    with client.websocket_connect(f"/ws/rooms/{room}/", headers=alice) as seed:
        assert '"connection_established"' in recv(seed)
    client.cookies.clear()


@pytest.mark.parametrize("removed_by", ["themselves", "the room's maker"])
def test_a_removed_member_loses_both_sockets_at_once(
    client: TestClient, join: Join, alice: Session, bob: Session, removed_by: str
) -> None:
    room = private_room(client, alice)
    assert post(client, f"/rooms/{room}/members", alice, name="Bob") == 303
    ws = join(client, room, headers=bob)
    with client.websocket_connect(f"/ws/rooms/{room}/", headers=bob) as seed:
        recv(seed)
        client.cookies.clear()
        if removed_by == "themselves":
            assert post(client, f"/rooms/{room}/leave", bob) == 303
        else:
            assert post(client, f"/rooms/{room}/members/remove", alice, name="Bob") == 303
        assert closed_code(ws) == 1008
        assert closed_code(seed) == 1008
    assert refused(client, f"/rooms/{room}/ws", bob) == 1008
    assert refused(client, f"/ws/rooms/{room}/", bob) == 1008


def test_a_member_who_leaves_does_not_close_the_others_sockets(
    client: TestClient, join: Join, alice: Session, bob: Session
) -> None:
    room = private_room(client, alice)
    post(client, f"/rooms/{room}/members", alice, name="Bob")
    at_alice = join(client, room, headers=alice)
    post(client, f"/rooms/{room}/leave", bob)
    at_alice.send_json({"message": "still here", "headers": {}})
    while "still here" not in recv(at_alice):
        pass


CONVERSATIONS = re.compile(r'<section id="conversations"[^>]*hx-swap-oob="true">(.*?)</section>', re.S)


def next_list(ws: object) -> str:
    while True:
        found = CONVERSATIONS.search(recv(ws))  # type: ignore[arg-type]
        if found:
            return found.group(1)


def test_a_persons_list_is_sent_again_when_they_are_added_and_when_a_direct_message_arrives(
    client: TestClient, join: Join, alice: Session, bob: Session
) -> None:
    at_bob = join(client, headers=bob)  # in the lobby
    room = private_room(client, alice, "plans")
    post(client, f"/rooms/{room}/members", alice, name="Bob")
    assert f'data-room="{room}"' in next_list(at_bob)
    direct = client.get("/dm/Bob", headers=alice, follow_redirects=False).headers["location"].removeprefix("/rooms/")
    client.cookies.clear()
    say(client, "psst", direct, alice)
    listed = next_list(at_bob)
    while direct not in listed:
        listed = next_list(at_bob)
    assert f'data-room="{room}"' in listed and "<bdi>Alice</bdi>" in listed


@pytest.mark.timeout(20)  # a stream that is not closed fails, not hangs
def test_a_member_who_leaves_loses_the_sse_stream_at_once(client: TestClient, alice: Session, bob: Session) -> None:
    room = private_room(client, alice)
    post(client, f"/rooms/{room}/members", alice, name="Bob")
    with client.stream("GET", f"/rooms/{room}/events", headers=bob) as response:
        assert response.status_code == 200
        lines = response.iter_lines()
        assert next(line for line in lines if line.startswith("data:"))  # the snapshot
        assert post(client, f"/rooms/{room}/leave", bob) == 303
        say(client, "after you left", room, alice)
        rest = list(lines)  # ends: the stream was closed
    assert not any("after you left" in line for line in rest)
