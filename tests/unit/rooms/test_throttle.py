"""SharedRead: concurrent and recent askers share one read; a connect storm costs one query. Batched: keys asked
together are fetched together."""

from __future__ import annotations

import asyncio

import pytest

from chatroom.rooms.throttle import Batched, SharedRead
from tests.clock import advance, run_turned


class Store:
    def __init__(self) -> None:
        self.reads: list[str] = []
        self.gate = asyncio.Event()
        self.fail = False

    async def read(self, key: str) -> str:
        self.reads.append(key)
        await self.gate.wait()
        if self.fail:
            raise OSError("store down")
        return f"{key}#{len(self.reads)}"


def test_askers_at_once_share_one_read_and_keys_are_read_apart() -> None:
    async def run() -> None:
        store = Store()
        shared = SharedRead(60.0, store.read)
        waiting = [asyncio.ensure_future(shared(room)) for room in ("a", "a", "b", "a")]
        await asyncio.sleep(0)
        store.gate.set()
        assert await asyncio.gather(*waiting) == ["a#1", "a#1", "b#2", "a#1"]
        assert await shared("a") == "a#1", "still fresh: no new read"
        assert store.reads == ["a", "b"]

    asyncio.run(run())


def test_a_read_older_than_fresh_is_read_again_and_forgotten() -> None:
    async def run() -> None:
        store = Store()
        store.gate.set()
        shared = SharedRead(0.05, store.read)
        assert await shared("a") == "a#1"
        await advance(0.1)
        assert await shared("b") == "b#2"
        assert list(shared._reads) == ["b"], "stale reads are dropped, so many rooms don't pile up"
        assert await shared("a") == "a#3"

    run_turned(run())


def test_a_failed_read_fails_everyone_waiting_and_one_asker_leaving_does_not_cancel_it() -> None:
    async def run() -> None:
        store = Store()
        shared = SharedRead(60.0, store.read)
        leaving, staying = asyncio.ensure_future(shared("a")), asyncio.ensure_future(shared("a"))
        await asyncio.sleep(0)
        leaving.cancel()
        store.fail = True
        store.gate.set()
        with pytest.raises(OSError):
            await staying
        assert store.reads == ["a"]

    asyncio.run(run())


def test_with_fresh_0_a_read_under_way_is_shared_however_long_it_takes() -> None:
    """A storm of arrivals shares the read under way; the next asker after it reads anew."""

    async def run() -> None:
        store = Store()
        shared = SharedRead(0.0, store.read)
        first = asyncio.ensure_future(shared("a"))
        await advance(1.0)  # the store is slow: later askers still share the read under way
        later = asyncio.ensure_future(shared("a"))
        await asyncio.sleep(0)
        store.gate.set()
        assert list(await asyncio.gather(first, later)) == ["a#1", "a#1"]
        await advance(0.01)
        assert await shared("a") == "a#2", "done: the next asker reads again"
        assert store.reads == ["a", "a"]

    run_turned(run())


class Fetches:
    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.failing: set[str] = set()  # a fetch of any of these keys fails

    async def fetch(self, keys: list[str]) -> list[str]:
        self.batches.append(keys)
        await self.gate.wait()
        if self.failing.intersection(keys):
            raise OSError("store down")
        return [k.upper() for k in keys]


def test_keys_asked_together_are_fetched_together_and_asks_during_a_fetch_go_in_the_next() -> None:
    async def run() -> None:
        store = Fetches()
        batched = Batched(store.fetch, size=3)
        store.gate.clear()
        first = [asyncio.ensure_future(batched(k)) for k in ("a", "b", "c", "d")]
        await asyncio.sleep(0.01)
        assert store.batches == [["a", "b", "c"]], "one turn's asks, up to the size"
        during = [asyncio.ensure_future(batched(k)) for k in ("e", "f")]
        await asyncio.sleep(0.01)
        store.gate.set()
        assert await asyncio.gather(*first, *during) == ["A", "B", "C", "D", "E", "F"]
        assert store.batches == [["a", "b", "c"], ["d", "e", "f"]]
        assert await batched("g") == "G", "idle again: the next ask is fetched at once"

    asyncio.run(run())


def test_a_failed_fetch_fails_its_askers_only_and_one_leaving_does_not_cancel_it() -> None:
    async def run() -> None:
        store = Fetches()
        batched = Batched(store.fetch, size=2)
        store.failing = {"a"}
        store.gate.clear()
        leaving, failing, later = (asyncio.ensure_future(batched(k)) for k in ("a", "b", "c"))
        await asyncio.sleep(0.01)
        leaving.cancel()
        await asyncio.sleep(0.01)
        store.gate.set()
        with pytest.raises(asyncio.CancelledError):
            await leaving
        assert await later == "C", "in the next fetch, which succeeds"
        with pytest.raises(OSError):
            await failing
        assert store.batches == [["a", "b"], ["c"]]

    asyncio.run(run())
