"""What one message costs the server's CPU from `Hub.post` on: a micro-benchmark, not a test.

    .venv/bin/python -m bench.per_message                       # 50 rooms of 5 viewers, SQLite, memory://
    .venv/bin/python -m bench.per_message --bus redis://127.0.0.1:6379/15 --rounds 7
    .venv/bin/python -m bench.per_message --profile             # where the event loop's time goes (cProfile)

The hub of the product is built in this process as the app builds it, over a store in a temporary directory
(or `--database-url`) and a bus (`--bus`). Each room has viewers whose outboxes take every frame's HTML, as a
socket's would, and drop it: what is measured is validating, limiting, storing, announcing, rendering once and
offering to every viewer, not the sockets' writes (the `rooms` scenario of `bench.run` has those). One sender
per room posts `--messages` messages, all rooms at once, so appends share commits as they do under load.

The figures are CPU time per message: the event loop's thread (`time.thread_time`) and the process's other
threads (the store's writer), the median of `--rounds` rounds. CPU time, unlike wall time, moves little with
other work on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import secrets
import statistics
import tempfile
import time
from pathlib import Path

import asyncpg

from chatroom.bus import Bus
from chatroom.identity import ACCOUNT, Person
from chatroom.rooms.hub import Hub
from chatroom.rooms.outbox import Frame, Outbox
from chatroom.rooms.render import Fragments
from chatroom.settings import Settings
from chatroom.store import open_store
from chatroom.web.templating import template_environment

UNLIMITED = 10**9


class Viewer(Outbox):
    """An outbox that takes each frame's HTML, as a socket's write would, and keeps nothing."""

    __slots__ = ()

    def offer(self, frame: Frame) -> None:
        assert frame.html


class Names:
    """The accounts' hold on names: the senders here are accounts already."""

    async def claim(self, person: Person, name: str) -> None:
        return None


async def rounds(args: argparse.Namespace) -> list[tuple[float, float]]:
    """The figures of each round: (event loop, other threads) seconds of CPU per message."""
    if not args.database_url.startswith("postgres"):
        return await measured(args, args.database_url)
    schema = f"per_message_{secrets.token_hex(6)}"  # its own tables, dropped after: the database may be shared
    server = await asyncpg.connect(args.database_url)
    try:
        await server.execute(f"CREATE SCHEMA {schema}")
        separator = "&" if "?" in args.database_url else "?"
        return await measured(args, f"{args.database_url}{separator}search_path={schema}")
    finally:
        await server.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await server.close()


async def measured(args: argparse.Namespace, database_url: str) -> list[tuple[float, float]]:
    directory = tempfile.mkdtemp(prefix="per-message-")
    settings = Settings(
        data_dir=Path(directory),
        database_url=database_url or f"sqlite:///{directory}/chat.sqlite3",
        broadcast_url=args.bus,
        rate_limit_per_second=UNLIMITED,
        rate_limit_burst=UNLIMITED,
        rate_limit_per_address=UNLIMITED,
    )
    store = open_store(settings.database_url)
    await store.open()
    bus = Bus(settings.broadcast_url)
    await bus.connect()
    hub = Hub(store, bus, Fragments(template_environment()), settings, Names())
    rooms = [f"bench-{number}" for number in range(args.rooms)]
    people = [Person(f"uid{number:08d}", f"person{number}", ACCOUNT, "member") for number in range(args.rooms)]
    try:
        for room in rooms:
            await hub.create_room(room)
            feed = await hub.feeds.hold(room)
            feed.viewers.update(Viewer(256) for _ in range(args.viewers))

        async def send(sender: int, count: int) -> None:
            for number in range(count):
                text = f"hello number {number}, how are things in {rooms[sender]}?"
                await hub.post(rooms[sender], people[sender], text, f"sender-{sender}")

        await asyncio.gather(*(send(sender, 3) for sender in range(args.rooms)))  # warm: feeds, caches
        profile = cProfile.Profile() if args.profile else None
        figures = []
        for _ in range(args.rounds):
            process, loop = time.process_time(), time.thread_time()
            if profile is not None:
                profile.enable()
            await asyncio.gather(*(send(sender, args.messages) for sender in range(args.rooms)))
            if profile is not None:
                profile.disable()
            count = args.rooms * args.messages
            loop_s = time.thread_time() - loop
            figures.append((loop_s / count, (time.process_time() - process - loop_s) / count))
        if profile is not None:
            pstats.Stats(profile).sort_stats("tottime").print_stats(30)
        return figures
    finally:
        await hub.close()
        await bus.disconnect()
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rooms", type=int, default=50)
    parser.add_argument("--viewers", type=int, default=5, help="in each room")
    parser.add_argument("--messages", type=int, default=40, help="per room and round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--database-url", default="", help="default: SQLite in a temporary directory; PostgreSQL: in a new schema"
    )
    parser.add_argument("--bus", default="memory://")
    parser.add_argument("--profile", action="store_true", help="cProfile the rounds (slower: for shares, not totals)")
    args = parser.parse_args()
    figures = asyncio.run(rounds(args))
    loop = statistics.median(f[0] for f in figures) * 1e3
    other = statistics.median(f[1] for f in figures) * 1e3
    print(
        f"{args.rooms} rooms x {args.viewers} viewers, {args.messages} messages per room per round, "
        f"median of {args.rounds}: event loop {loop:.3f} ms, other threads {other:.3f} ms of CPU per message"
    )


if __name__ == "__main__":
    main()
