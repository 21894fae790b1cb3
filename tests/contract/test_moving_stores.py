"""A community moved from SQLite to PostgreSQL by export and import shows the same pages, and keeps going."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from chatroom.app import create_app
from chatroom.portability import export, import_file
from chatroom.settings import Settings
from chatroom.store import open_store
from tests.databases import postgres_schema
from tests.inprocess import hub_of, in_app
from tests.people import page, say, session

MESSAGES = re.compile(r'<ul id="messages".*?</ul>', re.DOTALL)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with postgres_schema("test_move") as url:
        yield url


def app_over(url: str, tmp_path: Path) -> TestClient:
    settings = Settings(data_dir=tmp_path, secret_key="move-secret", database_url=url, broadcast_url="memory://")
    return TestClient(create_app(settings), base_url="http://testserver")


def message_lists(client: TestClient, rooms: tuple[str, ...]) -> dict[str, str]:
    viewer = session(client, "viewer")
    lists = {}
    for room in rooms:
        found = MESSAGES.search(page(client, f"/rooms/{room}", viewer))
        assert found is not None
        lists[room] = found[0]
    return lists


def move(source_url: str, target_url: str, tmp_path: Path) -> None:
    async def run() -> None:
        source, target = open_store(source_url), open_store(target_url)
        await source.open()
        await target.open()
        try:
            with (tmp_path / "export.jsonl").open("w") as out:
                await export(source, out)
            await import_file(target, tmp_path / "export.jsonl")
            again = await import_file(target, tmp_path / "export.jsonl")
            assert again.messages == 0
        finally:
            await source.close()
            await target.close()

    asyncio.run(run())


def test_a_community_moved_to_postgres_shows_the_same_pages(tmp_path: Path, postgres_url: str) -> None:
    sqlite_url = f"sqlite:///{tmp_path / 'chat.sqlite3'}"
    rooms = ("lobby", "dev")
    with app_over(sqlite_url, tmp_path) as client:
        ada, bob = session(client, "ada"), session(client, "bob")
        for number in range(12):
            say(client, f"lobby <b>{number}</b> & more", who=ada if number % 3 else bob)
        say(client, "over in dev\nwith two lines", room="dev", who=bob)
        store = hub_of(client).store
        second = in_app(client, store.message, "lobby", 2)
        assert second is not None
        in_app(client, store.edit, "lobby", 2, second.author_id, "lobby two, edited")
        in_app(client, store.delete, "lobby", 3)
        in_app(client, store.react, "lobby", 4, "uid-bob", "👍", 10)
        before = message_lists(client, rooms)
    assert 'id="msg-12"' in before["lobby"] and "over in dev" in before["dev"]
    assert "lobby two, edited" in before["lobby"] and "lobby &lt;b&gt;2&lt;/b&gt;" not in before["lobby"]
    move(sqlite_url, postgres_url, tmp_path)
    with app_over(postgres_url, tmp_path) as client:
        assert message_lists(client, rooms) == before
        say(client, "the first message after the move", who=session(client, "ada"))
        assert 'id="msg-16"' in page(client, "/rooms/lobby", session(client, "viewer")), "after 13 messages, 3 changes"
