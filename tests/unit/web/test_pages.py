"""The HTTP side: the room page, its forms, history pages, assets, health and failures."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from chatroom.app import create_app
from chatroom.errors import StoreUnavailable
from chatroom.settings import Settings
from tests.inprocess import hub_of
from tests.unit.conftest import Join, MakeClient
from tests.wire import marker, message_ids, recv

ROOT = Path(__file__).resolve().parent.parent
HX = {"HX-Request": "true"}


def say(client: TestClient, text: str, room: str = "lobby") -> None:
    assert client.post(f"/rooms/{room}/messages", data={"message": text}, follow_redirects=False).status_code == 303


def test_the_lobby_is_at_the_root_with_everything_a_room_needs(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    html = page.text
    assert "<h1>#lobby</h1>" in html
    assert 'hx-ws:connect="/rooms/lobby/ws?from=1"' in html, "the snapshot starts at the page's first message"
    assert '<ul id="messages"' in html and '<div id="heard" class="visually-hidden" aria-live="polite">' in html
    assert '<div id="errors"' in html
    assert len(re.findall(r'<(?:input|textarea)[^>]* name="message"', html)) == 1
    assert '<label for="msg-input"' in html
    assert 'href="/rooms/lobby"' in html, "the lobby is in the room list"
    assert 'action="/rooms"' in html


def test_root_and_rooms_lobby_are_the_same_room(client: TestClient) -> None:
    say(client, "same")
    for path in ("/", "/rooms/lobby"):
        assert message_ids(client.get(path).text) == [1]


def test_a_first_visit_gets_a_guest_name_that_sticks(client: TestClient) -> None:
    first = client.get("/")
    name = re.search(r'id="display-name" name="name" value="(guest-\d+)"', first.text)
    assert name and "chatroom" in first.cookies
    assert f'value="{name.group(1)}"' in client.get("/rooms/other").text


@pytest.mark.parametrize("name", ["Upper", "has space", "x" * 51, "dots.no", "", "%3Cscript%3E"])
def test_an_invalid_room_name_is_a_404_that_says_why(client: TestClient, name: str) -> None:
    page = client.get(f"/rooms/{name}")
    assert page.status_code in (404, 405) if name == "" else page.status_code == 404
    if name:
        assert "lowercase letter, a digit" in page.text


def test_creating_a_room_redirects_to_it_and_lists_it(client: TestClient) -> None:
    created = client.post("/rooms", data={"name": "team-42_x"}, follow_redirects=False)
    assert (created.status_code, created.headers["location"]) == (303, "/rooms/team-42_x")
    assert 'href="/rooms/team-42_x"' in client.get("/").text


@pytest.mark.parametrize("name", ["Bad Name", "", "x" * 51, "<b>"])
def test_an_invalid_new_room_gets_422_and_the_form_with_the_reason(client: TestClient, name: str) -> None:
    page = client.post("/rooms", data={"name": name, "from": "/rooms/here"})
    assert page.status_code == 422
    assert "A room name is 1 to 50 characters" in page.text
    assert "<h1>#here</h1>" in page.text, "the person stays in the room they were in"
    assert "<b>" not in page.text


def test_the_display_name_can_change(client: TestClient) -> None:
    client.get("/")
    changed = client.post("/profile", data={"name": "  Ada Lovelace ", "next": "/rooms/math"}, follow_redirects=False)
    assert (changed.status_code, changed.headers["location"]) == (303, "/rooms/math")
    assert 'value="Ada Lovelace"' in client.get("/").text


@pytest.mark.parametrize("name", ["", "    ", "x" * 33, "tab\there", "nul\x00"])
def test_an_invalid_display_name_gets_422_with_the_reason(client: TestClient, name: str) -> None:
    page = client.post("/profile", data={"name": name, "next": "/rooms/math"})
    assert page.status_code == 422
    assert "display name" in page.text and "<h1>#math</h1>" in page.text


@pytest.mark.parametrize("next_url", ["//evil.example", "https://evil.example/", "/rooms/../x", "javascript:x"])
def test_profile_only_redirects_within_the_site(client: TestClient, next_url: str) -> None:
    changed = client.post("/profile", data={"name": "ok", "next": next_url}, follow_redirects=False)
    assert changed.headers["location"] == "/"


def test_a_plain_form_post_stores_and_redirects_back(client: TestClient) -> None:
    sent = client.post("/rooms/plain/messages", data={"message": "no javascript"}, follow_redirects=False)
    assert (sent.status_code, sent.headers["location"]) == (303, "/rooms/plain")
    assert '<div class="text" dir="auto"><p>no javascript</p></div>' in client.get("/rooms/plain").text


def test_a_plain_form_post_refused_keeps_the_text(make_client: MakeClient) -> None:
    client = make_client(max_message_length=5)
    page = client.post("/rooms/plain/messages", data={"message": "too <long>"})
    assert page.status_code == 422
    assert "at most 5 characters" in page.text
    assert ">too &lt;long&gt;</textarea>" in page.text


def test_an_htmx_post_gets_a_fresh_form_and_clears_errors(client: TestClient, join: Join) -> None:
    ws = join(client, "sse")
    sent = client.post("/rooms/sse/messages", data={"message": "via htmx"}, headers=HX)
    assert sent.status_code == 200
    assert sent.text.startswith('<form id="send-form"')
    assert 'hx-post="/rooms/sse/messages"' in sent.text
    assert re.search(r'<textarea id="msg-input" class="fresh" name="message"[^>]*autofocus[^>]*></textarea>', sent.text)
    assert '<div id="errors" class="errors" role="alert" hx-swap-oob="true"></div>' in sent.text
    assert "via htmx" in recv(ws)


def test_an_htmx_post_refused_gets_the_reason_for_errors(make_client: MakeClient) -> None:
    client = make_client(max_message_length=5, rate_limit_per_second=0.001, rate_limit_burst=1)
    too_long = client.post("/rooms/r/messages", data={"message": "123456"}, headers=HX)
    assert too_long.status_code == 422
    assert too_long.text.startswith('<div id="errors"') and "at most 5 characters" in too_long.text
    assert client.post("/rooms/r/messages", data={"message": "ok"}, headers=HX).status_code == 200
    limited = client.post("/rooms/r/messages", data={"message": "again"}, headers=HX)
    assert limited.status_code == 429 and "too fast" in limited.text


def test_a_blank_post_stores_nothing(client: TestClient) -> None:
    say(client, "   ")
    assert message_ids(client.get("/").text) == []


def test_a_post_from_another_site_is_refused(client: TestClient) -> None:
    sent = client.post("/rooms/lobby/messages", data={"message": "csrf"}, headers={"origin": "https://evil.example"})
    assert sent.status_code == 403
    assert message_ids(client.get("/").text) == []


def test_load_older_pages_back_through_the_whole_history(make_client: MakeClient) -> None:
    client = make_client(history_limit=3)
    for n in range(1, 8):
        say(client, f"m{n}")
    page = client.get("/").text
    assert message_ids(page) == [5, 6, 7]
    assert 'hx-get="/rooms/lobby/messages?before=5"' in page
    older = client.get("/rooms/lobby/messages?before=5")
    assert message_ids(older.text) == [2, 3, 4]
    assert older.text.startswith('<li class="older">') and "?before=2" in older.text
    oldest = client.get("/rooms/lobby/messages?before=2").text
    assert message_ids(oldest) == [1] and "older" not in oldest


@pytest.mark.parametrize("before", ["", "x", "0", "-1", "1.5", "9" * 30])
def test_load_older_needs_a_positive_seq(client: TestClient, before: str) -> None:
    answer = client.get(f"/rooms/lobby/messages?before={before}")
    assert answer.status_code == 422 and "positive whole number" in answer.text


def test_older_messages_have_a_page_without_javascript(make_client: MakeClient) -> None:
    client = make_client(history_limit=2)
    for n in range(1, 6):
        say(client, f"m{n}")
    archive = client.get("/rooms/lobby?before=4").text
    assert message_ids(archive) == [2, 3]
    assert "hx-ws:connect" not in archive, "an archive page does not go live (a snapshot would replace it)"
    assert 'href="/rooms/lobby"' in archive


def test_the_sse_page_uses_the_event_stream_and_posts(client: TestClient) -> None:
    html = client.get("/rooms/lobby?transport=sse").text
    assert 'hx-sse:connect="/rooms/lobby/events"' in html and "hx-ws:connect" not in html
    assert 'hx-post="/rooms/lobby/messages"' in html and 'hx-status:4xx="target:#errors' in html
    assert 'href="/rooms/lobby"' in html


def test_history_is_escaped_in_the_page(client: TestClient) -> None:
    client.post("/profile", data={"name": "<i>eve</i>"})
    say(client, "<script>alert(1)</script>{{ 1 + 1 }}")
    html = client.get("/").text
    assert "<script>alert" not in html and "<i>eve" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;{{ 1 + 1 }}" in html


def test_a_store_failure_is_reported_and_nothing_is_shown(
    client: TestClient, join: Join, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob = join(client), join(client)

    async def fail(*args: object, **kwargs: object) -> None:
        raise StoreUnavailable("disk full")

    store = hub_of(client).store
    append = store.append
    monkeypatch.setattr(store, "append", fail)
    alice.send_json({"message": "lost?"})
    assert "could not be saved, so it was not sent" in recv(alice)
    htmx = client.post("/rooms/lobby/messages", data={"message": "lost?"}, headers=HX)
    assert htmx.status_code == 503 and "could not be saved" in htmx.text
    plain = client.post("/rooms/lobby/messages", data={"message": "lost?"})
    assert plain.status_code == 503 and plain.headers["retry-after"] == "5"
    monkeypatch.setattr(store, "append", append)  # the disk has room again
    marker(alice, bob)


def test_a_page_says_so_when_the_store_is_down(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    async def fail(*args: object) -> None:
        raise StoreUnavailable("connection refused")

    monkeypatch.setattr(hub_of(client).store, "rooms", fail)
    page = client.get("/rooms/elsewhere")
    assert page.status_code == 503
    assert "not answering right now" in page.text


def test_history_survives_a_restart(settings: Settings) -> None:
    with TestClient(create_app(settings)) as first:
        say(first, "before the restart")
    with TestClient(create_app(settings)) as second:
        assert message_ids(second.get("/").text) == [1]
        say(second, "after")
        assert message_ids(second.get("/").text) == [1, 2]


def test_sessions_survive_a_restart_with_the_generated_secret(tmp_path: Path) -> None:
    env = {"DATA_DIR": str(tmp_path)}
    with TestClient(create_app(Settings.from_env(env))) as first:
        first.post("/profile", data={"name": "kept"})
        cookies = dict(first.cookies)
    with TestClient(create_app(Settings.from_env(env)), cookies=cookies) as second:
        assert 'value="kept"' in second.get("/").text
