"""An account's time zone in the store, on every implementation: none until chosen, then the latest choice."""

from __future__ import annotations

import pytest

from chatroom.store import MessageStore
from tests.contract.test_store_accounts import keys, person

pytestmark = pytest.mark.anyio


async def test_an_account_has_no_zone_until_it_chooses_one_then_its_latest(store: MessageStore) -> None:
    alice = "a" + "1" * 16
    await store.create_account(person(alice, "Alice"), keys("Alice"))
    assert await store.time_zone(alice) is None
    await store.set_time_zone(alice, "Asia/Tokyo")
    await store.set_time_zone(alice, "Europe/Paris")
    assert await store.time_zone(alice) == "Europe/Paris"
    assert await store.time_zone("a" + "2" * 16) is None
