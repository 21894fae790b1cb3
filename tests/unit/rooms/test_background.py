"""A part's background task starts when it is not running, and stays stopped once closed."""

from __future__ import annotations

import asyncio

from chatroom.rooms.background import Background


def test_it_starts_once_and_a_closed_one_is_not_restarted() -> None:
    async def main() -> list[str]:
        runs: list[str] = []

        async def run() -> None:
            runs.append("run")
            await asyncio.Event().wait()

        task = Background(run, name="part")
        task.start()
        task.start()  # already running: nothing
        await asyncio.sleep(0)
        assert task.alive
        await task.close()
        task.start()  # a connection still leaving asks again: nothing
        await asyncio.sleep(0)
        assert not task.alive
        return runs

    assert asyncio.run(main()) == ["run"]
