"""Accounts across real processes on PostgreSQL and Redis: a sign-out in one closes the socket in the other,
and a session outlives a restart."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.integration.conftest import AppFactory
from tests.integration.servers import AppServer, RedisServer
from tests.people import PASSWORD

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(120)]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def post(app: AppServer, path: str, fields: dict[str, str], cookie: str = "") -> tuple[int, str]:
    """A form post: its status and the session cookie it set (or "")."""
    request = urllib.request.Request(
        app.url + path,
        data=urllib.parse.urlencode(fields).encode(),
        method="POST",
        headers={"cookie": cookie} if cookie else {},
    )
    try:
        response = urllib.request.build_opener(_NoRedirect).open(request, timeout=10)
    except urllib.error.HTTPError as answer:  # the 303, or a refusal
        response = answer
    return response.status, str(response.headers.get("set-cookie", "")).split(";", 1)[0]


def page(app: AppServer, cookie: str) -> str:
    request = urllib.request.Request(app.url + "/", headers={"cookie": cookie})
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(response.read().decode())


async def test_sign_out_in_one_process_closes_the_socket_in_the_other_and_sessions_outlive_restarts(
    redis: RedisServer, database_url: str, room: str, start_apps: AppFactory
) -> None:
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis.url}
    first, second = start_apps(2, **env)
    status, alice = post(first, "/signup", {"name": "Alice", "password": PASSWORD})
    assert status == 303 and alice
    async with connect(f"{second.ws_url}/rooms/{room}/ws", additional_headers={"cookie": alice}) as ws:
        assert "Alice" in str(await ws.recv())
        assert post(first, "/signout", {}, alice)[0] == 303
        with pytest.raises(ConnectionClosed) as closed:
            async with asyncio.timeout(10):
                while True:
                    await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    assert "Sign out" not in page(second, alice)

    status, again = post(second, "/signin", {"name": "alice", "password": PASSWORD})
    assert status == 303
    for app in (first, second):
        app.signal(signal.SIGTERM)
        await app.exited(30)
    (restarted,) = start_apps(1, **env)
    assert "Sign out" in page(restarted, again)


async def test_a_ban_in_one_process_closes_the_sockets_in_the_other(
    redis: RedisServer, database_url: str, room: str, start_apps: AppFactory
) -> None:
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis.url}
    first, second = start_apps(2, **env)
    status, troll = post(first, "/signup", {"name": "Troll", "password": PASSWORD})
    assert status == 303
    async with connect(f"{second.ws_url}/rooms/{room}/ws", additional_headers={"cookie": troll}) as ws:
        await ws.recv()
        # The first administrator, from the console, as the README says.
        made = await asyncio.to_thread(add_admin, first, env)
        assert made == 0
        status, ada = post(first, "/signin", {"name": "Ada", "password": PASSWORD})
        assert status == 303
        assert post(first, "/admin/people/Troll/ban", {"remove_messages": "on"}, ada)[0] == 303
        with pytest.raises(ConnectionClosed) as closed:
            async with asyncio.timeout(10):
                while True:
                    await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    assert post(second, "/signin", {"name": "Troll", "password": PASSWORD})[0] == 401


def add_admin(app: AppServer, env: dict[str, str]) -> int:
    command = [sys.executable, "-m", "chatroom", "user", "add", "Ada", "--role", "admin"]
    done = subprocess.run(
        command, input=f"{PASSWORD}\n", text=True, capture_output=True, env={**app.env, **env}, timeout=60, check=False
    )
    return done.returncode
