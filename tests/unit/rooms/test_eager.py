"""start_eagerly: a coroutine runs in its caller until it first waits, then in a task."""

from __future__ import annotations

import asyncio

import pytest

from chatroom.rooms.eager import start_eagerly


def test_a_coroutine_that_never_waits_runs_to_its_end_in_the_caller() -> None:
    ran: list[str] = []

    async def work() -> None:
        ran.append("done")

    async def run() -> None:
        assert start_eagerly(work()) is None
        assert ran == ["done"], "finished before start_eagerly returned, with no task"

    asyncio.run(run())


def test_a_coroutine_that_waits_is_finished_by_a_task_with_its_result() -> None:
    async def work(gate: asyncio.Event) -> str:
        await gate.wait()
        await asyncio.sleep(0)
        return "late"

    async def run() -> None:
        gate = asyncio.Event()
        task = start_eagerly(work(gate))
        assert task is not None and not task.done()
        gate.set()
        assert await asyncio.wait_for(task, 1) == "late"

    asyncio.run(run())


def test_an_eager_start_raises_in_the_caller_and_a_cancelled_task_cancels_the_coroutine() -> None:
    cleaned: list[bool] = []

    async def fails() -> None:
        raise OSError("gone")

    async def waits_forever() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            cleaned.append(True)

    async def run() -> None:
        with pytest.raises(OSError):
            start_eagerly(fails())
        task = start_eagerly(waits_forever())
        assert task is not None
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(run())
    assert cleaned == [True]
