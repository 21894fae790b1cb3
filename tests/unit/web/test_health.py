"""/healthz: the store and the bus, each named when it fails, and nothing more to the public."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from chatroom.errors import StoreUnavailable
from tests.inprocess import hub_of


def test_health_is_ok_when_store_and_bus_answer(client: TestClient) -> None:
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.json() == {"status": "ok", "store": "ok", "bus": "ok"}


def test_health_names_the_failing_part(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    async def down() -> None:
        raise StoreUnavailable("database is gone")

    monkeypatch.setattr(hub_of(client).store, "ping", down)
    health = client.get("/healthz")
    assert health.status_code == 503
    assert health.json()["store"] == "unavailable" and health.json()["bus"] == "ok"
