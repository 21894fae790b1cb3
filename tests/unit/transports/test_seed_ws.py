"""The seed's JSON WebSocket: /ws/socket-server/ (the lobby) and /ws/rooms/{room}/."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tests.unit.conftest import Join, MakeClient
from tests.wire import message_ids, post, recv, recv_json

CONNECTED = {"type": "connection_established", "message": "You are now connected!"}


def connected(frame: dict[str, str]) -> str:
    """The seed's greeting, with the epoch of the room's log; the epoch."""
    epoch = frame.pop("epoch")
    assert frame == CONNECTED and re.fullmatch(r"[0-9a-f]{16}", epoch)
    return epoch


def test_connecting_says_so(client: TestClient) -> None:
    with client.websocket_connect("/ws/socket-server/") as ws:
        assert connected(recv_json(ws))


def test_a_message_arrives_as_chat_json(client: TestClient) -> None:
    with client.websocket_connect("/ws/socket-server/") as a, client.websocket_connect("/ws/rooms/lobby/") as b:
        assert connected(recv_json(a)) == connected(recv_json(b))
        a.send_json({"message": "hello <b>"})
        for ws in (a, b):
            chat = recv_json(ws)
            assert chat.pop("sent_at").endswith("Z")
            assert chat.pop("author").startswith("guest-")
            assert chat == {
                "type": "chat",
                "message": "hello <b>",
                "id": 1,
                "room": "lobby",
                "seq": 1,
                "guest": True,
                "bot": False,
            }


def test_name_sets_the_author(client: TestClient) -> None:
    with client.websocket_connect("/ws/rooms/bots/") as ws:
        recv(ws)
        ws.send_json({"message": "beep", "name": "  robot  "})
        assert recv_json(ws)["author"] == "robot"
        ws.send_json({"message": "still me"})
        assert recv_json(ws)["author"] == "robot"


@pytest.mark.parametrize("name", ["", "   ", "x" * 33, "bell\x07", 42])
def test_an_invalid_name_is_refused(client: TestClient, name: object) -> None:
    with client.websocket_connect("/ws/rooms/bots/") as ws:
        recv(ws)
        ws.send_json({"message": "beep", "name": name})
        error = recv_json(ws)
        assert error["type"] == "error" and error["error"] == "invalid_name"
        assert "display name" in error["detail"]
        ws.send_json({"message": "marker"})
        marker = recv_json(ws)
        assert (marker["type"], marker["message"]) == ("chat", "marker"), "nothing was sent before it"


def test_errors_go_to_the_sender_alone(make_client: MakeClient) -> None:
    client = make_client(max_message_length=5)
    with client.websocket_connect("/ws/rooms/r/") as a, client.websocket_connect("/ws/rooms/r/") as b:
        recv(a), recv(b)
        a.send_json({"message": "too long"})
        assert recv_json(a) == {
            "type": "error",
            "error": "message_too_long",
            "detail": "A message can be at most 5 characters; this one has 8.",
        }
        a.send_text("{not json")
        assert recv_json(a)["error"] == "invalid_json"
        a.send_json({"text": "wrong key"})
        assert recv_json(a)["error"] == "missing_message"
        a.send_json({"message": "ok"})
        assert recv_json(b)["message"] == recv_json(a)["message"] == "ok", "b got nothing before it"


def test_rate_limited_senders_get_an_error(make_client: MakeClient) -> None:
    client = make_client(rate_limit_per_second=0.001, rate_limit_burst=1)
    with client.websocket_connect("/ws/rooms/r/") as ws:
        recv(ws)
        ws.send_json({"message": "one"})
        assert recv_json(ws)["type"] == "chat"
        ws.send_json({"message": "two"})
        assert recv_json(ws)["error"] == "rate_limited"


def test_json_clients_and_browsers_share_the_room(client: TestClient, join: Join) -> None:
    browser = join(client, "mixed")
    with client.websocket_connect("/ws/rooms/mixed/") as bot:
        recv(bot)
        bot.send_json({"message": "from the bot", "name": "bot"})
        assert "from the bot" in recv(browser)
        assert recv_json(bot)["message"] == "from the bot"
        assert message_ids(post(browser, "from the browser")) == [2]
        chat = recv_json(bot)
        assert (chat["id"], chat["message"]) == (2, "from the browser")


def test_an_oversized_frame_closes_with_1009(client: TestClient) -> None:
    with client.websocket_connect("/ws/socket-server/") as ws:
        recv(ws)
        ws.send_text("x" * (64 * 1024 + 1))
        with pytest.raises(WebSocketDisconnect) as closed:
            recv(ws)
        assert closed.value.code == 1009


def test_a_foreign_origin_is_refused(client: TestClient) -> None:
    with pytest.raises(WebSocketDisconnect):
        client.websocket_connect("/ws/socket-server/", headers={"origin": "http://evil.example"}).__enter__()


def test_an_invalid_room_is_refused(client: TestClient) -> None:
    with pytest.raises(WebSocketDisconnect):
        client.websocket_connect("/ws/rooms/NO%20SPACES/").__enter__()
