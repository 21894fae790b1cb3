"""Private rooms across real processes on PostgreSQL and Redis: a member who leaves (or is removed) in one process
loses their socket in the other, someone added in one is let in by the other at once, and both sides of a direct
conversation opened at the same time in two processes land in one room."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.parse
import urllib.request

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.integration.conftest import AppFactory
from tests.integration.servers import AppServer, RedisServer
from tests.integration.test_accounts import _NoRedirect, post
from tests.people import PASSWORD

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(120)]


def go(app: AppServer, path: str, cookie: str, fields: dict[str, str] | None = None) -> tuple[int, str]:
    """A GET (or a form post with `fields`): its status and where it sends the browser."""
    data = urllib.parse.urlencode(fields).encode() if fields is not None else None
    request = urllib.request.Request(app.url + path, data=data, headers={"cookie": cookie})
    try:
        response = urllib.request.build_opener(_NoRedirect).open(request, timeout=10)
    except urllib.error.HTTPError as answer:
        response = answer
    return response.status, str(response.headers.get("location", ""))


def account(app: AppServer, name: str) -> str:
    status, cookie = post(app, "/signup", {"name": name, "password": PASSWORD})
    assert status == 303 and cookie
    return cookie


async def until_status(app: AppServer, path: str, cookie: str, status: int, seconds: float = 5.0) -> None:
    """Ask `app` for `path` until it answers `status`: what another process did reaches this one by the bus, a
    moment after the other process answered."""
    async with asyncio.timeout(seconds):
        while go(app, path, cookie)[0] != status:
            await asyncio.sleep(0.02)


@pytest.mark.parametrize("removed_by", ["themselves", "the room's maker"])
async def test_a_member_who_leaves_or_is_removed_in_one_process_loses_the_socket_in_the_other(
    redis: RedisServer, database_url: str, start_apps: AppFactory, removed_by: str
) -> None:
    first, second = start_apps(2, DATABASE_URL=database_url, REDIS_URL=redis.url)
    alice, bob, carol = account(first, "Alice"), account(first, "Bob"), account(first, "Carol")
    status, where = go(first, "/rooms", alice, {"name": "plans", "private": "on"})
    assert status == 303 and where.startswith("/rooms/_")
    room = where.removeprefix("/rooms/")
    with pytest.raises(InvalidStatus) as refused:
        async with connect(f"{second.ws_url}/rooms/{room}/ws", additional_headers={"cookie": bob}):
            pass
    assert refused.value.response.status_code == 403
    assert go(first, f"/rooms/{room}/members", alice, {"name": "Bob"})[0] == 303
    await until_status(second, f"/rooms/{room}", bob, 200)  # the other process knows as soon as the bus tells it
    async with (
        connect(f"{second.ws_url}/rooms/{room}/ws", additional_headers={"cookie": bob}) as at_bob,
        connect(f"{second.ws_url}/ws/rooms/{room}/", additional_headers={"cookie": alice}) as at_alice,
    ):
        await at_bob.recv()
        await at_alice.recv()
        if removed_by == "themselves":
            assert go(first, f"/rooms/{room}/leave", bob, {})[0] == 303
        else:
            assert go(first, f"/rooms/{room}/members/remove", alice, {"name": "Bob"})[0] == 303
        with pytest.raises(ConnectionClosed) as closed:
            async with asyncio.timeout(10):
                while True:
                    await at_bob.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
        await at_alice.send('{"message": "still here"}')
        async with asyncio.timeout(10):
            while "still here" not in str(await at_alice.recv()):
                pass
    assert go(second, f"/rooms/{room}", bob)[0] == 404
    assert go(second, f"/rooms/{room}", carol)[0] == 404


async def test_both_sides_of_a_direct_conversation_opened_at_once_in_two_processes_get_one_room(
    redis: RedisServer, database_url: str, start_apps: AppFactory
) -> None:
    first, second = start_apps(2, DATABASE_URL=database_url, REDIS_URL=redis.url)
    alice, bob = account(first, "Alice"), account(first, "Bob")
    opened = await asyncio.gather(
        *(
            asyncio.to_thread(go, app, path, cookie)
            for _ in range(3)
            for app, path, cookie in ((first, "/dm/Bob", alice), (second, "/dm/Alice", bob))
        )
    )
    assert {status for status, _ in opened} == {303}
    assert len({where for _, where in opened}) == 1
