"""Personal answers are never cached; a request for another host name (DNS rebinding) is refused."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from chatroom.app import create_app
from chatroom.errors import SettingsError
from chatroom.settings import Settings
from chatroom.web.hosts import REFUSAL
from tests.unit.conftest import MakeClient
from tests.wire import recv_json

NO_STORE = "private, no-store"
HX = {"hx-request": "true"}


def test_pages_fragments_and_form_answers_may_not_be_stored_but_static_files_may(client: TestClient) -> None:
    answers = [
        client.get("/"),
        client.get("/rooms/lobby?transport=sse"),
        client.get("/rooms/lobby/messages?before=5"),
        client.post("/rooms/lobby/messages", data={"message": "hi"}, headers=HX),
        client.post("/profile", data={"name": ""}),
        client.get("/rooms/Not-A-Room"),
        client.get("/healthz"),
    ]
    assert [a.headers.get("cache-control") for a in answers] == [NO_STORE] * len(answers)
    redirect = client.post("/profile", data={"name": "ann"}, follow_redirects=False)
    assert redirect.status_code == 303 and redirect.headers["cache-control"] == NO_STORE
    htmx = next(line.split('"')[1] for line in answers[0].text.splitlines() if "htmx.min.js" in line)
    assert client.get(htmx).headers["cache-control"] == "public, max-age=31536000, immutable"
    assert "cache-control" not in client.get("/static/base.css").headers


def test_by_default_a_loopback_server_answers_only_to_loopback_names_and_others_to_any(
    settings: Settings, client: TestClient
) -> None:
    assert client.get("/", headers={"host": "chat.example.com"}).status_code == 200
    with TestClient(create_app(settings), base_url="http://127.0.0.1:8000") as local:
        assert local.get("/").status_code == 200
        assert local.get("/", headers={"host": "localhost:8000"}).status_code == 200
        assert local.get("/", headers={"host": "[::1]:8000"}).status_code == 200
        rebound = local.get("/rooms/lobby", headers={"host": "attacker.example:8000"})
        assert rebound.status_code == 400 and rebound.text == REFUSAL
        assert rebound.headers["x-content-type-options"] == "nosniff"
        assert local.get("/healthz", headers={"host": "10.1.2.3:8000"}).status_code == 200


def test_allowed_hosts_are_the_only_names_answered_over_http_and_websockets(make_client: MakeClient) -> None:
    client = make_client(allowed_hosts=("chat.example.com", "*.chat.example.com"))
    assert client.get("/", headers={"host": "chat.example.com"}).status_code == 200
    assert client.get("/", headers={"host": "eu.chat.example.com:443"}).status_code == 200
    assert client.get("/").status_code == 400, "testserver is not allowed"
    assert client.get("/", headers={"host": "evilchat.example.com"}).status_code == 400
    for path in ("/rooms/lobby/ws", "/ws/socket-server/", "/ws/rooms/lobby/", "/no-such-socket"):
        with pytest.raises(WebSocketDisconnect) as refused:
            client.websocket_connect(path).__enter__()
        assert refused.value.code == 1008, "closed before accept: the server answers the handshake with 403"
    with client.websocket_connect("/ws/socket-server/", headers={"host": "chat.example.com"}) as ws:
        assert recv_json(ws)["type"] == "connection_established"


def test_allowed_hosts_is_a_list_of_names() -> None:
    env = {"SECRET_KEY": "k", "ALLOWED_HOSTS": "Chat.example.com, *.example.org,[::1]"}
    assert Settings.from_env(env, env_file="-").allowed_hosts == ("chat.example.com", "*.example.org", "::1")
    with pytest.raises(SettingsError, match=r"ALLOWED_HOSTS .* got 'https://chat.example.com'"):
        Settings.from_env({"ALLOWED_HOSTS": "https://chat.example.com"}, env_file="-")
