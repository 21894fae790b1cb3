"""A cheap request never buys an expensive answer: mention markup is bounded, renders are reused."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from chatroom import app as app_module
from chatroom.rooms.conversation import with_mentions
from chatroom.rooms.outbox import Outbox
from chatroom.rooms.render import Fragments
from chatroom.rooms.render_cache import RenderCache
from chatroom.rooms.starts import Start
from chatroom.store import Message
from chatroom.web.templating import template_environment
from tests.inprocess import hub_of, in_app
from tests.wire import message_ids

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


class CountingFragments(Fragments):
    """Fragments that count the message items they render."""

    def __init__(self) -> None:
        super().__init__(template_environment())
        self.items = 0

    def message(self, message: Message, previous: Message | None = None, oob: bool = False, zone: str = "UTC") -> str:
        self.items += 1
        return super().message(message, previous, oob, zone)


def renders(client: TestClient) -> int:
    fragments = hub_of(client).fragments
    assert isinstance(fragments, CountingFragments)
    return fragments.items


@pytest.fixture
def counted(app: Starlette, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """A client whose app renders with CountingFragments, over a room `r` of 300 messages of 2,000 characters."""
    monkeypatch.setattr(app_module, "Fragments", lambda env: CountingFragments())
    with TestClient(app, base_url="http://testserver") as client:
        store = hub_of(client).store
        for n in range(300):
            in_app(client, store.append, "r", f"p{n % 2}", f"uid-{n % 2}", "<&>" * 666)
        yield client


def replay(client: TestClient, after: int) -> Start:
    hub = hub_of(client)

    async def start() -> Start:
        async with hub.connect("r", Outbox(10), resume=after) as started:
            [m.html for m in started.missed or []]  # as the SSE stream sends them
            return started

    return in_app(client, start)


def test_a_load_older_page_asked_for_again_is_not_rendered_again(counted: TestClient) -> None:
    first = counted.get("/rooms/r/messages?before=200")
    assert renders(counted) == 50
    again = counted.get("/rooms/r/messages?before=200")
    assert again.text == first.text and message_ids(again.text) == list(range(150, 200))
    assert renders(counted) == 50


def test_a_replay_over_a_mebibyte_gets_the_snapshot_instead(counted: TestClient) -> None:
    start = replay(counted, 100)
    assert start.missed is None and message_ids(start.snapshot) == list(range(251, 301))


def test_a_replay_asked_for_again_is_not_rendered_again(counted: TestClient) -> None:
    assert [m.seq for m in replay(counted, 200).missed or []] == list(range(201, 301))
    rendered = renders(counted)
    assert [m.seq for m in replay(counted, 200).missed or []] == list(range(201, 301))
    assert renders(counted) == rendered


def test_a_run_of_messages_is_rendered_once_and_reused() -> None:
    fragments = CountingFragments()
    cache = RenderCache(fragments)
    run = [message(n) for n in range(1, 6)]
    first = [r.item for r in cache.run(run)]
    assert fragments.items == 5
    assert [r.item for r in cache.run(run)] == first and fragments.items == 5
    assert cache.run(run[2:])[0].item == first[2] and fragments.items == 5, "a run's first takes the known item"


def test_a_message_is_rendered_again_after_another_predecessor_or_when_it_changed() -> None:
    cache = RenderCache(CountingFragments())
    assert 'class="msg cont"' in cache.run([message(1), message(2)])[1].item
    bob = Message("lobby", 1, "bob", "uid-bob", "hi", NOON)
    assert 'class="msg"' in cache.run([bob, message(2)])[1].item
    assert ">edited</p>" in cache.run([message(1), message(2, "edited")])[1].item


def test_the_cache_keeps_at_most_its_entries_and_bytes() -> None:
    cache = RenderCache(CountingFragments(), max_entries=3, max_bytes=10**9)
    cache.run([message(n) for n in range(1, 10)])
    assert len(cache) == 3
    cache = RenderCache(CountingFragments(), max_entries=100, max_bytes=20_000)
    cache.run([message(n, "x" * 2000) for n in range(1, 10)])
    assert 0 < len(cache) < 9 and cache.size <= 20_000
