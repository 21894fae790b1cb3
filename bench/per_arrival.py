"""What one arrival costs the server's CPU, from the socket's handshake to its snapshot: a micro-benchmark, not a test.

    .venv/bin/python -m bench.per_arrival                       # 2,000 arrivals of each kind, 5 rounds
    .venv/bin/python -m bench.per_arrival --kinds signed --profile /tmp/arrivals.prof

The app is built in this process as uvicorn builds it (`create_app`, then its lifespan), over SQLite in a
temporary directory, and a room gets 50 messages of history, as the bench's `storm` scenario does. Each
arrival is an ASGI WebSocket connection to the htmx socket (`/rooms/{room}/ws`) with no network under it: the
scope a browser's handshake makes, with no cookie (`cookieless`), a named guest's (`guest`) or a signed-in
account's (`signed`: a new account and session each, written through the store's API as `bench.accounts`
does), a `receive` that says connect and then waits, and a `send` that takes the accept and the frames. A
round opens `--arrivals` connections at once and ends when each has its snapshot; then they leave (not
measured) and the next round comes into the same room.

The figures are CPU time per arrival: the event loop's thread (`time.thread_time`) and the process's other
threads (the store's), the median of `--rounds` rounds. CPU time, unlike wall time, moves little with other
work on the machine, which the storm's own times do (a third from run to run). What this leaves out is the
server's share, the same for the raw loop: accepting the TCP connection, parsing the handshake, framing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import os
import pstats
import statistics
import tempfile
import time
from typing import Any

from bench.accounts import guest_cookies, signed_in_cookies
from bench.targets import PRODUCT_ENV
from chatroom.app import ChatApp, create_app
from chatroom.identity import Person
from chatroom.settings import Settings

ROOM = "arrivals"
HISTORY = 50
KINDS = ("cookieless", "guest", "signed")


class Arrival:
    """One connection: its scope, and an event set when its snapshot has been sent."""

    def __init__(self, number: int, cookie: str) -> None:
        headers = [(b"host", b"127.0.0.1:8000"), (b"origin", b"http://127.0.0.1:8000")]
        if cookie:
            headers.append((b"cookie", cookie.encode()))
        self.scope: dict[str, Any] = {
            "type": "websocket",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "scheme": "ws",
            "server": ("127.0.0.1", 8000),
            # An address each, as the storm's clients have (the limits are raised as the bench raises them).
            "client": (f"127.{number // 65536 % 256}.{number // 256 % 256}.{number % 256 or 1}", 40000),
            "root_path": "",
            "path": f"/rooms/{ROOM}/ws",
            "raw_path": f"/rooms/{ROOM}/ws".encode(),
            "query_string": b"",
            "headers": headers,
            "subprotocols": [],
            "state": {},
        }
        self.snapshot = asyncio.Event()
        self._leave = asyncio.Event()
        self._said_connect = False

    async def receive(self) -> dict[str, Any]:
        if not self._said_connect:
            self._said_connect = True
            return {"type": "websocket.connect"}
        await self._leave.wait()
        return {"type": "websocket.disconnect", "code": 1001}

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "websocket.send" and 'id="messages"' in (message.get("text") or ""):
            self.snapshot.set()
        elif message["type"] == "websocket.close":
            raise RuntimeError(f"an arrival was refused: {message}")

    def leave(self) -> None:
        self._leave.set()


async def rounds(args: argparse.Namespace, kind: str) -> list[tuple[float, float]]:
    """(event loop, other threads) seconds of CPU per arrival, for each round."""
    with tempfile.TemporaryDirectory(prefix="per-arrival-") as directory:
        database_url = f"sqlite:///{directory}/chat.sqlite3"
        environ = {**os.environ, **PRODUCT_ENV, "DATA_DIR": directory, "DATABASE_URL": database_url}
        settings = Settings.from_env(environ, env_file="", argv=[])
        app = create_app(settings)
        cookies = await _cookies(kind, settings.database_url, args.arrivals * (args.rounds + 1))
        async with app.router.lifespan_context(app):
            hub = app.state.chat.hub
            await hub.create_room(ROOM)
            author = Person("u-bench-author", "author")
            for number in range(HISTORY):
                await hub.post(ROOM, author, f"history message {number}", "per-arrival")
            await _round(app, cookies[: args.arrivals], 0)  # warm: the feed, the templates, the caches
            profile = cProfile.Profile() if args.profile else None
            figures = []
            for r in range(1, args.rounds + 1):
                batch = cookies[r * args.arrivals : (r + 1) * args.arrivals]
                process, loop = time.process_time(), time.thread_time()
                if profile is not None:
                    profile.enable()
                await _round(app, batch, r * args.arrivals)
                if profile is not None:
                    profile.disable()
                loop_s = time.thread_time() - loop
                figures.append((loop_s / len(batch), (time.process_time() - process - loop_s) / len(batch)))
            if profile is not None:
                profile.dump_stats(args.profile)
                pstats.Stats(profile).sort_stats("tottime").print_stats(40)
            return figures


async def _cookies(kind: str, database_url: str, n: int) -> list[str]:
    if kind == "signed":
        return await signed_in_cookies(database_url, n)
    if kind == "guest":
        return guest_cookies(n)
    return [""] * n


async def _round(app: ChatApp, cookies: list[str], first: int) -> None:
    """`cookies` arrive at once; returns when each has its snapshot (measured), after they all left (not)."""
    arrivals = [Arrival(first + i, cookie) for i, cookie in enumerate(cookies)]
    tasks = [asyncio.create_task(app(a.scope, a.receive, a.send)) for a in arrivals]
    try:
        await asyncio.wait_for(asyncio.gather(*(a.snapshot.wait() for a in arrivals)), 120)
    finally:
        # Leaving is not measured: the next round's clock starts after it.
        for a in arrivals:
            a.leave()
        with contextlib.suppress(Exception):
            await asyncio.gather(*tasks)
        await asyncio.sleep(0.5)  # the leases and read markers written, the lists re-sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kinds", default=",".join(KINDS), help=f"among {', '.join(KINDS)}")
    parser.add_argument("--arrivals", type=int, default=2000, help="at once, per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--profile", default="", metavar="FILE", help="cProfile the rounds into FILE (slower: for shares, not totals)"
    )
    args = parser.parse_args()
    for kind in args.kinds.split(","):
        if kind not in KINDS:
            parser.error(f"unknown kind {kind!r}")
        figures = asyncio.run(rounds(args, kind))
        loop = statistics.median(f[0] for f in figures) * 1e3
        other = statistics.median(f[1] for f in figures) * 1e3
        spread = ", ".join(f"{f[0] * 1e3:.3f}" for f in figures)
        print(f"{kind}: {loop:.3f} ms of the event loop per arrival ({spread}), {other:.3f} ms of other threads")


if __name__ == "__main__":
    main()
