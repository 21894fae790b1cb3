"""Full-text search, on every store: every word must match, newest first, in step with edits and deletions."""

from __future__ import annotations

import asyncio
import importlib
from datetime import UTC, datetime
from typing import Any, cast

import pytest

from chatroom.store import Message, MessageStore, RoomRecord, open_store, search, sql
from chatroom.store.search import SearchQuery
from tests.databases import postgres_schema

pytestmark = pytest.mark.anyio


async def texts(
    store: MessageStore, *words: str, before: int | None = None, limit: int = 20, **filters: Any
) -> list[str]:
    return [f.message.text for f in await store.search(SearchQuery(words, **filters), before, limit)]


async def test_a_search_finds_the_messages_with_every_word_newest_first(store: MessageStore) -> None:
    for text in ("the cat sat", "a dog sat", "the cat and the dog", "Cats are not cat"):
        await store.append("lobby", "alice", "uid-alice", text)
    assert await texts(store, "cat") == ["Cats are not cat", "the cat and the dog", "the cat sat"]
    assert await texts(store, "cat", "dog") == ["the cat and the dog"]
    assert await texts(store, "CAT", "Sat") == ["the cat sat"]
    assert await texts(store, "bird") == []


async def test_words_of_any_language_are_matched_as_written(store: MessageStore) -> None:
    for text in ("Привет, мир", "καλημέρα κόσμε", "שלום עולם", "grüße aus Köln", "café au lait"):
        await store.append("lobby", "alice", "uid-alice", text)
    assert await texts(store, "мир") == ["Привет, мир"]
    assert await texts(store, "ΚΌΣΜΕ") == ["καλημέρα κόσμε"]
    assert await texts(store, "עולם") == ["שלום עולם"]
    assert await texts(store, "köln") == ["grüße aus Köln"]
    assert await texts(store, "café") == ["café au lait"]


@pytest.mark.parametrize(
    "word", ['"', "*", "NEAR", "-", "OR", "AND", "NOT", "a*", '"a"', "col:x", "(", "^a", "'", "\\", "%", "_"]
)
async def test_query_syntax_is_only_ever_text_to_match(store: MessageStore, word: str) -> None:
    await store.append("lobby", "alice", "uid-alice", "NEAR OR AND NOT plain words")
    found = await texts(store, word)
    assert found in ([], ["NEAR OR AND NOT plain words"])


async def test_room_and_author_filters(store: MessageStore) -> None:
    await store.append("lobby", "alice", "uid-alice", "deploy today")
    await store.append("dev", "Bob", "uid-bob", "deploy tomorrow")
    await store.append("dev", "alice", "uid-alice", "deploy never")
    assert await texts(store, "deploy", room="dev") == ["deploy never", "deploy tomorrow"]
    assert await texts(store, "deploy", author="bob") == ["deploy tomorrow"]
    assert await texts(store, "deploy", room="dev", author="ALICE") == ["deploy never"]
    assert await texts(store, "deploy", room="nowhere") == []


async def test_pages_go_on_below_the_last_position(store: MessageStore) -> None:
    for n in range(1, 8):
        await store.append("lobby", "alice", "uid-alice", f"word {n}")
    first = await store.search(SearchQuery(("word",)), None, 3)
    assert [f.message.seq for f in first] == [7, 6, 5]
    second = await store.search(SearchQuery(("word",)), first[-1].position, 3)
    assert [f.message.seq for f in second] == [4, 3, 2]
    assert [f.message.seq for f in await store.search(SearchQuery(("word",)), second[-1].position, 3)] == [1]


async def test_edited_away_text_no_longer_matches_and_the_new_text_does(store: MessageStore) -> None:
    await store.append("lobby", "alice", "uid-alice", "secret plan")
    await store.append("lobby", "alice", "uid-alice", "other plan")
    assert await store.edit("lobby", 1, "uid-alice", "public plan") is not None
    assert await texts(store, "secret") == []
    assert await texts(store, "public") == ["public plan"]
    assert await texts(store, "plan") == ["other plan", "public plan"], "an edit keeps the message's place"


async def test_deleted_text_never_matches(store: MessageStore) -> None:
    await store.append("lobby", "alice", "uid-alice", "delete me")
    await store.append("lobby", "alice", "uid-alice", "keep me")
    assert await store.delete("lobby", 1) is not None
    assert await texts(store, "me") == ["keep me"]
    assert await texts(store, "delete") == []


async def test_restored_messages_and_appends_sharing_a_commit_are_found(store: MessageStore) -> None:
    """Every way a message is written indexes its words: a restore, and appends that share a commit."""
    sent = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    await store.restore_rooms([RoomRecord("lobby", 2, sent, sent)])
    await store.restore_log(
        [Message("lobby", seq, "ada", "uid-ada", f"restored words {seq}", sent) for seq in (1, 2)], []
    )
    await asyncio.gather(*(store.append(f"room{n}", "bob", "uid-bob", f"batched words {n}") for n in range(20)))
    found = await texts(store, "words", limit=50)
    assert sorted(found) == sorted([f"restored words {s}" for s in (1, 2)] + [f"batched words {n}" for n in range(20)])
    assert await texts(store, "restored", "2") == ["restored words 2"]


async def test_messages_stored_before_the_index_existed_are_found_after_the_upgrade(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = importlib.import_module(f"chatroom.store.{'sqlite' if store_url.startswith('sqlite') else 'postgres'}")
    index = next(n for n, m in enumerate(sql.MIGRATIONS) if isinstance(m, sql.PerDialect))
    with monkeypatch.context() as before_search:
        before_search.setattr(module, "MIGRATIONS", module.MIGRATIONS[:index])
        old = open_store(store_url)
        await old.open()
        # Written as that release wrote them: this one's append names columns added since (`reply_to`).
        dialect = sql.SQLITE if store_url.startswith("sqlite") else sql.POSTGRES
        insert = "INSERT INTO messages (room, seq, author, author_id, text, sent_at) VALUES (?, ?, ?, ?, ?, ?)"
        await old.create_room("lobby")
        for seq, text in enumerate(("older words", "old words"), 1):
            await cast(sql.SQLStore, old)._write(
                sql.render(insert, dialect), "lobby", seq, "alice", "uid-alice", text, seq
            )
        await old.restore_last_seq("lobby", 2)
        await old.close()
    upgraded = open_store(store_url)
    await upgraded.open()
    try:
        assert await texts(upgraded, "words") == ["old words", "older words"]
        await upgraded.append("lobby", "alice", "uid-alice", "new words")
        assert await texts(upgraded, "words") == ["new words", "old words", "older words"]
    finally:
        await upgraded.close()


def test_postgres_keeps_its_index_pending_list_small() -> None:
    """A small pending list of new rows' words: every search reads all of it until it is merged. PostgreSQL's
    alone: SQLite's FTS5 index has no pending list."""

    async def check(url: str) -> None:
        store = open_store(url)
        await store.open()
        try:
            assert isinstance(store, sql.SQLStore)
            await store.append("lobby", "alice", "uid-alice", "fresh words")
            rows = await store._read("SELECT reloptions FROM pg_class WHERE oid = 'search_rows_words'::regclass")
            assert "gin_pending_list_limit=128" in rows[0][0]
            assert await texts(store, "fresh") == ["fresh words"]
        finally:
            await store.close()

    with postgres_schema("test_store") as url:
        asyncio.run(check(url))


async def test_messages_stored_before_searches_named_their_author_are_found_by_author_after_the_upgrade(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = importlib.import_module(f"chatroom.store.{'sqlite' if store_url.startswith('sqlite') else 'postgres'}")
    index = next(n for n, m in enumerate(sql.MIGRATIONS) if getattr(m, "postgres", "") == search.POSTGRES_AUTHOR)
    with monkeypatch.context() as before_authors:
        before_authors.setattr(module, "MIGRATIONS", module.MIGRATIONS[:index])
        old = open_store(store_url)
        await old.open()
        await old.append("lobby", "Alice", "uid-alice", "old words")
        await old.append("lobby", "bob", "uid-bob", "bob's old words")
        await old.close()
    upgraded = open_store(store_url)
    await upgraded.open()
    try:
        await upgraded.append("lobby", "ALICE", "uid-alice", "new words")
        assert await texts(upgraded, "words", author="alice") == ["new words", "old words"]
        assert await texts(upgraded, "words", author="Bob") == ["bob's old words"]
    finally:
        await upgraded.close()
