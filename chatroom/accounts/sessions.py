"""Live sessions, as this process knows them: a cache filled in batches, and the connections each one holds.

A connection storm (thousands of tabs reconnecting after a deploy) must not cost a store round trip per
connection: lookups that arrive together share one query (`SESSION_BATCH` ids each), and an answer is
kept for `TTL` seconds. Nothing is trusted longer than that without the bus: a session that ends is
dropped from every process's cache at once by an "ended" event, which also closes its connections.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence

from chatroom.accounts.records import Account

TTL = 60.0  # seconds an answer is kept; events make it exact, the TTL bounds a lost event's harm
MAX_CACHED = 100_000


class Watcher:
    """A connection that is closed (`end`) when its session ends, while inside `with`.

    Every signed-in connection holds one for its whole life: a plain object, not a generator's frame.
    """

    __slots__ = ("_watchers", "account", "end", "session")

    def __init__(self, watchers: dict[Watcher, None], session: str, account: str, end: Callable[[], object]) -> None:
        self._watchers = watchers
        self.session = session  # the session's id (a hash of its token)
        self.account = account
        self.end = end  # closes the connection

    def __enter__(self) -> None:
        self._watchers[self] = None

    def __exit__(self, *exc: object) -> None:
        self._watchers.pop(self, None)


class Sessions:
    def __init__(
        self,
        fetch: Callable[[Sequence[str]], Awaitable[dict[str, Account]]],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._clock = clock
        self._cache: dict[str, tuple[Account | None, float]] = {}
        self._pending: dict[str, asyncio.Future[Account | None]] = {}
        self._flushing: asyncio.Task[None] | None = None
        self._watchers: dict[Watcher, None] = {}  # in the order they began: ended in that order
        self._generation = 0  # moves on each forget: a lookup that began before it is not cached

    async def account(self, session: str) -> Account | None:
        """The active account whose live session `session` is, or None (ended, expired, never was)."""
        cached = self._cache.get(session)
        if cached is not None and cached[1] > self._clock():
            return cached[0]
        waiting = self._pending.get(session)
        if waiting is None:
            waiting = self._pending[session] = asyncio.get_running_loop().create_future()
            if self._flushing is None:
                self._flushing = asyncio.get_running_loop().create_task(self._flush())
        return await asyncio.shield(waiting)

    def forget(self, sessions: Sequence[str] = (), account: str = "") -> None:
        """Drop cached answers: these sessions, and every one of `account`'s."""
        self._generation += 1
        for session in sessions:
            self._cache.pop(session, None)
        if account:
            for session in [s for s, (a, _) in self._cache.items() if a is not None and a.id == account]:
                del self._cache[session]

    def clear(self) -> None:
        self._generation += 1
        self._cache.clear()

    def end(self, sessions: Sequence[str] = (), account: str = "") -> int:
        """These sessions ended, or all of `account`'s: forget them, and close their connections; how many."""
        self.forget(sessions, account)
        ended = set(sessions)
        closing = [w for w in self._watchers if w.session in ended or w.account == account]
        for watcher in closing:
            watcher.end()
        return len(closing)

    def watch(self, session: str, account: str, end: Callable[[], object]) -> Watcher:
        """While inside, `end` is called if the session ends (sign-out, new password, deactivation, revoked bot)."""
        return Watcher(self._watchers, session, account, end)

    def watched(self) -> list[str]:
        """The sessions that hold connections here."""
        return list({w.session for w in self._watchers})

    async def _flush(self) -> None:
        await asyncio.sleep(0)  # lookups that arrive in the same turn of the loop join this batch
        pending, self._pending = self._pending, {}
        self._flushing = None
        generation = self._generation
        try:
            found = await self._fetch(list(pending))
        except Exception as exc:
            for future in pending.values():
                future.set_exception(exc)
            return
        if len(self._cache) + len(pending) > MAX_CACHED:
            self._cache.clear()
        expires = self._clock() + TTL
        for session, future in pending.items():
            account = found.get(session)
            if generation == self._generation:
                self._cache[session] = (account, expires)
            future.set_result(account)
