"""The store's operations for the console (migration level, backup, room records, restore), on every implementation."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from chatroom.errors import CommandError
from chatroom.store import DELETE, EDIT, NEW, REACTIONS, Message, MessageStore, Reaction, RoomRecord, open_store
from chatroom.store.sql import MIGRATIONS
from tests.databases import postgres_schema

pytestmark = pytest.mark.anyio

T0 = datetime(2026, 11, 30, 12, 0, 0, 123456, tzinfo=UTC)


def message(room: str, seq: int, text: str = "") -> Message:
    return Message(room, seq, "ada", "uid-ada", text or f"{room} {seq}", T0 + timedelta(seconds=seq))


async def test_the_migration_level_is_every_migration_after_open(store: MessageStore) -> None:
    assert await store.migration_level() == len(MIGRATIONS)


@pytest.fixture
def empty_schema() -> Iterator[str]:
    with postgres_schema("test_ops") as url:
        yield url


async def test_opening_without_migrating_leaves_a_new_database_at_level_zero(empty_schema: str) -> None:
    store = open_store(empty_schema)
    await store.open(migrate=False)
    try:
        assert await store.migration_level() == 0
    finally:
        await store.close()


async def test_room_records_page_through_every_room_by_code_point(store: MessageStore) -> None:
    for name in ("b-room", "a_room", "a-room", "lobby", "0"):
        await store.create_room(name)
    await store.append("lobby", "ada", "uid-ada", "hi")
    first = await store.room_records("", 3)
    rest = await store.room_records(first[-1].name, 3)
    assert [r.name for r in first + rest] == ["0", "a-room", "a_room", "b-room", "lobby"]
    lobby = rest[-1]
    assert lobby.last_seq == 1 and lobby.created_at <= lobby.active_at


async def test_restored_rooms_are_made_empty_and_merged_with_existing_ones(store: MessageStore) -> None:
    await store.append("lobby", "ada", "uid-ada", "hi")
    [lobby] = await store.room_records("", 1)
    older = T0 - timedelta(days=300)
    await store.restore_rooms([RoomRecord("lobby", 40, older, older), RoomRecord("dev", 7, T0, T0)])
    dev, merged = await store.room_records("", 10)
    assert dev == RoomRecord("dev", 0, T0, T0), "last_seq moves only with messages"
    assert merged == replace(lobby, created_at=older), "the earliest creation, the latest activity"


async def test_restored_messages_keep_their_seq_and_raise_the_rooms_counter(store: MessageStore) -> None:
    await store.restore_rooms([RoomRecord("lobby", 3, T0, T0)])
    await store.restore_log([message("lobby", 1), message("lobby", 2), message("lobby", 3)], [])
    assert await store.after("lobby", 0, 10) == [message("lobby", 1), message("lobby", 2), message("lobby", 3)]
    assert await store.last_seq("lobby") == 3
    assert (await store.append("lobby", "bob", "uid-bob", "next")).seq == 4


async def test_a_restored_log_has_its_changes_reactions_and_deleted_messages(store: MessageStore) -> None:
    await store.restore_rooms([RoomRecord("lobby", 0, T0, T0)])
    edited = replace(message("lobby", 1, "the new text"), edited=True)
    deleted = replace(message("lobby", 2, "ignored"), text="", deleted=True)
    changes = [
        Message("lobby", 3, "", "", "", T0, target=1, kind=EDIT),
        Message("lobby", 4, "", "", "", T0, target=2, kind=DELETE),
        Message("lobby", 5, "", "", "", T0, target=1, kind=REACTIONS),
    ]
    reactions = [
        Reaction("lobby", 1, "👍", "uid-bob"),
        Reaction("lobby", 1, "🎉", "uid-eve"),
        Reaction("lobby", 1, "👍", "uid-eve"),
    ]
    await store.restore_log([edited, deleted, *changes], reactions)
    log = await store.log_after("lobby", 0, 10)
    assert [(e.seq, e.kind, e.target) for e in log] == [
        (1, NEW, 0),
        (2, NEW, 0),
        (3, EDIT, 1),
        (4, DELETE, 2),
        (5, REACTIONS, 1),
    ]
    assert (log[0].text, log[0].edited, log[0].reactions) == (
        "the new text",
        True,
        (("👍", ("uid-bob", "uid-eve")), ("🎉", ("uid-eve",))),
    )
    assert (log[1].text, log[1].deleted) == ("", True)
    assert await store.last_seq("lobby") == 5
    await store.restore_log([edited], reactions)  # again: nothing doubles
    assert await store.log_after("lobby", 0, 10) == log


async def test_a_restored_message_never_replaces_one_there(store: MessageStore) -> None:
    await store.restore_rooms([RoomRecord("lobby", 0, T0, T0)])
    await store.restore_log([message("lobby", 1, "first")], [])
    await store.restore_log([message("lobby", 1, "impostor"), message("lobby", 2)], [])
    assert [m.text for m in await store.after("lobby", 0, 10)] == ["first", "lobby 2"]


async def test_restore_last_seq_never_lowers_it(store: MessageStore) -> None:
    for _ in range(5):
        await store.append("lobby", "ada", "uid-ada", "hi")
    await store.restore_last_seq("lobby", 2)
    assert await store.last_seq("lobby") == 5
    await store.restore_last_seq("lobby", 9)
    assert await store.last_seq("lobby") == 9


async def test_a_backup_is_a_store_or_a_sentence_naming_the_tool(
    store: MessageStore, store_url: str, tmp_path: Path
) -> None:
    await store.append("lobby", "ada", "uid-ada", "hi")
    target = tmp_path / "backup.sqlite3"
    if store_url.startswith("postgres"):
        with pytest.raises(CommandError, match="pg_dump"):
            await store.backup(str(target))
        assert not target.exists()
        return
    await store.backup(str(target))
    copy = open_store(f"sqlite:///{target}")
    await copy.open(migrate=False)
    try:
        assert await copy.after("lobby", 0, 10) == await store.after("lobby", 0, 10)
        assert await copy.migration_level() == len(MIGRATIONS)
    finally:
        await copy.close()
