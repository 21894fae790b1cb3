"""Each implementation of the store and of the bus, against the shared PostgreSQL and Redis (never stopped here).

Tests here see only the common interface; a fixture parameter names the implementation.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest

from chatroom.bus import Bus
from tests.databases import POSTGRES_URL, require_port, require_postgres

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(params=["memory", "redis", "postgres"])
def bus_url(request: pytest.FixtureRequest) -> str:
    """Each bus test runs against every backend; the networked ones are shared, so channels are the test's own."""
    if request.param == "redis":
        require_port(REDIS_URL, 6379, "Redis")
        return REDIS_URL
    if request.param == "postgres":
        require_postgres()
        return POSTGRES_URL
    return "memory://"


@pytest.fixture
async def bus(bus_url: str) -> AsyncIterator[Bus]:
    bus = Bus(bus_url)
    await bus.connect()
    yield bus
    await bus.disconnect()


@pytest.fixture
def channels() -> tuple[str, str]:
    """Two channels no other test (or other run on this machine's shared servers) publishes on."""
    suffix = uuid.uuid4().hex[:10]
    return f"room:lobby-{suffix}", f"room:dev-{suffix}"
