"""Full-text search over messages: the index each database keeps, and the one query over it.

Each message has a row in `search_rows` (its `position`: a number that only grows, so newest first is
the index's own order, and paging is "positions below the last one shown"). Triggers on `messages`
keep the words in step in the same transaction as the insert, edit or deletion, so text that was
edited away or deleted never matches.

Words are matched as written, in any language: SQLite's FTS5 `unicode61` tokenizer and PostgreSQL's
`simple` configuration both split on what is not a letter or digit in Unicode and fold case, and
neither stems (English stemming would serve one language and mangle the others). Diacritics are kept
(`café` is not `cafe`) because PostgreSQL would need an extension to drop them. Scripts written
without spaces (Chinese, Japanese, Thai) match a whole run of text, not a word inside it.
"""

from __future__ import annotations

from dataclasses import dataclass

from chatroom.store import Message

SQLITE_INDEX = """
    CREATE TABLE search_rows (
        position INTEGER PRIMARY KEY AUTOINCREMENT,
        room TEXT NOT NULL,
        seq INTEGER NOT NULL,
        UNIQUE (room, seq)
    );
    CREATE VIRTUAL TABLE search_words USING fts5 (
        text, content = '', tokenize = 'unicode61 remove_diacritics 0'
    );
    INSERT INTO search_rows (room, seq) SELECT room, seq FROM messages ORDER BY sent_at, room, seq;
    INSERT INTO search_words (rowid, text)
        SELECT position, text FROM search_rows JOIN messages USING (room, seq);
    CREATE TRIGGER messages_searched AFTER INSERT ON messages BEGIN
        INSERT INTO search_rows (room, seq) VALUES (new.room, new.seq);
        INSERT INTO search_words (rowid, text) VALUES (last_insert_rowid(), new.text);
    END;
    CREATE TRIGGER messages_search_edited AFTER UPDATE OF text ON messages BEGIN
        INSERT INTO search_words (search_words, rowid, text)
            SELECT 'delete', position, old.text FROM search_rows WHERE room = old.room AND seq = old.seq;
        INSERT INTO search_words (rowid, text)
            SELECT position, new.text FROM search_rows WHERE room = new.room AND seq = new.seq;
    END;
    CREATE TRIGGER messages_search_deleted AFTER DELETE ON messages BEGIN
        INSERT INTO search_words (search_words, rowid, text)
            SELECT 'delete', position, old.text FROM search_rows WHERE room = old.room AND seq = old.seq;
        DELETE FROM search_rows WHERE room = old.room AND seq = old.seq;
    END;
"""
# An FTS5 insert costs SQLite (3.40) three to four times as much from a trigger as from a statement of its own:
# indexing a message's words from the insert trigger took ~55 µs more of the store's thread per message, a third
# of an append (bench/RESULTS.md). So the trigger keeps only the row's position, and the store indexes the words of
# the positions a write transaction added with one statement before its commit (`SQLITE_NEW_WORDS`, from
# `SQLITE_LAST_POSITION` read at its start, under the write lock).
SQLITE_WORDS_AT_COMMIT = """
    DROP TRIGGER messages_searched;
    CREATE TRIGGER messages_searched AFTER INSERT ON messages BEGIN
        INSERT INTO search_rows (room, seq) VALUES (new.room, new.seq);
    END;
"""
SQLITE_LAST_POSITION = "SELECT coalesce(max(position), 0) FROM search_rows"
SQLITE_NEW_WORDS = (
    "INSERT INTO search_words (rowid, text) SELECT s.position, m.text FROM search_rows AS s "
    "JOIN messages AS m ON m.room = s.room AND m.seq = s.seq WHERE s.position > ?"
)

# The FTS5 table is contentless: it keeps the words' index, not a second copy of every text.
# PostgreSQL: with its default statistics the planner takes a rare word for a common one and walks every
# position newest first (200 ms over a million messages); with 1000 it knows, and asks the GIN index (3 ms).

POSTGRES_INDEX = """
    CREATE TABLE search_rows (
        position BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        room TEXT NOT NULL,
        seq BIGINT NOT NULL,
        words tsvector NOT NULL,
        UNIQUE (room, seq)
    );
    INSERT INTO search_rows (room, seq, words)
        SELECT room, seq, to_tsvector('simple', text) FROM messages ORDER BY sent_at, room, seq;
    CREATE INDEX search_rows_words ON search_rows USING GIN (words);
    ALTER TABLE search_rows ALTER COLUMN words SET STATISTICS 1000;
    CREATE FUNCTION messages_searched() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            INSERT INTO search_rows (room, seq, words) VALUES (NEW.room, NEW.seq, to_tsvector('simple', NEW.text));
        ELSIF TG_OP = 'UPDATE' THEN
            UPDATE search_rows SET words = to_tsvector('simple', NEW.text) WHERE room = NEW.room AND seq = NEW.seq;
        ELSE
            DELETE FROM search_rows WHERE room = OLD.room AND seq = OLD.seq;
        END IF;
        RETURN NULL;
    END $$;
    CREATE TRIGGER messages_searched AFTER INSERT OR UPDATE OF text OR DELETE ON messages
        FOR EACH ROW EXECUTE FUNCTION messages_searched();
"""

# GIN's "fast update" keeps new rows' words in a pending list until it passes `gin_pending_list_limit` (4 MB by
# default) or a vacuum merges it, and every search reads all of it: over a million messages 434 pages, 3.4 ms of a
# word nobody wrote (0.13 ms without) and the long tail of PostgreSQL's p99 while messages arrive. Without the
# list (fastupdate off) each insert updates the index itself, which cost 50 senders a quarter of their messages/s
# (bench.ingest); a list of at most 128 kB keeps the inserts' batching and bounds what a search reads to 16 pages.
POSTGRES_INDEX_PENDING = """
    ALTER INDEX search_rows_words SET (gin_pending_list_limit = 128);
    SELECT gin_clean_pending_list('search_rows_words'::regclass);
"""

# PostgreSQL: the author's name as the filter folds it, beside the words (names on messages never change), so a
# search by one person walks the index's rows alone and reads only the page's messages: over a million messages a
# common word by one of 200 people read every candidate's message, 14,017 buffers (15 ms quiet, 155 ms at p99 on
# the busy machine), against 5,409 and 2.8 ms with the column added by this UPDATE, which leaves the table's rows
# out of order; rows stored in order, as the triggers store them, read fewer.
POSTGRES_AUTHOR = """
    ALTER TABLE search_rows ADD COLUMN author TEXT;
    UPDATE search_rows AS s SET author = lower(m.author) FROM messages AS m WHERE m.room = s.room AND m.seq = s.seq;
    CREATE OR REPLACE FUNCTION messages_searched() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            INSERT INTO search_rows (room, seq, words, author)
                VALUES (NEW.room, NEW.seq, to_tsvector('simple', NEW.text), lower(NEW.author));
        ELSIF TG_OP = 'UPDATE' THEN
            UPDATE search_rows SET words = to_tsvector('simple', NEW.text) WHERE room = NEW.room AND seq = NEW.seq;
        ELSE
            DELETE FROM search_rows WHERE room = OLD.room AND seq = OLD.seq;
        END IF;
        RETURN NULL;
    END $$;
"""

_ROOM = "AND (CAST(? AS TEXT) IS NULL OR s.room = ?) "
_FILTERS = _ROOM + "AND (CAST(? AS TEXT) IS NULL OR lower(m.author) = lower(?)) "
_POSTGRES_FILTERS = _ROOM + "AND (CAST(? AS TEXT) IS NULL OR s.author = lower(?)) "
# Ordered by the FTS5 table's own rowid (the position), which FTS5 walks newest first and stops at the limit.
SQLITE_QUERY = (
    "SELECT {found} FROM search_words JOIN search_rows AS s ON s.position = search_words.rowid "
    "JOIN messages AS m ON m.room = s.room AND m.seq = s.seq {quoted} "
    f"WHERE search_words MATCH ? AND search_words.rowid < ? {_FILTERS}ORDER BY search_words.rowid DESC LIMIT ?"
)
POSTGRES_QUERY = (
    "SELECT {found} FROM search_rows AS s JOIN messages AS m ON m.room = s.room AND m.seq = s.seq {quoted} "
    "WHERE s.words @@ plainto_tsquery('simple', ?) AND s.position < ? "
    f"{_POSTGRES_FILTERS}ORDER BY s.position DESC LIMIT ?"
)
END = 2**62  # a position past every one: the first page


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """Messages with every one of `words`, optionally only in `room` or by the author named `author`."""

    words: tuple[str, ...]
    room: str | None = None
    author: str | None = None


@dataclass(frozen=True, slots=True)
class Found:
    position: int  # where the message is in the index: the next page starts below the last one's
    message: Message


# Whether a result has files, so that only those are looked up: one query per result was 20 round trips a page,
# most of a page's time (PostgreSQL over a million messages: 6.9 ms at p50 for a common word).
HAS_FILES = "EXISTS (SELECT 1 FROM files AS f WHERE f.room = m.room AND f.seq = m.seq)"


def query(template: str, columns: str) -> str:
    """`SQLITE_QUERY` or `POSTGRES_QUERY` selecting a result's position, a message's `columns` (of `m`, and of
    `q`: the message it replies to, as it is now), then `HAS_FILES`."""
    quoted = "LEFT JOIN messages AS q ON q.room = m.room AND q.seq = m.reply_to"
    return template.replace("{found}", f"s.position, {columns}, {HAS_FILES}").replace("{quoted}", quoted)


def fts5_words(words: tuple[str, ...]) -> str:
    """An FTS5 query of every word, each a quoted string: nothing the person typed is FTS5 syntax
    (`"`, `*`, `NEAR`, `-`, `OR`, `:` are all text to match)."""
    return " ".join('"' + word.replace('"', '""') + '"' for word in words)


def arguments(query: SearchQuery, matched: str, before: int | None, limit: int) -> tuple[object, ...]:
    """The query's arguments, in the order of its placeholders; `matched` is the words in the store's syntax."""
    below = END if before is None else before
    return (matched, below, query.room, query.room, query.author, query.author, limit)
