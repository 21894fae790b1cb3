"""Start a coroutine in the caller and give it a task only if it has to wait (Python 3.12's eager tasks)."""

from __future__ import annotations

import asyncio
import types
from collections.abc import Coroutine, Generator
from typing import Any, TypeVar

T = TypeVar("T")


def start_eagerly(coro: Coroutine[Any, Any, T]) -> asyncio.Task[T] | None:
    """Run `coro` now, up to its end or its first real wait: None if it finished, else the task that finishes it.

    An exception it raises before waiting propagates to the caller. Most sends to a socket never
    wait, so a fan-out to a thousand sockets costs a thousand calls instead of a thousand tasks.
    """
    try:
        waiting_on = coro.send(None)
    except StopIteration:
        return None
    return asyncio.ensure_future(_finish(coro, waiting_on))


async def _finish(coro: Coroutine[Any, Any, T], waiting_on: object) -> T:
    return await _resume(coro, waiting_on)


@types.coroutine
def _resume(coro: Coroutine[Any, Any, T], waiting_on: object) -> Generator[object, object, T]:
    """Go on with `coro` from where it yielded `waiting_on`, as an `await` of it would have."""
    while True:
        try:
            resumed_with = yield waiting_on
        except BaseException as exc:  # thrown in by the task: cancellation
            try:
                waiting_on = coro.throw(exc)
            except StopIteration as finished:
                return finished.value  # type: ignore[no-any-return]
        else:
            try:
                waiting_on = coro.send(resumed_with)
            except StopIteration as finished:
                return finished.value  # type: ignore[no-any-return]
