"""The counters that no chat in a test client moves: a reader dropped for falling behind, a bus that goes down."""

from __future__ import annotations

import asyncio
from typing import ClassVar

from prometheus_client import REGISTRY

from chatroom.bus.resilient import ResilientBackend
from chatroom.rooms.outbox import Outbox


def sample(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


class Frame:
    seq = 1
    html = "<p>frame</p>"
    json = None


def test_a_connection_dropped_for_falling_behind_is_counted_once() -> None:
    before = sample("chatroom_outbox_drops_total")
    outbox = Outbox(2)
    for _ in range(5):
        outbox.offer(Frame())
    outbox.drop()
    assert outbox.overflowed
    assert sample("chatroom_outbox_drops_total") - before == 1


class FlakyBackend(ResilientBackend):
    """Refused on the first connection, fine on the second: a bus that was down at start-up."""

    name = "flaky"
    errors: ClassVar[tuple[type[BaseException], ...]] = (ConnectionError,)

    def __init__(self) -> None:
        super().__init__("flaky://")
        self.sessions = 0
        self.up_seen: list[float] = []

    async def _session(self) -> None:
        self.sessions += 1
        self.up_seen.append(sample("chatroom_bus_up"))
        if self.sessions == 1:
            raise ConnectionError("connection refused")
        for channel in self._channels:
            self.resync(channel)
        await self.came_up()
        await asyncio.Event().wait()

    async def _close(self) -> None:
        pass

    async def _listen(self, channel: str) -> None:
        pass

    async def _unlisten(self, channel: str) -> None:
        pass


def test_a_bus_outage_is_counted_and_its_recovery_resyncs_each_room() -> None:
    outages, resyncs = sample("chatroom_bus_outages_total"), sample("chatroom_bus_resyncs_total")

    async def run() -> FlakyBackend:
        backend = FlakyBackend()
        backend._channels |= {"room:lobby", "room:dev"}
        await backend.connect()  # waits for the second session's came_up
        await backend.disconnect()
        return backend

    backend = asyncio.run(run())
    assert backend.sessions == 2
    assert backend.up_seen[1] == 0, "down between the two sessions"
    assert sample("chatroom_bus_up") == 1
    assert sample("chatroom_bus_outages_total") - outages == 1
    assert sample("chatroom_bus_resyncs_total") - resyncs == 2
