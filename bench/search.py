"""How fast a search answers over a big store: `.venv/bin/python -m bench.search [MESSAGES] [sqlite|postgres]`.

Fills a fresh store with MESSAGES (default 1,000,000) messages of 4 to 16 words drawn from a vocabulary
of 20,000 with Zipf's law (as words are used in text), spread over 50 rooms and 200 authors, through
the triggers that keep the index (one transaction per 20,000 messages), then times each kind of search
200 times through the store's own `search`: one common word, one rare word, two words, a word in one
room, a word by one author, a word that no message has, and the second page of a common word. Prints
the p50 and p99 of each, in milliseconds. PostgreSQL is analysed after the load, as autovacuum would;
it uses the test server's database `test` in a schema of its own, dropped at the end.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chatroom.store import MessageStore, now_us, open_store
from chatroom.store.search import SearchQuery
from chatroom.store.sql import SQLStore, numbered

VOCABULARY = 20_000
ROOMS = 50
AUTHORS = 200
BATCH = 20_000
RUNS = 200
POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


def words() -> list[str]:
    rng = random.Random(7)
    letters = "abcdefghijklmnopqrstuvwxyz"
    made: set[str] = set()
    while len(made) < VOCABULARY:
        made.add("".join(rng.choice(letters) for _ in range(rng.randint(3, 9))))
    return sorted(made)


async def fill(store: MessageStore, count: int, vocabulary: list[str]) -> None:
    assert isinstance(store, SQLStore)
    rng = random.Random(11)
    weights = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(vocabulary))))
    seqs = dict.fromkeys(range(ROOMS), 0)
    sql = "INSERT INTO messages (room, seq, author, author_id, text, sent_at) VALUES (?, ?, ?, ?, ?, ?)"
    sql = sql if type(store).__name__ == "SQLiteStore" else numbered(sql)
    start = now_us() - count * 1000
    for first in range(0, count, BATCH):
        rows: list[tuple[Any, ...]] = []
        for n in range(first, min(first + BATCH, count)):
            room = rng.randrange(ROOMS)
            seqs[room] += 1
            text = " ".join(rng.choices(vocabulary, cum_weights=weights, k=rng.randint(4, 16)))
            author = rng.randrange(AUTHORS)
            rows.append((f"room{room}", seqs[room], f"person{author}", f"uid{author}", text, start + n * 1000))
        await store._write_many(sql, rows)
        print(f"\r{min(first + BATCH, count):,} messages", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)


async def timed(search: Callable[[], Awaitable[object]]) -> tuple[float, float]:
    took = []
    for _ in range(RUNS):
        started = time.perf_counter()
        await search()
        took.append((time.perf_counter() - started) * 1000)
    took.sort()
    return statistics.median(took), took[int(len(took) * 0.99) - 1]


async def measure(url: str, count: int) -> None:
    store = open_store(url)
    await store.open()
    try:
        vocabulary = words()
        for room in range(ROOMS):
            await store.create_room(f"room{room}")
        started = time.perf_counter()
        await fill(store, count, vocabulary)
        if type(store).__name__ == "PostgresStore":
            assert isinstance(store, SQLStore)
            await store._write("ANALYZE")  # what autovacuum does after a load this size: the planner's statistics
        print(f"filled {count:,} messages in {time.perf_counter() - started:.0f} s")
        common, rare = vocabulary[0], vocabulary[-1]
        first_page = await store.search(SearchQuery((common,)), None, 20)
        cases: dict[str, Callable[[], Awaitable[object]]] = {
            f"common word ({common})": lambda: store.search(SearchQuery((common,)), None, 20),
            f"rare word ({rare})": lambda: store.search(SearchQuery((rare,)), None, 20),
            "two words": lambda: store.search(SearchQuery((vocabulary[3], vocabulary[40])), None, 20),
            "common word, one room": lambda: store.search(SearchQuery((common,), room="room7"), None, 20),
            "common word, one author": lambda: store.search(SearchQuery((common,), author="person9"), None, 20),
            "no such word": lambda: store.search(SearchQuery(("zzzzzzzzzz",)), None, 20),
            "second page": lambda: store.search(SearchQuery((common,)), first_page[-1].position, 20),
        }
        print(f"| search over {count:,} messages ({url.split(':')[0]}) | p50 ms | p99 ms |\n|---|---|---|")
        for name, search in cases.items():
            p50, p99 = await timed(search)
            print(f"| {name} | {p50:.2f} | {p99:.2f} |")
    finally:
        await store.close()


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    kind = sys.argv[2] if len(sys.argv) > 2 else "sqlite"
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as data:
            asyncio.run(measure(f"sqlite:///{Path(data) / 'chat.sqlite3'}", count))
        return
    import asyncpg

    schema = f"bench_search_{uuid.uuid4().hex[:8]}"

    async def schema_sql(sql: str) -> None:
        db = await asyncpg.connect(POSTGRES_URL)
        try:
            await db.execute(sql)
        finally:
            await db.close()

    asyncio.run(schema_sql(f"CREATE SCHEMA {schema}"))
    try:
        asyncio.run(measure(f"{POSTGRES_URL}?search_path={schema}", count))
    finally:
        asyncio.run(schema_sql(f"DROP SCHEMA {schema} CASCADE"))


if __name__ == "__main__":
    main()
