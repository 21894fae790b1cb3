"""/healthz tells anyone whether the chat works and which part does not; the details are for operators."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from starlette.testclient import TestClient

from chatroom.errors import StoreUnavailable
from chatroom.store.sql import MIGRATIONS
from chatroom.version import VERSION
from tests.inprocess import hub_of
from tests.unit.conftest import Join, MakeClient

TOKEN = "operator-token-0123456789"


@pytest.fixture
def store_down(monkeypatch: pytest.MonkeyPatch) -> Callable[[TestClient], None]:
    """Breaks the store of a client's app: break(client)."""

    def down(client: TestClient) -> None:
        async def ping() -> None:
            raise StoreUnavailable("could not connect to db.internal.example:5432")

        monkeypatch.setattr(hub_of(client).store, "ping", ping)

    return down


def test_the_public_answer_names_the_failing_part_and_nothing_else(
    make_client: MakeClient, store_down: Callable[[TestClient], None], caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(metrics_token=TOKEN)
    store_down(client)
    with caplog.at_level(logging.WARNING, logger="chatroom"):
        health = client.get("/healthz")
    assert health.status_code == 503
    assert health.json() == {"status": "unavailable", "store": "unavailable", "bus": "ok"}
    assert "db.internal.example:5432" in caplog.text, "the error text is logged instead"


def test_the_public_answer_has_no_connection_count(client: TestClient, join: Join) -> None:
    join(client)
    assert client.get("/healthz").json() == {"status": "ok", "store": "ok", "bus": "ok"}


def test_the_metrics_token_shows_the_details(
    make_client: MakeClient, store_down: Callable[[TestClient], None], join: Join
) -> None:
    client = make_client(metrics_token=TOKEN)
    store_down(client)
    join(client)
    health = client.get("/healthz", headers={"authorization": f"Bearer {TOKEN}"})
    assert health.status_code == 503
    assert health.json() == {
        "status": "unavailable",
        "store": "unavailable: could not connect to db.internal.example:5432",
        "bus": "ok",
        "bus_backend": "memory",
        "connections": 1,
        "version": VERSION,
        "migration_level": len(MIGRATIONS),
        "latest_migration": len(MIGRATIONS),
    }


def test_a_wrong_or_unset_metrics_token_shows_no_details(make_client: MakeClient) -> None:
    with_token, without = make_client(metrics_token=TOKEN), make_client()
    public = {"status": "ok", "store": "ok", "bus": "ok"}
    assert with_token.get("/healthz", headers={"authorization": f"Bearer {TOKEN}x"}).json() == public
    assert with_token.get("/healthz", headers={"authorization": TOKEN}).json() == public
    assert without.get("/healthz", headers={"authorization": "Bearer "}).json() == public


def test_the_details_say_when_the_migration_level_cannot_be_read(
    make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client(metrics_token=TOKEN)

    async def unreadable() -> int:
        raise StoreUnavailable("could not connect to db.internal.example:5432")

    monkeypatch.setattr(hub_of(client).store, "migration_level", unreadable)
    details = client.get("/healthz", headers={"authorization": f"Bearer {TOKEN}"}).json()
    assert (details["migration_level"], details["latest_migration"]) == (None, len(MIGRATIONS))
    assert "version" not in client.get("/healthz").json(), "the public answer stays as it was"
