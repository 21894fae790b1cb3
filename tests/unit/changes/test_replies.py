"""Replies: a quote of the message answered, with a link to it, through every door; never a text the store lost."""

from __future__ import annotations

import io
import re

import pytest
from starlette.testclient import TestClient

from chatroom.portability import export
from chatroom.rooms.access import Access
from chatroom.settings import Settings
from tests.addresses import at, behind_proxy
from tests.people import Session, page, say, session, sign_up
from tests.unit.accounts.helpers import admin
from tests.unit.accounts.test_bots import bearer, make_bot
from tests.unit.changes.test_changes import delete, edit, item
from tests.unit.conftest import Join
from tests.wire import recv, recv_chat, recv_json

HTMX = {"hx-request": "true"}
LIVE_PAGE = {**HTMX, "hx-current-url": "http://testserver/rooms/lobby"}
pytestmark = pytest.mark.timeout(30)


def quote(html: str) -> str:
    found = re.search(r'<a class="quote quote-of-\d+".*?</a>', html, re.S)
    assert found is not None, html
    return found.group(0)


def reply(
    client: TestClient, who: Session, to: object, text: str = "a reply", room: str = "lobby", **headers: str
) -> int:
    answer = client.post(
        f"/rooms/{room}/messages",
        data={"message": text, "reply_to": str(to)},
        headers={**who, **headers},
        follow_redirects=False,
    )
    client.cookies.clear()
    return answer.status_code


def sse_replay(client: TestClient, last_event_id: str, until: str) -> str:
    with client.stream("GET", "/rooms/lobby/events", headers={"last-event-id": last_event_id}) as stream:
        seen, found = "", False
        for line in stream.iter_lines():  # up to the end of the event whose id is `until`
            seen += line + "\n"
            found = found or line == until
            if found and not line:
                return seen
    raise AssertionError(seen)


def snapshot(client: TestClient) -> str:
    with client.websocket_connect("/rooms/lobby/ws") as ws:
        return recv(ws)


def test_a_reply_over_the_htmx_socket_quotes_its_message_plainly_with_a_link(client: TestClient, join: Join) -> None:
    alice = sign_up(client, "Alice")
    say(client, "**Lunch** at _noon_? See `the plan`\nor https://example.com", who=alice)
    bob = sign_up(client, "Bob")
    at_bob, watcher = join(client, headers=bob), join(client)
    at_bob.send_json({"message": "I'm in", "reply_to": "1", "headers": {"HX-Request": "true"}})
    frames = [recv_chat(at_bob), recv_chat(at_bob)]
    accepted = next(f for f in frames if 'id="msg-input"' in f)
    assert (
        '<div id="replying" class="replying" hx-swap-oob="true"></div>' in accepted
    )  # the composer is a reply no more
    seen = recv_chat(watcher)
    assert item(seen, 2) == item(next(f for f in frames if f is not accepted), 2)
    shown = quote(item(seen, 2))
    assert 'href="/rooms/lobby?around=1#msg-1"' in shown and '<bdi class="quoted-author">Alice</bdi>' in shown
    assert "Lunch at noon? See the plan or https://example.com" in shown  # the Markdown's marks dropped
    assert "<strong>" not in shown and "<code>" not in shown and "<a href" not in shown[3:]
    assert ">I&#39;m in</p>" in item(seen, 2) or ">I'm in</p>" in item(seen, 2)


def test_a_quote_is_a_line_however_long_the_message(client: TestClient) -> None:
    alice = sign_up(client, "Alice")
    say(client, "word " * 400, who=alice)
    assert reply(client, alice, 1) == 303
    shown = quote(item(page(client, "/", alice), 2))
    excerpt = re.search(r'<span class="quoted" dir="auto">(.*?)</span>', shown)
    assert excerpt is not None and len(excerpt.group(1)) == 100 and excerpt.group(1).endswith("…")


def test_the_json_socket_and_the_api_reply_and_their_frames_carry_reply_to(client: TestClient) -> None:
    ada = admin(client)
    say(client, "status?", who=ada)
    token = make_bot(client, ada)
    with (
        client.websocket_connect("/ws/rooms/lobby/") as listener,
        client.websocket_connect("/ws/rooms/lobby/", headers=bearer(token)) as bot,
    ):
        recv(listener), recv(bot)
        bot.send_json({"message": "all green", "reply_to": 1})
        heard = recv_json(listener)
        assert (heard["type"], heard["id"], heard["reply_to"], heard["message"]) == ("chat", 2, 1, "all green")
        assert "quote" not in heard  # the id only: the client shows the message as it has it, edited or deleted since
        bot.send_json({"message": "no reply"})
        assert "reply_to" not in recv_json(listener)
        posted = client.post(
            "/api/rooms/lobby/messages", json={"message": "deployed", "reply_to": 2}, headers=bearer(token)
        )
        assert posted.status_code == 201 and posted.json()["reply_to"] == 2
        assert recv_json(listener)["reply_to"] == 2
        refused = client.post("/api/rooms/lobby/messages", json={"message": "x", "reply_to": 99}, headers=bearer(token))
        assert refused.status_code == 422 and refused.json()["error"] == "reply_not_found"


def test_the_sse_page_replies_with_a_form_post_and_its_stream_shows_the_quote(client: TestClient) -> None:
    alice = sign_up(client, "Alice")
    say(client, "anyone?", who=alice)
    answer = client.post("/rooms/lobby/messages", data={"message": "me", "reply_to": "1"}, headers={**alice, **HTMX})
    client.cookies.clear()
    assert answer.status_code == 200 and '<div id="replying" class="replying"></div>' in answer.text  # a fresh form
    assert 'class="quote quote-of-1"' in sse_replay(client, "1", "id: 2")


def test_the_menu_offers_a_reply_which_works_with_and_without_javascript(client: TestClient) -> None:
    alice = sign_up(client, "Alice")
    bob = sign_up(client, "Bob")
    say(client, "who's up for chess?", who=alice)
    menu = client.get("/rooms/lobby/messages/1/actions", headers={**bob, **HTMX}).text
    assert 'href="/rooms/lobby/messages/1/reply"' in menu
    # With htmx, from the room's live page: the composer shows whom it answers, and carries reply_to.
    composer = client.get("/rooms/lobby/messages/1/reply", headers={**bob, **LIVE_PAGE}).text
    assert composer.startswith('<div id="replying" class="replying" hx-swap-oob="true">')
    assert '<input type="hidden" name="reply_to" value="1">' in composer and "Alice" in composer
    assert 'aria-label="Cancel the reply"' in composer
    # From a page without the send form (a permalink's), htmx goes to the reply page.
    still = client.get(
        "/rooms/lobby/messages/1/reply", headers={**bob, **HTMX, "hx-current-url": "http://testserver/?around=1"}
    )
    assert still.headers["hx-redirect"] == "/rooms/lobby/messages/1/reply"
    # Without JavaScript: a page with the message, and a form that posts the reply.
    reply_page = page(client, "/rooms/lobby/messages/1/reply", bob)
    assert '<form method="post" action="/rooms/lobby/messages">' in reply_page
    assert 'name="reply_to" value="1"' in reply_page and 'name="nonce"' in reply_page and 'id="msg-1"' in reply_page
    nonce = re.search(r'name="nonce" value="([^"]+)"', reply_page)
    assert nonce is not None
    form = {"message": "me!", "reply_to": "1", "nonce": nonce.group(1)}
    for _ in range(2):  # a double submit is stored once
        sent = client.post("/rooms/lobby/messages", data=form, headers=bob, follow_redirects=False)
        client.cookies.clear()
        assert sent.status_code == 303
    shown = page(client, "/", bob)
    assert 'id="msg-3"' not in shown and 'href="/rooms/lobby?around=1#msg-1"' in item(shown, 2)


def test_a_refused_reply_is_shown_again_with_its_reason_text_and_quote(client: TestClient) -> None:
    alice = sign_up(client, "Alice")
    say(client, "hi", who=alice)
    answer = client.post("/rooms/lobby/messages", data={"message": "x" * 2001, "reply_to": "1"}, headers=alice)
    client.cookies.clear()
    assert answer.status_code == 422
    assert 'name="reply_to" value="1"' in answer.text and "x" * 2001 in answer.text


@pytest.mark.parametrize(
    ("reply_to", "code", "sentence"),
    [
        ("99", "reply_not_found", "There is no such message in this room to reply to."),
        ("1", "reply_deleted", "That message was deleted: there is nothing to reply to."),
        ("abc", "invalid_reply", "reply_to must be the id of a message of this room"),
        ("-1", "invalid_reply", "reply_to must be the id of a message of this room"),
    ],
)
def test_a_reply_to_a_message_that_cannot_be_answered_is_refused_at_every_door(
    client: TestClient, join: Join, reply_to: str, code: str, sentence: str
) -> None:
    alice = sign_up(client, "Alice")
    say(client, "soon gone", who=alice)
    say(client, "still here", who=alice)
    delete(client, alice, 1)
    assert reply(client, alice, reply_to, **HTMX) == 422
    htmx = join(client, headers=alice)
    htmx.send_json({"message": "re", "reply_to": reply_to, "headers": {"HX-Request": "true"}})
    refused = recv_chat(htmx)
    while 'id="errors"' not in refused:  # the deletion's entry may come after the snapshot
        refused = recv_chat(htmx)
    assert 'id="errors"' in refused and sentence in refused and ">re</textarea>" in refused  # the text put back
    with client.websocket_connect("/ws/rooms/lobby/", headers=alice) as ws:
        recv(ws)
        ws.send_json({"message": "re", "reply_to": int(reply_to) if reply_to.lstrip("-").isdigit() else reply_to})
        error = recv_json(ws)
    assert (error["type"], error["error"]) == ("error", code) and sentence in error["detail"]
    plain = client.post("/rooms/lobby/messages", data={"message": "re", "reply_to": reply_to}, headers=alice)
    client.cookies.clear()
    assert plain.status_code == 422 and sentence in plain.text
    assert 'id="msg-4"' not in page(client, "/", alice)  # nothing stored


def test_a_message_of_another_room_cannot_be_answered(client: TestClient) -> None:
    alice = sign_up(client, "Alice")
    for n in range(3):
        say(client, f"lobby {n}", who=alice)
    say(client, "dev 1", room="dev", who=alice)
    # The id is of the room the reply is sent to: #3 of the lobby is no message of #dev.
    assert reply(client, alice, 3, room="dev", **HTMX) == 422
    assert reply(client, alice, 1, room="dev") == 303
    assert "dev 1" in quote(item(page(client, "/rooms/dev", alice), 2))


def test_a_message_the_person_may_not_read_cannot_be_answered(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = sign_up(client, "Alice")
    say(client, "members only", who=alice)

    async def cannot_read(self: Access, person: object, room: str) -> bool:
        return False

    monkeypatch.setattr(Access, "can_read", cannot_read)
    answer = client.post("/rooms/lobby/messages", data={"message": "re", "reply_to": "1"}, headers={**alice, **HTMX})
    client.cookies.clear()
    assert answer.status_code == 422 and "There is no such message in this room to reply to." in answer.text
    assert client.get("/rooms/lobby/messages/1/reply", headers=alice).status_code == 422
    client.cookies.clear()


def test_a_quote_follows_its_message_live_and_a_deleted_text_appears_nowhere(client: TestClient, join: Join) -> None:
    alice = sign_up(client, "Alice")
    bob = sign_up(client, "Bob")
    watcher = join(client)  # the feed holds every entry from here on: its replays come from memory
    say(client, "the secret plan", who=alice)
    assert reply(client, bob, 1, "count me in") == 303
    say(client, "the secret is out", who=bob)  # no reply: its own text stays
    for _ in range(3):
        recv_chat(watcher)
    with client.websocket_connect("/ws/rooms/lobby/") as bot:
        recv(bot)
        assert edit(client, alice, 1, "the public plan") == 303
        edited = recv_chat(watcher)
        assert 'hx-swap-oob="outerHTML:.quote-of-1"' in edited and "the public plan" in quote(edited)
        assert recv_json(bot)["type"] == "edit"
        assert "the public plan" in quote(item(snapshot(client), 2))  # a snapshot: the recent messages requoted
        assert delete(client, alice, 1) == 303
        deleted = recv_chat(watcher)
        assert "Reply to a deleted message" in quote(deleted) and "plan" not in deleted
        assert recv_json(bot) == {"type": "delete", "id": 1, "room": "lobby", "seq": 5}
    views = {
        "page": page(client, "/", bob),
        "permalink": page(client, "/rooms/lobby?around=2", bob),
        "older page": client.get("/rooms/lobby/messages?before=4").text,
        "snapshot": snapshot(client),
        "sse replay from the feed": sse_replay(client, "0", "id: 5"),
        "search": page(client, "/search?q=count", bob),
        "reply page": page(client, "/rooms/lobby/messages/2/reply", bob),
    }
    with client.websocket_connect("/ws/rooms/lobby/?since=0") as resumed:
        recv(resumed)
        views["json resume"] = "".join(recv(resumed) for _ in range(5))
    assert client.portal is not None
    hub = client.app.state.chat.hub  # type: ignore[attr-defined]
    out = io.StringIO()
    client.portal.call(export, hub.store, out)
    views["export"] = out.getvalue()
    for name, view in views.items():
        assert "plan" not in view, name
        if name not in ("json resume", "export"):
            assert "Reply to a deleted message" in view, name
    assert '"reply_to":1' in views["json resume"] and '"reply_to":1' in views["export"]


def test_a_replay_from_the_store_shows_quotes_as_they_are_now(client: TestClient) -> None:
    alice = sign_up(client, "Alice")
    say(client, "draft one", who=alice)
    reply(client, alice, 1, "following up")
    edit(client, alice, 1, "final one")
    # No feed in this process: the replay reads the store's log.
    replay = sse_replay(client, "0", "id: 3")
    assert "draft" not in replay
    assert replay.count('<span class="quoted" dir="auto">final one</span>') == 2  # the reply's quote, and the edit's


def test_a_flood_of_reply_pages_is_limited_per_address(settings: Settings) -> None:
    with behind_proxy(settings) as (client, _):
        alice = sign_up(client, "Alice")
        say(client, "hi", who=alice)
        answers = [
            client.get("/rooms/lobby/messages/1/reply", headers={**alice, **at("198.51.100.7")}).status_code
            for _ in range(40)
        ]
        client.cookies.clear()
        assert answers[:30] == [200] * 30 and set(answers[30:]) == {429}


def test_a_guest_without_javascript_gets_the_menu_and_reply_pages(client: TestClient) -> None:
    say(client, "hello guests")
    guest = session(client, "visitor")
    assert 'action="/rooms/lobby/messages"' in page(client, "/rooms/lobby/messages/1/reply", guest)
    assert 'href="/rooms/lobby/messages/1/reply"' in page(client, "/rooms/lobby/messages/1/actions", guest)
