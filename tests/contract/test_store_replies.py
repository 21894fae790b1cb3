"""Replies in the store, on every implementation: `reply_to` kept, and the quote read as the quoted message is now."""

from __future__ import annotations

import asyncio

import pytest

from chatroom.search import search_query
from chatroom.store import QUOTED_CHARACTERS, MessageStore, Quote

pytestmark = pytest.mark.anyio


async def test_a_reply_keeps_the_id_it_answers_and_comes_back_with_its_quote(store: MessageStore) -> None:
    await store.append("lobby", "ada", "uid-ada", "the question")
    reply = await store.append("lobby", "bob", "uid-bob", "the answer", reply_to=1)
    assert reply.reply_to == 1 and reply.quote == Quote(1, "ada", "uid-ada", "the question")
    plain = await store.append("lobby", "bob", "uid-bob", "no reply")
    assert plain.reply_to == 0 and plain.quote is None
    for read in (
        await store.message("lobby", 2),
        (await store.latest("lobby", 5))[1],
        (await store.before("lobby", 3, 5))[1],
        (await store.after("lobby", 1, 5))[0],
        (await store.log_after("lobby", 1, 5))[0],
    ):
        assert read is not None and (read.reply_to, read.quote) == (1, Quote(1, "ada", "uid-ada", "the question"))


async def test_a_quote_reads_the_quoted_message_as_it_is_now(store: MessageStore) -> None:
    await store.append("lobby", "ada", "uid-ada", "a secret plan")
    await store.append("lobby", "bob", "uid-bob", "tell me more", reply_to=1)
    await store.edit("lobby", 1, "uid-ada", "a public plan")
    edited = await store.message("lobby", 2)
    assert edited is not None and edited.quote == Quote(1, "ada", "uid-ada", "a public plan")
    await store.delete("lobby", 1)
    gone = await store.message("lobby", 2)
    assert gone is not None and gone.quote == Quote(1, "ada", "uid-ada", "", deleted=True)
    log = await store.log_after("lobby", 0, 10)
    assert [(m.seq, m.kind, m.quote.text if m.quote else None) for m in log] == [
        (1, "", None),
        (2, "", ""),
        (3, "edit", None),
        (4, "delete", None),
    ]
    [found] = await store.search(search_query("more") or pytest.fail(), None, 5)
    assert found.message.quote == Quote(1, "ada", "uid-ada", "", deleted=True)
    # An edit of the reply itself keeps what it answers.
    changed = await store.edit("lobby", 2, "uid-bob", "tell me, then")
    assert changed is not None and changed.reply_to == 1 and changed.quote is not None and changed.quote.deleted


async def test_a_quote_reads_only_the_start_of_a_long_text(store: MessageStore) -> None:
    await store.append("lobby", "ada", "uid-ada", "é" * 1500)
    reply = await store.append("lobby", "bob", "uid-bob", "tl;dr?", reply_to=1)
    assert reply.quote is not None and reply.quote.text == "é" * QUOTED_CHARACTERS


async def test_replies_appended_together_each_keep_their_own(store: MessageStore) -> None:
    await store.append("lobby", "ada", "uid-ada", "one")
    await store.append("lobby", "ada", "uid-ada", "two")
    replies = await asyncio.gather(
        *(store.append("lobby", "bob", "uid-bob", f"re {n}", nonce=f"n{n}", reply_to=n % 2 + 1) for n in range(6))
    )
    assert [(r.reply_to, r.quote.text if r.quote else None) for r in replies] == [
        (1, "one"),
        (2, "two"),
        (1, "one"),
        (2, "two"),
        (1, "one"),
        (2, "two"),
    ]
    again = await store.append("lobby", "bob", "uid-bob", "re 1", nonce="n1", reply_to=2)
    assert again.seq == replies[1].seq and again.reply_to == 2 and again.quote is not None
