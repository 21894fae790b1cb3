"""GroupCommit and ThreadGroupCommit: a lone append is committed at once; those made during a commit share the
next one; a failed commit fails its batch."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from chatroom.errors import StoreUnavailable
from chatroom.store import Message, from_us
from chatroom.store.group_commit import GroupCommit, Take, ThreadGroupCommit

pytestmark = pytest.mark.anyio


class Disk:
    """A commit that holds each batch until the test lets it through, and numbers messages per room."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.last: dict[str, int] = {}
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail: Exception | None = None

    async def commit(self, take: Take) -> list[Message]:
        batch = take()
        self.batches.append([a.text for a in batch])
        await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        stored = []
        for a in batch:
            self.last[a.room] = self.last.get(a.room, 0) + 1
            stored.append(Message(a.room, self.last[a.room], a.author, a.author_id, a.text, from_us(a.sent_at)))
        return stored


async def test_a_lone_append_is_committed_at_once_by_itself() -> None:
    disk = Disk()
    appends = GroupCommit(disk.commit)
    message = await appends.append("lobby", "alice", "uid-alice", "hi", None)
    assert (message.seq, message.text) == (1, "hi")
    assert disk.batches == [["hi"]]


async def test_appends_made_during_a_commit_share_the_next_one() -> None:
    disk = Disk()
    appends = GroupCommit(disk.commit)
    disk.gate.clear()
    first = asyncio.ensure_future(appends.append("lobby", "alice", "uid-alice", "1", None))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert disk.batches == [["1"]]  # being committed: what comes now waits for the next commit
    rest = [asyncio.ensure_future(appends.append("lobby", "bob", "uid-bob", f"{n}", None)) for n in (2, 3, 4)]
    await asyncio.sleep(0)
    assert not first.done()
    disk.gate.set()
    sent = await asyncio.gather(first, *rest)
    assert [m.seq for m in sent] == [1, 2, 3, 4]
    assert disk.batches == [["1"], ["2", "3", "4"]]


async def test_a_failed_commit_fails_every_append_in_it_and_only_those() -> None:
    disk = Disk()
    appends = GroupCommit(disk.commit)
    disk.fail = StoreUnavailable("disk full")
    results = await asyncio.gather(
        *(appends.append("lobby", "alice", "uid-alice", f"{n}", None) for n in range(3)), return_exceptions=True
    )
    assert [type(r) for r in results] == [StoreUnavailable] * 3
    assert disk.batches == [["0", "1", "2"]]
    disk.fail = None
    assert (await appends.append("lobby", "alice", "uid-alice", "again", None)).seq == 1


async def test_appends_waiting_on_a_commit_that_never_took_them_fail_too() -> None:
    async def unreachable(take: Take) -> list[Message]:
        raise StoreUnavailable("no connection")

    appends = GroupCommit(unreachable)
    results = await asyncio.gather(
        *(appends.append("lobby", "alice", "uid-alice", f"{n}", None) for n in range(3)), return_exceptions=True
    )
    assert [type(r) for r in results] == [StoreUnavailable] * 3


class ThreadDisk:
    """The same on a store's own thread: each batch is held there until the test lets it through."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.taken = threading.Event()
        self.fail: Exception | None = None

    def commit(self, take: Take) -> list[Message]:
        batch = take()
        self.batches.append([a.text for a in batch])
        self.taken.set()
        self.gate.wait(5)
        if self.fail is not None:
            raise self.fail
        return [Message(a.room, n, a.author, a.author_id, a.text, from_us(a.sent_at)) for n, a in enumerate(batch, 1)]


@pytest.fixture
def thread() -> Iterator[ThreadPoolExecutor]:
    executor = ThreadPoolExecutor(max_workers=1)
    yield executor
    executor.shutdown(wait=True)


async def test_on_a_thread_appends_made_during_a_commit_share_the_next_one(thread: ThreadPoolExecutor) -> None:
    disk = ThreadDisk()
    appends = ThreadGroupCommit(thread, disk.commit)
    assert (await appends.append("lobby", "alice", "uid-alice", "alone", None)).text == "alone"
    disk.gate.clear()
    disk.taken.clear()
    first = asyncio.ensure_future(appends.append("lobby", "alice", "uid-alice", "1", None))
    await asyncio.sleep(0)
    assert await asyncio.to_thread(disk.taken.wait, 5)
    rest = [asyncio.ensure_future(appends.append("lobby", "bob", "uid-bob", f"{n}", None)) for n in (2, 3, 4)]
    await asyncio.sleep(0)
    disk.gate.set()
    sent = await asyncio.gather(first, *rest)
    assert [m.text for m in sent] == ["1", "2", "3", "4"]
    assert disk.batches == [["alone"], ["1"], ["2", "3", "4"]]


async def test_on_a_thread_a_failed_commit_fails_its_batch_and_the_next_is_fine(thread: ThreadPoolExecutor) -> None:
    disk = ThreadDisk()
    appends = ThreadGroupCommit(thread, disk.commit)
    disk.fail = StoreUnavailable("disk full")
    results = await asyncio.gather(
        *(appends.append("lobby", "alice", "uid-alice", f"{n}", None) for n in range(3)), return_exceptions=True
    )
    assert [type(r) for r in results] == [StoreUnavailable] * 3
    disk.fail = None
    assert (await appends.append("lobby", "alice", "uid-alice", "again", None)).text == "again"


async def test_on_a_thread_that_has_stopped_an_append_fails_at_once(thread: ThreadPoolExecutor) -> None:
    appends = ThreadGroupCommit(thread, ThreadDisk().commit)
    thread.shutdown(wait=True)
    with pytest.raises(StoreUnavailable):
        await appends.append("lobby", "alice", "uid-alice", "late", None)
