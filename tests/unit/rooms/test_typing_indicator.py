"""The typing indicator names three people and counts the rest; a change costs the same however many type."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

import pytest
from starlette.testclient import TestClient

from chatroom.identity import Person
from chatroom.rooms.presence import Signal, Viewer
from chatroom.rooms.render import Fragments
from chatroom.rooms.typing import TypingIndicator
from chatroom.web.templating import template_environment
from tests.inprocess import hub_of
from tests.people import page, session
from tests.wire import typing

pytestmark = pytest.mark.anyio


class Inbox:
    """A viewer's connection: what it was offered."""

    def __init__(self) -> None:
        self.frames: list[str] = []

    def offer(self, frame: Signal) -> None:
        self.frames.append(frame.html)


class Room:
    """The lobby with a viewer for each of `people` typists (uids u0, u1, ...) and for one bystander."""

    def __init__(self, people: int, refresh: float = 0.0) -> None:
        self.fragments = Fragments(template_environment())
        self.renders = 0
        render = self.fragments.typing

        def counted(*args: object, **kwargs: object) -> str:
            self.renders += 1
            return render(*args, **kwargs)  # type: ignore[arg-type]

        self.fragments.typing = counted  # type: ignore[method-assign]
        self.inboxes = {uid: Inbox() for uid in [*(f"u{i}" for i in range(people)), "bystander"]}
        self.viewers = {"lobby": {inbox: Viewer(uid) for uid, inbox in self.inboxes.items()}}
        presence = SimpleNamespace(viewers=self.viewers)
        self.indicator = TypingIndicator(None, self.fragments, presence, quiet=3600, refresh=refresh)  # type: ignore[arg-type]

    def types(self, uid: str, room: str = "lobby") -> None:
        self.indicator.apply(room, uid, f"p{uid[1:]}", True)

    async def typing(self, people: int) -> None:
        """u0 ... u{people - 1} start typing, in that order, and what it changes is shown."""
        for i in range(people):
            self.types(f"u{i}")
        await settled()

    def seen(self, uid: str) -> str | None:
        return typing(self.inboxes[uid].frames[-1])


async def settled() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


async def renders_of_one_more_typist(typists: int) -> int:
    room = Room(typists + 1)
    await room.typing(typists)
    room.renders = 0
    room.types(f"u{typists}")
    await settled()
    room.indicator.close()
    return room.renders


async def test_a_change_among_200_typists_renders_as_often_as_among_20() -> None:
    assert await renders_of_one_more_typist(200) == await renders_of_one_more_typist(20) == 5


async def test_four_typists_are_three_names_and_one_other() -> None:
    room = Room(4)
    await room.typing(4)
    assert room.seen("bystander") == "p0, p1, p2 and 1 other are typing…"
    assert room.seen("u0") == "p1, p2 and p3 are typing…", "a named typist sees the next one named instead"
    assert room.seen("u3") == "p0, p1 and p2 are typing…", "an unnamed typist is not counted for themselves"
    room.indicator.close()


async def test_two_hundred_typists_are_three_names_and_the_number_of_others() -> None:
    room = Room(200)
    await room.typing(200)
    assert room.seen("bystander") == "p0, p1, p2 and 197 others are typing…"
    assert room.seen("u1") == "p0, p2, p3 and 196 others are typing…"
    assert room.seen("u150") == "p0, p1, p2 and 196 others are typing…"
    room.indicator.close()


async def test_a_burst_of_typists_is_one_frame_to_each_viewer() -> None:
    room = Room(200, refresh=3600)
    await room.typing(200)
    assert {uid: len(inbox.frames) for uid, inbox in room.inboxes.items()} == {uid: 1 for uid in room.inboxes}
    assert room.renders == 5
    room.indicator.close()


async def test_a_change_soon_after_one_shown_waits_for_the_interval() -> None:
    room = Room(2, refresh=0.2)
    room.viewers["other"] = {(elsewhere := Inbox()): Viewer("bystander")}
    room.types("u0")
    await settled()
    assert room.seen("bystander") == "p0 is typing…"
    room.types("u1")
    room.types("u0", room="other")
    await settled()
    assert typing(elsewhere.frames[-1]) == "p0 is typing…", "another room's change is shown at once"
    assert len(room.inboxes["bystander"].frames) == 1, "this room's waits"
    deadline = time.monotonic() + 5
    while len(room.inboxes["bystander"].frames) == 1 and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert room.seen("bystander") == "p0 and p1 are typing…"
    room.indicator.close()


def test_the_room_page_names_three_typists_and_counts_the_others(client: TestClient) -> None:
    hub = hub_of(client)
    assert client.portal is not None
    for name in ("ann", "ben", "cal", "dee", "eve"):
        client.portal.call(hub.typed, "lobby", Person(f"uid-{name}", name), True)
    html = page(client, "/rooms/lobby", session(client, "zoe"))
    assert typing(html) == "ann, ben, cal and 2 others are typing…"
