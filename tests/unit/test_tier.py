"""The unit tier keeps its promise: a test here that reaches for a server or starts a process fails."""

from __future__ import annotations

import asyncio
import socket
import subprocess

import pytest

from tests.unit.conftest import ServiceUsed


def test_connecting_a_socket_fails_the_test() -> None:
    with pytest.raises(ServiceUsed):
        socket.create_connection(("127.0.0.1", 5432), timeout=1)


def test_connecting_from_asyncio_fails_the_test() -> None:
    async def connect() -> None:
        await asyncio.open_connection("127.0.0.1", 6379)

    with pytest.raises(ServiceUsed):
        asyncio.run(connect())


def test_starting_a_process_fails_the_test() -> None:
    with pytest.raises(ServiceUsed):
        subprocess.run(["true"], check=False)
