"""The outboxes: bounded queues, and the socket's, which writes directly while the socket keeps up."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

import pytest

from chatroom.errors import OutboxOverflow
from chatroom.rooms.outbox import Frame, Outbox, SocketOutbox, Turn


@dataclass(frozen=True)
class Item:
    seq: int
    html: str = ""
    json: str | None = None


def test_an_outbox_gives_frames_in_order_above_its_floor() -> None:
    async def run() -> list[int]:
        outbox = Outbox(10)
        outbox.floor = 2
        for seq in (1, 2, 3, 0, 4):
            outbox.offer(Item(seq))
        return [frame.seq for frame in await outbox.take()]

    assert asyncio.run(run()) == [3, 0, 4]


def test_an_outbox_that_overflows_is_dropped_and_says_so() -> None:
    dropped: list[bool] = []

    async def run() -> None:
        outbox = Outbox(2)
        outbox.on_drop = lambda: dropped.append(True)
        for seq in (1, 2, 3, 4):
            outbox.offer(Item(seq))
        with pytest.raises(OutboxOverflow):
            await outbox.take()

    asyncio.run(run())
    assert dropped == [True], "dropped once, and the memory it held is released"


def test_a_waiting_take_wakes_on_offer() -> None:
    async def run() -> list[int]:
        outbox = Outbox(2)
        waiting = asyncio.create_task(outbox.take())
        await asyncio.sleep(0)
        outbox.offer(Item(7))
        return [frame.seq for frame in await asyncio.wait_for(waiting, 1)]

    assert asyncio.run(run()) == [7]


class Socket:
    """A socket that records each write, and whose writes wait while `writable` is clear (a full transport).
    With `direct`, it takes frames without a coroutine while writable, as the server's lean protocol does."""

    def __init__(self, direct: bool = False) -> None:
        self.written: list[list[int]] = []
        self.writable = asyncio.Event()
        self.writable.set()
        self.fail = False
        self.direct = direct
        self.coroutines = 0

    def write_now(self, frames: Sequence[Frame]) -> bool:
        if not (self.direct and self.writable.is_set()):
            return False
        if self.fail:
            raise OSError("connection reset")
        self.written.append([frame.seq for frame in frames])
        return True

    async def write(self, frames: Sequence[Frame]) -> None:
        self.coroutines += 1
        await self.writable.wait()
        if self.fail:
            raise OSError("connection reset")
        self.written.append([frame.seq for frame in frames])


async def turn_ends() -> None:
    """Let the event loop finish this turn (the outboxes write) and the next few (tasks that waited go on)."""
    for _ in range(5):
        await asyncio.sleep(0)


def test_a_socket_outbox_holds_frames_until_open_then_writes_each_turns_frames_together() -> None:
    async def run() -> None:
        socket = Socket()
        outbox = SocketOutbox(10, socket, Turn())
        for seq in (3, 4, 0):
            outbox.offer(Item(seq))
        await turn_ends()
        assert socket.written == [], "nothing goes before the snapshot"
        outbox.floor = 3  # the snapshot had message 3
        outbox.open()
        assert socket.written == [[4, 0]], "what queued goes out in one write, minus what the snapshot had"
        outbox.offer(Item(5))
        outbox.offer(Item(2))
        outbox.offer(Item(6))
        assert socket.written == [[4, 0]], "not yet: at the end of the turn"
        await asyncio.sleep(0)
        assert socket.written == [[4, 0], [5, 6]], "one write for the turn, in no task of its own; old messages skipped"
        outbox.offer(Item(7))
        await asyncio.sleep(0)
        assert socket.written[-1] == [7] and socket.coroutines == 3, "a write per turn that offered something"

    asyncio.run(run())


def test_a_turn_writes_every_socket_offered_frames_in_it_once() -> None:
    async def run() -> None:
        turn = Turn()
        sockets = [Socket(direct=True) for _ in range(3)]
        outboxes = [SocketOutbox(10, socket, turn) for socket in sockets]
        for outbox in outboxes:
            outbox.open()
        for seq in range(1, 4):
            for outbox in outboxes[:2]:
                outbox.offer(Item(seq))
        await asyncio.sleep(0)
        assert [socket.written for socket in sockets] == [[[1, 2, 3]], [[1, 2, 3]], []], "one write each, at most size"
        assert not any(outbox.closed for outbox in outboxes) and sum(s.coroutines for s in sockets) == 0

    asyncio.run(run())


def test_a_turn_offering_a_socket_more_than_its_bound_writes_it_in_parts_and_holds_a_filling_reader_to_it() -> None:
    async def run() -> None:
        turn = Turn()
        keeps_up, fills = Socket(direct=True), Socket(direct=True)
        outboxes = [SocketOutbox(2, keeps_up, turn), SocketOutbox(2, fills, turn)]
        for outbox in outboxes:
            outbox.open()
        for seq in range(1, 6):
            for outbox in outboxes:
                outbox.offer(Item(seq))
            fills.writable.clear()  # its transport is full after the first write
        await turn_ends()
        assert keeps_up.written == [[1, 2], [3, 4], [5]] and not outboxes[0].closed, "kept up: nothing dropped"
        assert fills.written == [] and outboxes[1].overflowed, "behind by more than the bound: dropped"

    asyncio.run(run())


def test_a_socket_outbox_queues_behind_a_write_that_waits_and_sends_the_backlog_together() -> None:
    async def run() -> None:
        socket = Socket()
        outbox = SocketOutbox(10, socket, Turn())
        outbox.open()
        socket.writable.clear()
        outbox.offer(Item(1))
        await asyncio.sleep(0)
        for seq in (2, 3):
            outbox.offer(Item(seq))
        await turn_ends()
        assert socket.written == []
        socket.writable.set()
        await turn_ends()
        assert socket.written == [[1], [2, 3]]
        outbox.offer(Item(4))
        await asyncio.sleep(0)
        assert socket.written == [[1], [2, 3], [4]], "at the end of the turn again once the backlog is out"

    asyncio.run(run())


def opened(socket: Socket, size: int, dropped: list[bool]) -> SocketOutbox:
    """A socket's outbox past its snapshot, that notes each time it is dropped."""
    outbox = SocketOutbox(size, socket, Turn())
    outbox.on_drop = lambda: dropped.append(True)
    outbox.open()
    return outbox


def test_a_socket_outbox_that_falls_too_far_behind_is_dropped_and_its_waiting_write_cancelled() -> None:
    dropped: list[bool] = []

    async def run() -> None:
        socket = Socket()
        outbox = opened(socket, 2, dropped)
        socket.writable.clear()
        outbox.offer(Item(1))
        await asyncio.sleep(0)  # its write waits
        for seq in range(2, 6):
            outbox.offer(Item(seq))
        assert outbox.overflowed and outbox.closed
        socket.writable.set()
        await turn_ends()
        assert socket.written == [], "the write that was waiting gave up"

    asyncio.run(run())
    assert dropped == [True]


def test_a_socket_outbox_whose_write_fails_closes_without_claiming_overflow() -> None:
    dropped: list[bool] = []

    async def run() -> None:
        socket = Socket()
        at_once = opened(socket, 2, dropped)
        socket.fail = True
        at_once.offer(Item(1))
        await asyncio.sleep(0)
        assert at_once.closed and not at_once.overflowed
        for seq in range(2, 10):
            at_once.offer(Item(seq))  # ignored: no growth, no second drop
        await turn_ends()
        assert dropped == [True]
        socket.writable.clear()
        later = opened(socket, 2, dropped)
        later.offer(Item(1))  # waits, then fails in the task that finishes it
        await asyncio.sleep(0)
        socket.writable.set()
        await turn_ends()
        assert later.closed and not later.overflowed

    asyncio.run(run())
    assert dropped == [True, True]


def test_a_socket_outbox_writes_without_a_coroutine_while_the_socket_takes_frames_directly() -> None:
    async def run() -> None:
        socket = Socket(direct=True)
        outbox = SocketOutbox(10, socket, Turn())
        outbox.open()
        outbox.offer(Item(1))
        await asyncio.sleep(0)
        assert socket.written == [[1]] and socket.coroutines == 0
        socket.writable.clear()  # the transport is full: the write that waits is a coroutine's, the rest queue
        outbox.offer(Item(2))
        await asyncio.sleep(0)
        outbox.offer(Item(3))
        await asyncio.sleep(0)
        assert socket.coroutines == 1
        socket.writable.set()
        await turn_ends()
        assert socket.written == [[1], [2], [3]]
        outbox.offer(Item(4))
        await asyncio.sleep(0)
        assert socket.written[-1] == [4] and socket.coroutines == 1, "direct again once the backlog is out"

    asyncio.run(run())


def test_a_socket_whose_flush_fails_unexpectedly_does_not_stop_the_others_writing() -> None:
    errors: list[object] = []

    class Broken(SocketOutbox):
        def flush(self) -> None:
            raise RuntimeError("a bug")

    async def run() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda loop, context: errors.append(context["exception"]))
        turn = Turn()
        socket = Socket(direct=True)
        broken, outbox = Broken(10, Socket(direct=True), turn), SocketOutbox(10, socket, turn)
        for each in (broken, outbox):
            each.open()
            each.offer(Item(1))
        await asyncio.sleep(0)
        assert socket.written == [[1]]
        outbox.offer(Item(2))
        await asyncio.sleep(0)
        assert socket.written == [[1], [2]], "the turn goes on"

    asyncio.run(run())
    assert len(errors) == 1 and isinstance(errors[0], RuntimeError)
