"""Edits, deletions and reactions: who may, what everyone sees live, and what every way back shows."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from chatroom.settings import Settings
from tests.addresses import at, behind_proxy
from tests.people import Session, page, say, session, sign_up
from tests.unit.accounts.helpers import accounts_of, admin
from tests.unit.conftest import Join, MakeClient
from tests.wire import recv, recv_chat, recv_json

HTMX = {"hx-request": "true"}
pytestmark = pytest.mark.timeout(30)


def item(html: str, id: int) -> str:
    found = re.search(rf'<li id="msg-{id}".*?</li>', html, re.S)
    assert found is not None, html
    return found.group(0)


def edit(client: TestClient, who: Session, id: int, text: str, room: str = "lobby") -> int:
    answer = client.post(
        f"/rooms/{room}/messages/{id}/edit", data={"message": text}, headers=who, follow_redirects=False
    )
    client.cookies.clear()
    return answer.status_code


def delete(client: TestClient, who: Session, id: int, room: str = "lobby") -> int:
    answer = client.post(f"/rooms/{room}/messages/{id}/delete", headers=who, follow_redirects=False)
    client.cookies.clear()
    return answer.status_code


def react(client: TestClient, who: Session, id: int, emoji: str, room: str = "lobby") -> int:
    answer = client.post(
        f"/rooms/{room}/messages/{id}/reactions", data={"emoji": emoji}, headers=who, follow_redirects=False
    )
    client.cookies.clear()
    return answer.status_code


def test_an_author_edits_their_message_live_for_everyone(client: TestClient, join: Join) -> None:
    alice = sign_up(client, "Alice")
    say(client, "helo", who=alice)
    watcher = join(client)
    with client.websocket_connect("/ws/rooms/lobby/") as bot:
        recv(bot)
        assert edit(client, alice, 1, "hello") == 303
        frame = recv_chat(watcher)
        assert frame.startswith('<li id="msg-1"') and 'hx-swap-oob="true"' in frame
        assert ">hello</p>" in frame and "(edited)" in frame
        edited = recv_json(bot)
        assert edited.pop("sent_at").endswith("Z")
        assert edited == {
            "type": "edit",
            "id": 1,
            "room": "lobby",
            "seq": 2,
            "message": "hello",
            "author": "Alice",
            "guest": False,
            "bot": False,
            "edited": True,
        }
    assert "hello" in item(page(client, "/", alice), 1) and "(edited)" in item(page(client, "/", alice), 1)


def test_the_json_protocol_hears_every_kind_of_change(client: TestClient) -> None:
    alice = sign_up(client, "Alice")
    say(client, "first", who=alice)
    with client.websocket_connect("/ws/rooms/lobby/") as bot:
        recv(bot)
        edit(client, alice, 1, "first, edited")
        edited = recv_json(bot)
        assert (edited["type"], edited["id"], edited["message"], edited["edited"]) == ("edit", 1, "first, edited", True)
        react(client, alice, 1, "🎉")
        assert recv_json(bot) == {"type": "reactions", "id": 1, "room": "lobby", "seq": 3, "reactions": {"🎉": 1}}
        react(client, alice, 1, "🎉")
        assert recv_json(bot) == {"type": "reactions", "id": 1, "room": "lobby", "seq": 4, "reactions": {}}
        delete(client, alice, 1)
        assert recv_json(bot) == {"type": "delete", "id": 1, "room": "lobby", "seq": 5}


def test_only_the_author_edits_and_only_the_author_or_a_moderator_deletes(client: TestClient) -> None:
    alice = sign_up(client, "Alice")
    bob = sign_up(client, "Bob")
    guest = session(client, "visitor")
    say(client, "alice's", who=alice)
    for who in (bob, guest):
        assert edit(client, who, 1, "hijacked") == 403
        assert delete(client, who, 1) == 403
    ada = admin(client)
    assert edit(client, ada, 1, "hijacked") == 403  # an administrator deletes, but does not put words in mouths
    assert delete(client, ada, 1) == 303
    assert "alice's" not in page(client, "/", alice)


def test_bad_changes_are_refused_with_a_reason(client: TestClient) -> None:
    alice = sign_up(client, "Alice")
    say(client, "hi", who=alice)
    assert edit(client, alice, 1, "   ") == 422
    assert edit(client, alice, 1, "x" * 2001) == 422
    assert edit(client, alice, 99, "nothing there") == 404
    assert client.post("/rooms/lobby/messages/abc/edit", data={"message": "x"}, headers=alice).status_code == 422
    client.cookies.clear()
    assert react(client, alice, 1, "not an emoji") == 422
    assert react(client, alice, 1, "<b>") == 422
    assert react(client, alice, 99, "👍") == 404
    forged = client.post(
        "/rooms/lobby/messages/1/delete", headers={**alice, "origin": "https://evil.example"}, follow_redirects=False
    )
    assert forged.status_code == 403


def test_a_message_has_at_most_twenty_different_reactions(make_client: MakeClient) -> None:
    client = make_client(rate_limit_burst=100)
    alice = sign_up(client, "Alice")
    say(client, "react to me", who=alice)
    animals = [chr(0x1F400 + n) for n in range(21)]
    assert [react(client, alice, 1, a) for a in animals[:20]] == [303] * 20
    assert react(client, alice, 1, animals[20]) == 422
    assert react(client, alice, 1, animals[0]) == 303  # taking one back is always allowed


def test_a_deleted_text_is_gone_from_the_store_and_every_way_back(client: TestClient, join: Join) -> None:
    alice = sign_up(client, "Alice")
    say(client, "a secret I regret", who=alice)
    say(client, "fine", who=alice)
    watcher = join(client)
    delete(client, alice, 1)
    frame = recv_chat(watcher)
    assert frame.startswith('<li id="msg-1"') and "This message was deleted." in frame and "secret" not in frame
    assert client.portal is not None
    hub = client.app.state.chat.hub  # type: ignore[attr-defined]
    stored = client.portal.call(hub.message, "lobby", 1)
    assert stored.text == "" and stored.deleted
    views = [
        page(client, "/", alice),
        page(client, "/rooms/lobby?around=1", alice),
        client.get("/rooms/lobby/messages?before=3").text,
    ]
    with client.stream("GET", "/rooms/lobby/events", headers={"last-event-id": "0"}) as stream:
        replay = ""
        for line in stream.iter_lines():  # up to the deletion's entry, the log's last
            replay += line
            if line == "id: 3":
                break
    views.append(replay)
    for view in views:
        assert "secret" not in view
    assert "This message was deleted." in views[0]


def test_a_snapshot_and_a_replay_show_the_current_state(client: TestClient, join: Join) -> None:
    alice = sign_up(client, "Alice")
    for text in ("one", "two", "three"):
        say(client, text, who=alice)
    edit(client, alice, 2, "two, better")
    react(client, alice, 3, "👍")
    delete(client, alice, 1)
    with client.websocket_connect("/rooms/lobby/ws") as ws:
        snapshot = recv(ws)
    assert "two, better" in item(snapshot, 2) and "👍" in item(snapshot, 3).replace("&#x1F44D;", "👍")
    assert "This message was deleted." in item(snapshot, 1)
    with client.websocket_connect("/ws/rooms/lobby/?since=3") as resumed:
        assert recv_json(resumed)["type"] == "connection_established"
        kinds = [recv_json(resumed) for _ in range(3)]
    assert [(k["type"], k["id"]) for k in kinds] == [("edit", 2), ("reactions", 3), ("delete", 1)]


def test_a_since_older_than_kept_or_not_a_number_gets_a_reset_and_the_latest(client: TestClient) -> None:
    alice = sign_up(client, "Alice")
    say(client, "only", who=alice)
    for since in ("banana", "-1", "99999"):
        with client.websocket_connect(f"/ws/rooms/lobby/?since={since}") as ws:
            assert recv_json(ws)["type"] == "connection_established"
            assert recv_json(ws) == {"type": "reset"}
            assert recv_json(ws)["message"] == "only"


def test_a_bot_that_keeps_its_last_seq_misses_nothing_across_reconnects(client: TestClient) -> None:
    alice = sign_up(client, "Alice")
    say(client, "before", who=alice)
    with client.websocket_connect("/ws/rooms/lobby/?since=0") as bot:
        recv(bot)
        last = recv_json(bot)["id"]
    say(client, "while away 1", who=alice)
    edit(client, alice, 1, "before, edited")
    say(client, "while away 2", who=alice)
    with client.websocket_connect(f"/ws/rooms/lobby/?since={last}") as bot:
        recv(bot)
        seen = [recv_json(bot) for _ in range(3)]
    assert [(s["type"], s.get("message")) for s in seen] == [
        ("chat", "while away 1"),
        ("edit", "before, edited"),
        ("chat", "while away 2"),
    ]


def test_an_htmx_change_answers_with_the_new_item_for_a_still_page(client: TestClient) -> None:
    alice = sign_up(client, "Alice")
    say(client, "hi", who=alice)
    answer = client.post("/rooms/lobby/messages/1/reactions", data={"emoji": "👍"}, headers={**alice, **HTMX})
    assert (
        answer.status_code == 200 and answer.text.startswith('<li id="msg-1"') and 'hx-swap-oob="true"' in answer.text
    )


def test_the_menu_offers_edit_and_delete_to_whom_they_belong(client: TestClient) -> None:
    alice = sign_up(client, "Alice")
    bob = sign_up(client, "Bob")
    say(client, "hi", who=alice)
    mine = client.get("/rooms/lobby/messages/1/actions", headers={**alice, **HTMX}).text
    client.cookies.clear()
    theirs = client.get("/rooms/lobby/messages/1/actions", headers={**bob, **HTMX}).text
    client.cookies.clear()
    assert "/edit" in mine and "/delete" in mine
    assert "/edit" not in theirs and "/delete" not in theirs and "/reactions" in theirs
    edit_page = client.get("/rooms/lobby/messages/1/edit", headers=alice)
    assert edit_page.status_code == 200 and ">hi</textarea>" in edit_page.text
    client.cookies.clear()
    assert client.get("/rooms/lobby/messages/1/edit", headers=bob).status_code == 403
    assert accounts_of(client) is not None


def test_a_place_in_another_log_gets_a_reset(client: TestClient) -> None:
    alice = sign_up(client, "Alice")
    say(client, "one", who=alice)
    with client.websocket_connect("/ws/rooms/lobby/") as ws:
        epoch = recv_json(ws)["epoch"]
    say(client, "two", who=alice)
    with client.websocket_connect(f"/ws/rooms/lobby/?since=1&epoch={epoch}") as ws:
        recv(ws)
        assert recv_json(ws)["message"] == "two"  # the same log: the replay
    with client.websocket_connect("/ws/rooms/lobby/?since=1&epoch=0123456789abcdef") as ws:
        recv(ws)
        assert recv_json(ws) == {"type": "reset"}  # a restored or replaced database's place: start again
        assert [recv_json(ws)["message"] for _ in range(2)] == ["one", "two"]


def test_a_flood_of_menu_and_edit_page_reads_is_limited_per_address(settings: Settings) -> None:
    with behind_proxy(settings) as (client, _):
        alice = sign_up(client, "Alice")
        say(client, "hi", who=alice)
        answers = [
            client.get(f"/rooms/lobby/messages/1/{page}", headers={**alice, **at("198.51.100.7")}).status_code
            for page in ("actions", "edit") * 20
        ]
        client.cookies.clear()
        assert answers[:30] == [200] * 30 and set(answers[30:]) == {429}
        other = client.get("/rooms/lobby/messages/1/actions", headers={**alice, **at("198.51.100.8")})
        assert other.status_code == 200
