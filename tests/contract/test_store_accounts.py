"""Accounts, sessions and tokens in every store: names unique by every key, sessions found in batches,
tokens used up atomically."""

from __future__ import annotations

import asyncio

import pytest

from chatroom.accounts.records import BOT, INVITE, RESET, Account, Token
from chatroom.names import key
from chatroom.store import MessageStore, NameKeys, now_us
from chatroom.store.sql import SESSION_BATCH

pytestmark = pytest.mark.anyio

HOUR = 3600 * 1_000_000


def keys(name: str) -> NameKeys:
    k = key(name)
    return k.folded, k.looks, k.looks_folded


def person(id: str, name: str, role: str = "member") -> Account:
    return Account(id, name, role, True, "hash-of-" + name, now_us())


async def test_an_account_name_is_unique_by_case_width_and_look(store: MessageStore) -> None:
    assert await store.create_account(person("a" + "1" * 16, "Alice"), keys("Alice"))
    for other in ("alice", "ALICE", "\u0410lice"):
        assert not await store.create_account(person("a" + "2" * 16, other), keys(other))
    assert await store.name_holder(keys("\u0410LICE")) == ("a" + "1" * 16, "Alice")
    assert await store.name_holder(keys("Bob")) is None
    found = await store.account_by_name("alice")
    assert found is not None and found.password_hash == "hash-of-Alice" and found.role == "member"


async def test_rename_refuses_a_name_held_by_another(store: MessageStore) -> None:
    alice, bob = "a" + "1" * 16, "a" + "2" * 16
    await store.create_account(person(alice, "Alice"), keys("Alice"))
    await store.create_account(person(bob, "Bob"), keys("Bob"))
    assert not await store.rename_account(bob, "ALICE", keys("ALICE"))
    assert await store.rename_account(bob, "Robert", keys("Robert"))
    assert await store.rename_account(alice, "alice", keys("alice"))  # one's own name, cased anew
    assert [a.name for a in await store.accounts(10)] == ["alice", "Robert"]


async def test_roles_activity_and_the_count_of_administrators(store: MessageStore) -> None:
    ada, bob = "a" + "1" * 16, "a" + "2" * 16
    await store.create_account(person(ada, "Ada", "admin"), keys("Ada"))
    await store.create_account(person(bob, "Bob"), keys("Bob"))
    assert await store.count_admins() == 1
    assert await store.set_role(bob, "admin")
    assert await store.count_admins() == 2
    assert await store.set_active(ada, False)
    assert await store.count_admins() == 1
    assert not await store.set_role("a" + "9" * 16, "admin")


async def test_sessions_are_found_in_batches_and_end(store: MessageStore) -> None:
    ada, bob = "a" + "1" * 16, "a" + "2" * 16
    await store.create_account(person(ada, "Ada"), keys("Ada"))
    await store.create_account(person(bob, "Bob"), keys("Bob"))
    now = now_us()
    ids = [f"s{n:03d}" for n in range(SESSION_BATCH * 2 + 5)]
    for n, id in enumerate(ids):
        await store.create_session(id, ada if n % 2 else bob, now, now + HOUR)
    await store.create_session("expired", bob, now - 2 * HOUR, now - HOUR)
    found = await store.sessions([*ids, "expired", "unknown"], now)
    assert set(found) == set(ids)
    assert found["s001"].id == ada and found["s000"].name == "Bob"
    ended = await store.end_sessions(ada, keep="s001")
    assert sorted(ended) == sorted(i for n, i in enumerate(ids) if n % 2 and i != "s001")
    await store.end_session("s000")
    assert set(await store.sessions(ids, now)) == {"s001", *(i for n, i in enumerate(ids) if n % 2 == 0)} - {"s000"}
    await store.set_active(bob, False)
    assert set(await store.sessions(ids, now)) == {"s001"}
    assert await store.expire_sessions(now) == 1


async def test_a_token_is_used_up_atomically(store: MessageStore) -> None:
    now = now_us()
    await store.create_token("hash-1", Token("t1", INVITE, None, "moderator", 3, None, now, now + HOUR))
    uses = await asyncio.gather(*(store.use_token("hash-1", INVITE, now) for _ in range(6)))
    granted = [u for u in uses if u is not None]
    assert len(granted) == 3 and {g.role for g in granted} == {"moderator"}
    assert await store.use_token("hash-1", INVITE, now) is None
    await store.give_back_token("hash-1")
    assert await store.use_token("hash-1", RESET, now) is None  # another kind
    assert await store.use_token("hash-1", INVITE, now) is not None


async def test_expired_and_revoked_tokens_are_not_usable(store: MessageStore) -> None:
    now = now_us()
    ada = "a" + "1" * 16
    await store.create_account(person(ada, "Ada"), keys("Ada"))
    await store.create_token("old", Token("t1", INVITE, None, "member", 1, ada, now - 2 * HOUR, now - HOUR))
    await store.create_token("new", Token("t2", INVITE, None, "member", 5, ada, now, now + HOUR))
    await store.create_token("reset", Token("t3", RESET, ada, "member", 1, ada, now, now + HOUR))
    assert await store.use_token("old", INVITE, now) is None
    assert await store.token("old", now) is None
    assert [t.id for t in await store.tokens(INVITE, now, 10)] == ["t2"]
    assert not await store.revoke_token("t2", BOT)
    assert await store.revoke_token("t2", INVITE)
    assert await store.tokens(INVITE, now, 10) == []
    assert await store.end_tokens(ada, RESET) == 1
    assert await store.token("reset", now) is None
    await store.create_token("used", Token("t4", INVITE, None, "member", 0, ada, now, now + HOUR))
    assert await store.expire_tokens(now) == 2  # the expired one and the used-up one
    assert await store.expire_tokens(now) == 0
