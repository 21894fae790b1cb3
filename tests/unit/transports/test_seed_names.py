"""The JSON protocol's "name": the same rules as the profile form, checked in the room the client is connected to."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.people import session
from tests.unit.conftest import Join
from tests.wire import recv, recv_json


def refusal(client: TestClient, name: str, room: str = "lobby") -> dict[str, str]:
    with client.websocket_connect(f"/ws/rooms/{room}/") as ws:
        recv(ws)
        ws.send_json({"message": "hi", "name": name})
        frame: dict[str, str] = recv_json(ws)
        return frame


@pytest.mark.parametrize("name", ["Alice", "\u0410lice", "A1ice"])
def test_a_name_someone_in_the_room_has_gets_name_taken(client: TestClient, join: Join, name: str) -> None:
    join(client, headers=session(client, "alice"))
    assert refusal(client, name) == {
        "type": "error",
        "error": "name_taken",
        "detail": "Someone here is already called alice.",
    }


def test_the_name_is_checked_in_the_room_the_client_is_connected_to(client: TestClient, join: Join) -> None:
    join(client, "kitchen", headers=session(client, "alice"))
    assert refusal(client, "Alice", room="lobby")["author"] == "Alice"
    assert refusal(client, "Alice", room="kitchen")["error"] == "name_taken"


@pytest.mark.parametrize("name", ["\u202eecilA", "\u3164", "Bo\u200bb"])
def test_an_invisible_or_bidi_name_gets_invalid_name(client: TestClient, name: str) -> None:
    assert refusal(client, name)["error"] == "invalid_name"


def test_a_client_cannot_post_under_a_generated_guest_name(client: TestClient) -> None:
    assert refusal(client, "guest-123456")["error"] == "invalid_name"
