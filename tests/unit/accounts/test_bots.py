"""Bots: a token from an administrator, the JSON protocol with `Authorization: Bearer`, and the HTTP API."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tests.people import page
from tests.unit.accounts.helpers import admin
from tests.unit.conftest import Join
from tests.wire import recv, recv_chat, recv_json

TOKEN = re.compile(r'class="secret" readonly value="([^"]+)"')


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def make_bot(client: TestClient, who: dict[str, str], name: str = "Deploybot") -> str:
    made = client.post("/admin/bots", data={"name": name}, headers=who)
    client.cookies.clear()
    found = TOKEN.search(made.text)
    assert made.status_code == 200 and found is not None, made.text
    return found.group(1)


def test_a_bot_talks_the_json_protocol_with_its_token(client: TestClient, join: Join) -> None:
    ada = admin(client)
    token = make_bot(client, ada)
    watcher = join(client, headers=ada)
    with client.websocket_connect("/ws/rooms/lobby/", headers=bearer(token)) as bot:
        assert recv_json(bot)["type"] == "connection_established"
        bot.send_json({"message": "build passed"})
        frame = recv_json(bot)
        assert frame["author"] == "Deploybot" and frame["bot"] is True and frame["guest"] is False
    item = recv_chat(watcher)
    assert ">Deploybot</bdi>" in item and 'class="bot">bot<' in item


def test_a_bot_posts_with_the_api(client: TestClient) -> None:
    ada = admin(client)
    token = make_bot(client, ada)
    posted = client.post("/api/rooms/lobby/messages", json={"message": "deployed"}, headers=bearer(token))
    assert posted.status_code == 201
    assert posted.json()["author"] == "Deploybot" and posted.json()["message"] == "deployed"
    assert "deployed" in page(client, "/", ada)


@pytest.mark.parametrize(
    ("headers", "body", "status", "code"),
    [
        ({}, {"message": "x"}, 403, "forbidden"),
        ({"authorization": "Bearer not-a-token"}, {"message": "x"}, 403, "forbidden"),
        ({"authorization": "Basic abc"}, {"message": "x"}, 403, "forbidden"),
        ("TOKEN", ["not an object"], 422, "invalid_json"),
        ("TOKEN", {"message": "   "}, 422, "empty_message"),
        ("TOKEN", {"message": "x" * 2001}, 422, "too_long"),
    ],
)
def test_the_api_refuses_bad_requests_with_a_json_error(
    client: TestClient, headers: object, body: object, status: int, code: str
) -> None:
    token = make_bot(client, admin(client))
    sent_headers = bearer(token) if headers == "TOKEN" else headers
    answer = client.post("/api/rooms/lobby/messages", json=body, headers=sent_headers)  # type: ignore[arg-type]
    assert answer.status_code == status
    assert answer.json()["type"] == "error"
    if code != "too_long":
        assert answer.json()["error"] == code


def test_a_token_in_the_address_is_refused(client: TestClient) -> None:
    token = make_bot(client, admin(client))
    answer = client.post(f"/api/rooms/lobby/messages?token={token}", json={"message": "x"})
    assert answer.status_code == 403 and "Authorization header" in answer.json()["detail"]
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        client.websocket_connect(f"/ws/rooms/lobby/?access_token={token}"),
    ):
        pass
    assert refused.value.code == 1008


def test_an_unknown_token_is_refused_at_the_handshake(client: TestClient) -> None:
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        client.websocket_connect("/ws/rooms/lobby/", headers={"authorization": "Bearer made-up"}),
    ):
        pass
    assert refused.value.code == 1008


def test_a_new_token_ends_the_old_one_and_closes_its_socket(client: TestClient) -> None:
    ada = admin(client)
    old = make_bot(client, ada)
    listed = page(client, "/admin", ada)
    bot_id = re.search(r"/admin/bots/(b[0-9a-f]{16})/token", listed)
    assert bot_id is not None
    with client.websocket_connect("/ws/rooms/lobby/", headers=bearer(old)) as bot:
        recv(bot)
        made = client.post(f"/admin/bots/{bot_id.group(1)}/token", headers=ada)
        client.cookies.clear()
        new = TOKEN.search(made.text)
        assert new is not None and new.group(1) != old
        with pytest.raises(WebSocketDisconnect) as closed:
            while True:
                recv(bot)
        assert closed.value.code == 1008
    gone = client.post("/api/rooms/lobby/messages", json={"message": "x"}, headers=bearer(old))
    assert gone.status_code == 403
    fine = client.post("/api/rooms/lobby/messages", json={"message": "x"}, headers=bearer(new.group(1)))
    assert fine.status_code == 201


def test_a_bots_name_is_held_like_a_persons(client: TestClient) -> None:
    ada = admin(client)
    make_bot(client, ada)
    taken = client.post("/admin/bots", data={"name": "DEPLOYBOT"}, headers=ada)
    assert taken.status_code == 422
    client.cookies.clear()
    assert client.post("/profile", data={"name": "deploybot"}).status_code == 422
