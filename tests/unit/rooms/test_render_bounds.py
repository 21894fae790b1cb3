"""A cheap request never buys an expensive answer: mention markup is bounded, renders are reused."""

from __future__ import annotations

from datetime import UTC, datetime

from chatroom.rooms.conversation import with_mentions
from chatroom.rooms.render import Fragments
from chatroom.store import Message
from chatroom.web.templating import template_environment

NOON = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def message(seq: int, text: str = "hi", room: str = "lobby") -> Message:
    return Message(room, seq, "alice", "uid-alice", text, NOON)


def test_only_the_first_ten_mentions_of_a_message_are_marked() -> None:
    html = str(with_mentions(" ".join(f"@p{n}" for n in range(12)) + " <@x>"))
    assert html.count("<mark") == 10
    assert html.endswith('data-mention="p9">@p9</mark> @p10 @p11 &lt;@x&gt;')


def test_a_message_of_666_mentions_renders_less_than_twice_its_length() -> None:
    text = " ".join(["@a"] * 666)
    fragments = Fragments(template_environment())
    plain = len(fragments.message(message(1, "a" * len(text))))
    assert len(fragments.message(message(1, text))) - plain < len(text)
