"""A send retried with the form's one-time token is stored once: a double submit, htmx's queued resends after an
outage, a JSON client's retry."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from tests.people import page, session
from tests.unit.conftest import Join
from tests.wire import message_ids, recv, recv_chat, recv_json

NONCE = re.compile(r'id="send-nonce" name="nonce" value="([\w-]+)"')


def test_a_double_submitted_form_stores_one_message(client: TestClient) -> None:
    alice = session(client, "alice")
    nonce = NONCE.search(page(client, "/", alice))
    assert nonce is not None
    for _ in range(3):
        sent = client.post(
            "/rooms/lobby/messages",
            data={"message": "once", "nonce": nonce.group(1)},
            headers=alice,
            follow_redirects=False,
        )
        client.cookies.clear()
        assert sent.status_code == 303  # each answered as the first was
    assert message_ids(page(client, "/", alice)) == [1]


def test_queued_resends_on_the_socket_store_one_message_and_each_is_acknowledged(
    client: TestClient, join: Join
) -> None:
    alice = session(client, "alice")
    ws = join(client, headers=alice)
    watcher = join(client)
    for _ in range(3):
        ws.send_json({"message": "after the outage", "nonce": "form-token-1", "headers": {}})
    frames: list[str] = []
    while sum('id="msg-input"' in f for f in frames) < 3:  # an acknowledgement for each send (and the room's
        frames.append(recv(ws))  # people or list may change meanwhile: those frames are read past)
    ws.send_json({"message": "a new one", "nonce": "form-token-2", "headers": {}})
    while "a new one" not in frames[-1]:  # the next message marks the end of what the first sends caused
        frames.append(recv(ws))
    assert [id for f in frames for id in message_ids(f)] == [1, 2]  # stored once, then the new one
    assert message_ids(recv_chat(watcher)) == [1]
    assert message_ids(next_frame := recv_chat(watcher)) == [2] and "a new one" in next_frame


def test_a_different_text_sent_before_the_token_was_renewed_is_another_message(client: TestClient) -> None:
    with client.websocket_connect("/ws/rooms/lobby/") as bot:
        recv(bot)
        bot.send_json({"message": "first", "nonce": "n1"})
        bot.send_json({"message": "second", "nonce": "n1"})
        bot.send_json({"message": "first", "nonce": "n1"})
        bot.send_json({"message": "marker"})
        texts = [recv_json(bot)["message"] for _ in range(3)]
    assert texts == ["first", "second", "marker"]


def test_a_nonce_breaking_the_rules_is_refused(client: TestClient) -> None:
    with client.websocket_connect("/ws/rooms/lobby/") as bot:
        recv(bot)
        for bad in ("x" * 65, "tab\there", 12345, "é"):
            bot.send_json({"message": "hi", "nonce": bad})
            assert recv_json(bot)["error"] == "invalid_nonce"
