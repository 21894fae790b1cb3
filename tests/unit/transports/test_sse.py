"""Server-Sent Events, /rooms/{room}/events: the same fragments, resumable with Last-Event-ID."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from chatroom.rooms import starts
from tests.unit.conftest import MakeClient
from tests.wire import message_ids

pytestmark = pytest.mark.timeout(20)  # a stream that never sends what we wait for fails, not hangs


def events(client: TestClient, room: str = "lobby", last_event_id: str | None = None) -> Iterator[dict[str, str]]:
    headers = {"last-event-id": last_event_id} if last_event_id is not None else {}
    with client.stream("GET", f"/rooms/{room}/events", headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        event: dict[str, str] = {}
        for line in response.iter_lines():
            if not line:
                if event:
                    yield event
                event = {}
            elif not line.startswith(":"):
                field, _, value = line.partition(":")
                value = value.removeprefix(" ")
                event[field] = event[field] + "\n" + value if field in event else value


def say(client: TestClient, text: str, room: str = "lobby") -> None:
    assert client.post(f"/rooms/{room}/messages", data={"message": text}, follow_redirects=False).status_code == 303


def test_a_new_stream_starts_with_the_snapshot(client: TestClient) -> None:
    say(client, "one")
    say(client, "two")
    first = next(events(client))
    assert first["id"] == "2"
    assert first["data"].startswith('<ul id="messages"')
    assert message_ids(first["data"]) == [1, 2]


def test_each_message_is_an_unnamed_event_with_its_seq_as_id(client: TestClient) -> None:
    stream = events(client)
    assert next(stream)["id"] == "0"
    say(client, "live <i>one</i>\nsecond line")
    event = next(stream)
    assert "event" not in event, "named events are not swapped by htmx"
    assert event["id"] == "1"
    assert event["data"].startswith('<div hx-swap-oob="beforeend:#messages"><li id="msg-1"')
    assert "live &lt;i&gt;one&lt;/i&gt;<br>\nsecond line" in event["data"]


def resumed(client: TestClient, last_event_id: str, room: str = "lobby") -> Iterator[dict[str, str]]:
    """A stream resumed after `last_event_id`, past its first event: the room's people as they are now."""
    stream = events(client, room, last_event_id)
    people = next(stream)
    assert "id" not in people and 'id="members"' in people["data"] and 'id="room-list"' in people["data"]
    return stream


def test_last_event_id_replays_what_was_missed(client: TestClient) -> None:
    for n in range(5):
        say(client, f"m{n}")
    stream = resumed(client, "2")
    assert [next(stream)["id"] for _ in range(3)] == ["3", "4", "5"]
    say(client, "after")
    assert next(stream)["id"] == "6"


def test_last_event_id_beyond_the_recent_messages_replays_from_the_store(make_client: MakeClient) -> None:
    client = make_client(history_limit=2)
    for n in range(6):
        say(client, f"m{n}")
    stream = resumed(client, "1")
    assert [next(stream)["id"] for _ in range(5)] == ["2", "3", "4", "5", "6"]


def test_last_event_id_at_the_end_replays_nothing(client: TestClient) -> None:
    say(client, "m")
    stream = resumed(client, "1")
    say(client, "next")
    assert next(stream)["id"] == "2"


@pytest.mark.parametrize("last_event_id", ["99", "abc", "-1", "1e3", "9" * 30])
def test_an_unknown_last_event_id_gets_the_snapshot(client: TestClient, last_event_id: str) -> None:
    say(client, "m")
    first = next(events(client, last_event_id=last_event_id))
    assert first["data"].startswith('<ul id="messages"') and first["id"] == "1"


def test_a_last_event_id_too_far_behind_gets_the_snapshot(
    make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(starts, "REPLAY_LIMIT", 3)
    client = make_client(history_limit=2)
    for n in range(6):
        say(client, f"m{n}")
    first = next(events(client, last_event_id="1"))
    assert first["data"].startswith('<ul id="messages"')
    assert (first["id"], message_ids(first["data"])) == ("6", [5, 6])


def test_an_invalid_room_is_404(client: TestClient) -> None:
    assert client.get("/rooms/UPPER/events").status_code == 404
