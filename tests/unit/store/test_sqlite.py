"""The SQLite store's own failures (its contract with the PostgreSQL one is in tests/contract)."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatroom.errors import StoreUnavailable
from chatroom.store import open_store

pytestmark = pytest.mark.anyio


async def test_unreachable_sqlite_raises_store_unavailable(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    store = open_store(f"sqlite:///{tmp_path / 'file' / 'chat.sqlite3'}")
    with pytest.raises(StoreUnavailable):
        await store.open()
