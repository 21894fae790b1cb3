"""The per-process session cache: a storm of lookups is one query, answers are kept a while, ends are exact."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from chatroom.accounts.records import Account
from chatroom.accounts.sessions import TTL, Sessions
from tests.addresses import Clock

ALICE = Account("a" + "1" * 16, "Alice", "member")


class Store:
    def __init__(self) -> None:
        self.live = {f"s{n}": ALICE for n in range(500)}
        self.queries: list[list[str]] = []
        self.gate: asyncio.Event | None = None

    async def sessions(self, ids: Sequence[str]) -> dict[str, Account]:
        self.queries.append(list(ids))
        answer = {i: self.live[i] for i in ids if i in self.live}
        if self.gate is not None:  # the answer is read, and on its way
            await self.gate.wait()
        return answer


def test_a_storm_of_lookups_is_one_query_and_then_none() -> None:
    store, clock = Store(), Clock()
    sessions = Sessions(store.sessions, clock)

    async def storm() -> list[Account | None]:
        return await asyncio.gather(*(sessions.account(f"s{n}") for n in [*range(500), 7, 7, 999]))

    found = asyncio.run(storm())
    assert len(store.queries) == 1 and len(store.queries[0]) == 501  # each session asked once
    assert found[:502] == [ALICE] * 502 and found[-1] is None
    asyncio.run(storm())
    assert len(store.queries) == 1  # kept
    clock.now += TTL + 1
    asyncio.run(storm())
    assert len(store.queries) == 2


def test_an_end_closes_the_sessions_connections_and_forgets_them() -> None:
    store = Store()
    sessions = Sessions(store.sessions, Clock())
    closed: list[str] = []

    async def scenario() -> None:
        assert await sessions.account("s1") == ALICE
        with (
            sessions.watch("s1", ALICE.id, lambda: closed.append("tab 1")),
            sessions.watch("s2", ALICE.id, lambda: closed.append("tab 2")),
            sessions.watch("s3", "a" + "2" * 16, lambda: closed.append("someone else")),
        ):
            assert sessions.end(["s1"]) == 1
            assert closed == ["tab 1"]
            del store.live["s1"]
            assert await sessions.account("s1") is None  # asked again, not taken from the cache
            assert sessions.end(account=ALICE.id) == 2
            assert closed == ["tab 1", "tab 1", "tab 2"]
        assert sessions.end(account=ALICE.id) == 0  # nothing watched once the connections left

    asyncio.run(scenario())


def test_a_lookup_in_flight_when_its_session_ends_is_not_kept() -> None:
    store = Store()
    sessions = Sessions(store.sessions, Clock())

    async def scenario() -> None:
        store.gate = asyncio.Event()
        looking = asyncio.create_task(sessions.account("s1"))
        await asyncio.sleep(0.01)
        sessions.end(["s1"])  # while the store is answering from before the end
        del store.live["s1"]
        store.gate.set()
        assert await looking == ALICE  # the answer of its time
        store.gate = None
        assert await sessions.account("s1") is None  # but not kept: the next lookup asks again

    asyncio.run(scenario())
