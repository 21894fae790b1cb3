"""/healthz tells anyone whether the chat works and which part does not; the details are for operators."""

from __future__ import annotations

import logging

import pytest
from starlette.testclient import TestClient

from chatroom.errors import StoreUnavailable

TOKEN = "operator-token-0123456789"


@pytest.fixture
def store_down(monkeypatch: pytest.MonkeyPatch) -> object:
    """Breaks the store of a client's app: break(client)."""

    def down(client: TestClient) -> None:
        async def ping() -> None:
            raise StoreUnavailable("could not connect to db.internal.example:5432")

        monkeypatch.setattr(client.app.state.chat.hub.store, "ping", ping)  # type: ignore[attr-defined]

    return down


def test_the_public_answer_names_the_failing_part_and_nothing_else(make_client, store_down, caplog) -> None:
    client = make_client(metrics_token=TOKEN)
    store_down(client)
    with caplog.at_level(logging.WARNING, logger="chatroom"):
        health = client.get("/healthz")
    assert health.status_code == 503
    assert health.json() == {"status": "unavailable", "store": "unavailable", "bus": "ok"}
    assert "db.internal.example:5432" in caplog.text, "the error text is logged instead"


def test_the_public_answer_has_no_connection_count(client: TestClient, join) -> None:
    join(client)
    assert client.get("/healthz").json() == {"status": "ok", "store": "ok", "bus": "ok"}


def test_the_metrics_token_shows_the_details(make_client, store_down, join) -> None:
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
    }


def test_a_wrong_or_unset_metrics_token_shows_no_details(make_client) -> None:
    with_token, without = make_client(metrics_token=TOKEN), make_client()
    public = {"status": "ok", "store": "ok", "bus": "ok"}
    assert with_token.get("/healthz", headers={"authorization": f"Bearer {TOKEN}x"}).json() == public
    assert with_token.get("/healthz", headers={"authorization": TOKEN}).json() == public
    assert without.get("/healthz", headers={"authorization": "Bearer "}).json() == public
