"""Fixtures every tier may use; each tier's conftest says what that tier needs besides."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from chatroom.store import MessageStore, open_store
from tests.databases import postgres_schema


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each store test runs against every implementation."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'chat.sqlite3'}"
    else:
        with postgres_schema("test_store") as url:
            yield url


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[MessageStore]:
    store = open_store(store_url)
    await store.open()
    yield store
    await store.close()
