"""The bus event codec: what one process tells the others about a room."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from chatroom.bus import MAX_INLINE_BYTES, RESYNC, decode, encode_membership, encode_message
from chatroom.store import EDIT, Message, Quote


def message(text: str) -> Message:
    return Message("lobby", 5, "ann", "u1", text, datetime(2026, 11, 23, 12, 0, 0, 123456, tzinfo=UTC))


def test_events_round_trip() -> None:
    event = decode(encode_message(message("hi ✓")))
    assert event is not None and event.type == "message" and event.message == message("hi ✓")


def test_a_big_message_travels_by_reference_under_notify_limits() -> None:
    raw = encode_message(message("€" * 2000 + '"' * 2000))
    assert len(raw.encode()) < MAX_INLINE_BYTES < 8000
    event = decode(raw)
    assert event is not None and (event.type, event.seq, event.message) == ("message", 5, None)


def test_a_reply_travels_by_reference_so_its_quote_is_read_as_it_is_then() -> None:
    reply = replace(message("me too"), reply_to=2, quote=Quote(2, "bob", "u2", "an old text"))
    event = decode(encode_message(reply))
    assert event is not None and (event.type, event.seq, event.message) == ("message", 5, None)
    assert "old text" not in encode_message(replace(reply, kind=EDIT, target=3))


@pytest.mark.parametrize("raw", ["", "nonsense", "[]", '{"v": 2, "type": "message"}', '{"v": 1, "type": "x"}'])
def test_unknown_events_are_ignored(raw: str) -> None:
    assert decode(raw) is None


def test_resync_decodes() -> None:
    event = decode(RESYNC)
    assert event is not None and event.type == "resync"


def test_membership_events_round_trip() -> None:
    added = decode(encode_membership("_0123456789abcdef", "a" + "1" * 16, ""))
    assert added is not None and (added.type, added.room, added.uid, added.removed) == (
        "membership",
        "_0123456789abcdef",
        "a" + "1" * 16,
        "",
    )
    left = decode(encode_membership("_0123456789abcdef", "", "a" + "2" * 16))
    assert left is not None and (left.uid, left.removed) == ("", "a" + "2" * 16)
    activity = decode('{"v": 1, "type": "activity", "room": "_0123456789abcdef"}')
    assert activity is not None and (activity.type, activity.room) == ("activity", "_0123456789abcdef")
