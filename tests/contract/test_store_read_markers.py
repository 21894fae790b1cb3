"""Read markers forget people who do not come back, on every store: a guest's session may never return."""

from __future__ import annotations

import sqlite3

import asyncpg
import pytest

from chatroom.store import MessageStore, now_us, open_store, postgres, sqlite

pytestmark = pytest.mark.anyio

DAY = 24 * 3600 * 1_000_000


async def test_read_markers_not_written_since_the_cutoff_expire(store: MessageStore) -> None:
    await store.mark_read([("uid-alice", "old", 3), ("uid-bob", "old", 1)], now=1_000)
    await store.mark_read([("uid-alice", "new", 2)], now=3_000)
    assert await store.expire_read_markers(2_000, limit=10) == 2
    assert await store.read_markers("uid-alice") == {"new": 2}
    assert await store.read_markers("uid-bob") == {}


async def test_reading_a_room_again_keeps_its_marker_even_without_new_messages(store: MessageStore) -> None:
    await store.mark_read([("uid-alice", "dev", 5)], now=1_000)
    await store.mark_read([("uid-alice", "dev", 5)], now=3_000)
    await store.mark_read([("uid-alice", "dev", 4)], now=4_000)
    assert await store.expire_read_markers(2_000, limit=10) == 0
    assert await store.read_markers("uid-alice") == {"dev": 5}


async def test_read_marker_expiry_deletes_at_most_the_limit_per_run_oldest_first(store: MessageStore) -> None:
    await store.mark_read([("uid-alice", f"room-{n}", 1) for n in range(3)], now=1_000)
    await store.mark_read([("uid-alice", "room-3", 1)], now=2_000)
    assert await store.expire_read_markers(5_000, limit=3) == 3
    assert await store.read_markers("uid-alice") == {"room-3": 1}
    assert await store.expire_read_markers(5_000, limit=3) == 1


async def test_read_markers_from_before_their_age_was_kept_count_as_written_at_the_upgrade(store_url: str) -> None:
    await at_version_3_with_a_read_marker(store_url)
    store = open_store(store_url)
    await store.open()
    try:
        assert await store.read_markers("uid-alice") == {"dev": 4}
        assert await store.expire_read_markers(now_us() - DAY, limit=10) == 0, "not expired by the upgrade"
        assert await store.expire_read_markers(now_us() + DAY, limit=10) == 1
    finally:
        await store.close()


async def at_version_3_with_a_read_marker(url: str) -> None:
    """A database as the first three migrations left it, where alice saw `dev` up to 4."""
    marker = "INSERT INTO read_markers (uid, room, seq) VALUES ('uid-alice', 'dev', 4)"
    if url.startswith("sqlite"):
        db = sqlite3.connect(url.removeprefix("sqlite:///"))
        for script in sqlite.MIGRATIONS[:3]:
            db.executescript(script)
        db.execute(marker)
        db.execute("PRAGMA user_version = 3")
        db.commit()
        db.close()
        return
    pg = await asyncpg.connect(url)
    try:
        for script in postgres.MIGRATIONS[:3]:
            await pg.execute(script)
        await pg.execute(marker)
        await pg.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        await pg.execute("INSERT INTO schema_version (version) VALUES (3)")
    finally:
        await pg.close()
