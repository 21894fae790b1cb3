"""The queries are written once with `?` placeholders; asyncpg gets them numbered."""

from __future__ import annotations

from chatroom.store.sql import numbered


def test_placeholders_are_numbered_in_order() -> None:
    sql = "SELECT a FROM t WHERE b = ? AND c > ? LIMIT ?"
    assert numbered(sql) == "SELECT a FROM t WHERE b = $1 AND c > $2 LIMIT $3"


def test_a_question_mark_inside_quotes_is_text_not_a_placeholder() -> None:
    assert numbered("SELECT '?', x FROM t WHERE y = ?") == "SELECT '?', x FROM t WHERE y = $1"
