"""The SQLite store's own failures (its contract with the PostgreSQL one is in tests/contract)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from chatroom.errors import StoreUnavailable
from chatroom.store import open_store
from chatroom.store.sqlite import SQLiteStore

pytestmark = pytest.mark.anyio


async def test_unreachable_sqlite_raises_store_unavailable(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    store = open_store(f"sqlite:///{tmp_path / 'file' / 'chat.sqlite3'}")
    with pytest.raises(StoreUnavailable):
        await store.open()


def test_a_backup_is_a_log_of_its_own(tmp_path: Path) -> None:
    async def scenario() -> tuple[str, str]:
        store = SQLiteStore(f"sqlite:///{tmp_path / 'live.sqlite3'}")
        await store.open()
        await store.append("lobby", "alice", "uid-alice", "before the backup")
        await store.backup(str(tmp_path / "backup.sqlite3"))
        restored = SQLiteStore(f"sqlite:///{tmp_path / 'backup.sqlite3'}")
        await restored.open()
        try:
            assert [m.text for m in await restored.latest("lobby", 10)] == ["before the backup"]
            return await store.epoch(), await restored.epoch()
        finally:
            await restored.close()
            await store.close()

    live, backup = asyncio.run(scenario())
    assert live != backup  # a client's place in the live log is not taken for one in the restored backup
