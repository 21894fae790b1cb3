"""Who's here across real processes: one list for everyone, and a killed process's people go within the lease."""

from __future__ import annotations

import asyncio
import re
import signal
import time
import urllib.parse
import urllib.request

import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.integration.conftest import AppFactory
from tests.integration.servers import AppServer, RedisServer

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(120)]

LEASE = 3.0
MEMBERS = re.compile(r'<ul id="members"[^>]*>(.*?)</ul>', re.S)
MEMBER = re.compile(r'<li data-uid="[^"]*"><bdi>(.*?)</bdi>')


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def session(app: AppServer, name: str) -> str:
    """The session cookie of a person called `name` (any process accepts it: they share SECRET_KEY)."""
    request = urllib.request.Request(
        app.url + "/profile", data=urllib.parse.urlencode({"name": name}).encode(), method="POST"
    )
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        response = opener.open(request, timeout=5)
    except urllib.error.HTTPError as redirect:  # the 303 back
        response = redirect
    return str(response.headers["set-cookie"]).split(";", 1)[0]


async def members_seen(ws: ClientConnection, expected: list[str], timeout: float) -> float:
    """Waits until `ws` is shown `expected` as the room's people; how long that took."""
    started = time.monotonic()
    last: list[str] | None = None
    async with asyncio.timeout(timeout):
        while last != expected:
            frame = str(await ws.recv())
            found = MEMBERS.findall(frame)
            if found:
                last = MEMBER.findall(found[-1])
    return time.monotonic() - started


async def test_a_killed_process_takes_its_people_within_the_lease(
    redis: RedisServer, database_url: str, room: str, start_apps: AppFactory
) -> None:
    first, second = start_apps(2, DATABASE_URL=database_url, REDIS_URL=redis.url, PRESENCE_LEASE_SECONDS=str(LEASE))
    alice_cookie, bob_cookie = session(first, "alice"), session(second, "bob")
    async with (
        connect(f"{first.ws_url}/rooms/{room}/ws", additional_headers={"cookie": alice_cookie}) as alice,
        connect(f"{second.ws_url}/rooms/{room}/ws", additional_headers={"cookie": bob_cookie}) as bob,
    ):
        await members_seen(alice, ["alice", "bob"], timeout=10)
        await members_seen(bob, ["alice", "bob"], timeout=10)

        # Carol has two tabs, one in each process: she is one person, and stays while one tab does.
        carol_cookie = session(first, "carol")
        async with connect(f"{first.ws_url}/rooms/{room}/ws", additional_headers={"cookie": carol_cookie}):
            async with connect(f"{second.ws_url}/rooms/{room}/ws", additional_headers={"cookie": carol_cookie}):
                await members_seen(alice, ["alice", "bob", "carol"], timeout=10)
            await asyncio.sleep(1.0)
        await members_seen(alice, ["alice", "bob"], timeout=10)

        second.signal(signal.SIGKILL)  # no goodbye: only the lease can tell
        await second.exited(10)
        took = await members_seen(alice, ["alice"], timeout=LEASE * 3)
        assert took <= LEASE + LEASE / 3 + 1.5, f"bob lingered {took:.1f} s after his process died"


async def test_a_restarted_process_leaves_no_ghosts(
    redis: RedisServer, database_url: str, room: str, start_apps: AppFactory
) -> None:
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis.url, "PRESENCE_LEASE_SECONDS": str(LEASE)}
    (app,) = start_apps(1, **env)
    async with connect(f"{app.ws_url}/rooms/{room}/ws", additional_headers={"cookie": session(app, "alice")}) as ws:
        await members_seen(ws, ["alice"], timeout=10)
    app.signal(signal.SIGTERM)
    await app.exited(10)
    (again,) = start_apps(1, **env)
    cookie = session(again, "bob")
    async with connect(f"{again.ws_url}/rooms/{room}/ws", additional_headers={"cookie": cookie}) as ws:
        assert await members_seen(ws, ["bob"], timeout=5) < 1.0, "alice's tab is gone, and so is she"
