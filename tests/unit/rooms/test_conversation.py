"""Messages read like a conversation: groups, day breaks, permalinks and mentions, rendered once for all."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from starlette.testclient import TestClient

from chatroom.rooms.conversation import continues, css_string, starts_day, with_mentions
from chatroom.rooms.render import Fragments
from chatroom.store import Message
from chatroom.web.templating import template_environment
from tests.people import page, session
from tests.unit.conftest import Join, MakeClient
from tests.wire import message_ids, recv, send_message

pytestmark = pytest.mark.timeout(60)

NOON = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def message(seq: int, author: str = "alice", at: datetime = NOON, text: str = "hi") -> Message:
    return Message("lobby", seq, author, f"uid-{author}", text, at)


def item(html: str, seq: int) -> str:
    found = re.search(rf'<li id="msg-{seq}".*?</li>', html, re.S)
    assert found, f"no msg-{seq} in {html!r}"
    return found.group(0)


def test_one_authors_messages_within_five_minutes_are_grouped() -> None:
    first = message(1)
    assert continues(first, message(2, at=NOON + timedelta(minutes=5)))
    assert not continues(first, message(2, at=NOON + timedelta(minutes=5, seconds=1)))
    assert not continues(first, message(2, author="bob"))
    assert not continues(None, first)
    renamed = Message("lobby", 2, "alicia", "uid-alice", "hi", NOON)
    assert not continues(first, renamed), "a new name starts a new group, so it is shown"


def test_a_day_break_comes_before_the_first_message_of_each_day() -> None:
    late = message(1, at=datetime(2026, 11, 23, 23, 58, tzinfo=UTC))
    early = message(2, at=datetime(2026, 11, 24, 0, 1, tzinfo=UTC))
    assert starts_day(None, late) and starts_day(late, early)
    assert not continues(late, early), "a group never spans midnight"
    html = Fragments(template_environment()).message(early, late)
    assert '<p class="day" role="separator"><time datetime="2026-11-24">Tuesday, 24 November 2026</time></p>' in html


def test_the_item_says_whether_it_continues_a_group() -> None:
    fragments = Fragments(template_environment())
    assert 'class="msg cont"' in fragments.message(message(2), message(1))
    assert 'class="msg"' in fragments.message(message(2, author="bob"), message(1))


def test_live_messages_are_grouped_and_rendered_like_the_page(client: TestClient, join: Join) -> None:
    alice = session(client, "alice")
    ws = join(client, headers=alice)
    for text in ("one", "two"):
        send_message(ws, text)
    frames = "".join(recv(ws) for _ in range(4))
    assert message_ids(frames) == [1, 2]
    assert 'class="msg new-day"' in item(frames, 1)
    assert 'class="msg cont"' in item(frames, 2)
    html = page(client, "/rooms/lobby", alice)
    assert item(html, 1) == item(frames, 1) and item(html, 2) == item(frames, 2), "the same partial everywhere"


def test_grouping_holds_at_the_edge_of_a_history_page(make_client: MakeClient) -> None:
    client = make_client(history_limit=3)
    alice = session(client, "alice")
    for n in range(1, 8):
        client.post("/rooms/lobby/messages", data={"message": f"m{n}"}, headers=alice)
    client.cookies.clear()
    latest = page(client, "/rooms/lobby", alice)
    assert message_ids(latest) == [5, 6, 7]
    assert 'class="msg cont"' in item(latest, 5), "the oldest shown still knows the one before it"
    older = client.get("/rooms/lobby/messages?before=5").text
    assert message_ids(older) == [2, 3, 4] and 'class="msg cont"' in item(older, 2)
    with client.websocket_connect("/rooms/lobby/ws") as ws:
        assert item(recv(ws), 5) == item(latest, 5)


def test_each_message_links_to_itself(client: TestClient, join: Join) -> None:
    ws = join(client)
    send_message(ws, "link me")
    frames = recv(ws) + recv(ws)
    assert 'href="/rooms/lobby?around=1#msg-1"' in item(frames, 1)


def test_a_permalink_opens_a_still_page_around_the_message(make_client: MakeClient) -> None:
    client = make_client(history_limit=10, rate_limit_burst=1000)
    for n in range(1, 101):
        client.post("/rooms/lobby/messages", data={"message": f"m{n}"})
    html = client.get("/rooms/lobby?around=40").text
    assert message_ids(html) == list(range(35, 45))
    assert "hx-ws:connect" not in html, "a live snapshot would replace it with the latest messages"
    assert 'href="/rooms/lobby"' in html and "?before=35" in html
    assert message_ids(client.get("/rooms/lobby?around=99").text) == list(range(91, 101)), "a full page near the end"
    assert message_ids(client.get("/rooms/lobby?around=2").text) == list(range(1, 11))
    assert client.get("/rooms/lobby?around=zero").status_code == 422


def test_mentions_are_marked_and_the_text_escaped() -> None:
    html = str(with_mentions('hi @bob, @Ann-Marie. mail a@b.c <b>@x"y</b> @@no'))
    assert html == (
        'hi <mark class="mention" data-mention="bob">@bob</mark>, '
        '<mark class="mention" data-mention="Ann-Marie">@Ann-Marie</mark>. mail a@b.c '
        '&lt;b&gt;<mark class="mention" data-mention="x">@x</mark>&#34;y&lt;/b&gt; @@no'
    )


def test_a_mention_of_me_is_highlighted_by_my_own_style(client: TestClient, join: Join) -> None:
    bob = session(client, "bob")
    ws = join(client)
    send_message(ws, "ping @bob")
    frames = recv(ws) + recv(ws)
    assert '<mark class="mention" data-mention="bob">@bob</mark>' in frames
    assert '.mention[data-mention="bob" i]' in page(client, "/rooms/lobby", bob)


def test_names_in_the_style_cannot_break_out_of_it(client: TestClient) -> None:
    evil = session(client, 'x"] {} </style><script>alert(1)</script>')
    style = page(client, "/rooms/lobby", evil).split("<style>")[-1].split("</style>")[0]
    assert "<" not in style and 'x"]' not in style
    assert css_string('a"b\\c</style>') == "a\\22 b\\5c c\\3c \\2f style\\3e "


def test_a_name_in_the_style_is_css_escaped_character_by_character(client: TestClient) -> None:
    zoe = session(client, 'Zoë "\\ </style>')
    style = page(client, "/rooms/lobby", zoe).split("<style>")[-1].split("</style>")[0]
    assert r'.mention[data-mention="Zo\eb \20 \22 \5c \20 \3c \2f style\3e " i]' in style
    assert css_string("new\nline") == r"new\a line", "a newline cannot end the string either"
