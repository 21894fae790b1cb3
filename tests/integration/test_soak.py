"""A bounded mixed attack on the server as deployed, while honest people chat in the same room.

For ATTACK_SECONDS, from addresses of their own on the loopback network: cookie-less form floods,
sockets without a session flooding the room, heads trickled byte by byte, a crowd of typists, and
unfinished 1 MiB frames. Four honest people (each from an address of their own, as on a real network)
send two messages a second meanwhile. Their round trips keep a p99 under 250 ms, and the server's
memory comes back once the attack is over (but for its bounded caches).
"""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
import os
import random
import shutil
import statistics
import struct
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from multiprocessing.queues import Queue
from pathlib import Path

import psutil
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from tests.integration.servers import AppServer, procfile_flags
from tests.people import signed_session

pytestmark = pytest.mark.timeout(240)

ATTACK_SECONDS = 40.0  # eight times the ramp: every attack at full strength for most of it
SECRET = "soak-secret"
ROOM = "soak"
HONEST = [f"127.0.0.{10 + n}" for n in range(4)]
FORM_FLOOD, SOCKET_FLOOD, SLOW_HEADS, TYPISTS, BIG_FRAMES = (f"127.0.0.{n}" for n in range(2, 7))
TYPISTS_COUNT = 200  # toggling once a second, as in the finding that cost 3.6 s of CPU a second
RAMP_SECONDS = 5.0
P99_LIMIT_MS = 250.0
MEMORY_SLACK = 24 * 2**20  # the render cache, full after a flood (16 MiB at most), and allocator arenas


@pytest.fixture
def server(tmp_path: Path) -> Iterator[AppServer]:
    # The store in memory-backed files where there are some: what is measured is the attack's effect on the server,
    # not a shared machine's disk (whose flushes stalled for up to 260 ms, and every message waits for its flush).
    memory = Path("/dev/shm")
    data = Path(tempfile.mkdtemp(prefix="soak-", dir=memory)) if memory.is_dir() else tmp_path / "data"
    app = AppServer({"SECRET_KEY": SECRET, "DATA_DIR": str(data)}, tmp_path, procfile_flags())
    try:
        app.start()
        yield app
        app.stop()
    finally:
        shutil.rmtree(data, ignore_errors=True)


def rss(server: AppServer) -> int:
    assert server.process is not None
    return int(psutil.Process(server.process.pid).memory_info().rss)


async def until(deadline: float, attack: Callable[[], Awaitable[object]], every: float = 0.0) -> int:
    """Run `attack` again and again, a round at most every `every` seconds, until `deadline` (loop time); how many
    rounds ran. Its failures are its own. The attackers join over RAMP_SECONDS: a connect storm is the
    benchmark's scenario, this one is about what a sustained attack costs the people chatting."""
    loop = asyncio.get_running_loop()
    await asyncio.sleep(random.uniform(0, RAMP_SECONDS))
    rounds = 0
    while (began := loop.time()) < deadline:
        try:
            await attack()
        except (OSError, WebSocketException, TimeoutError, asyncio.IncompleteReadError):
            await asyncio.sleep(0.05)
        rounds += 1
        await asyncio.sleep(max(0.0, began + every - loop.time()))
    return rounds


@dataclass(frozen=True)
class Target:
    """Where the server listens (what the attackers' process needs of it)."""

    port: int
    ws_url: str


async def http(server: Target, source: str, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port, local_addr=(source, 0))
    try:
        writer.write(request)
        return await asyncio.wait_for(reader.read(200), 5)
    finally:
        writer.close()


async def socket(
    server: Target, source: str, room: str = ROOM, who: dict[str, str] | None = None, reads: bool = False
) -> ClientConnection:
    """A WebSocket from `source`; one that `reads` not is soon a slow reader, whom the server drops."""
    return await connect(
        f"{server.ws_url}/rooms/{room}/ws",
        additional_headers=who or {},
        local_addr=(source, 0),
        open_timeout=10,
        max_queue=None if reads else 4,
    )


def form_flood(server: Target, deadline: float) -> list[Awaitable[int]]:
    body = b"message=flood"
    request = (
        f"POST /rooms/{ROOM}/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body
    # 8 posters, 20 posts a second each: four times what the finding's 8 posters kept up (36 messages/s).
    return [until(deadline, lambda: http(server, FORM_FLOOD, request), every=0.05) for _ in range(8)]


def socket_flood(server: Target, deadline: float) -> list[Awaitable[int]]:
    async def flood() -> None:
        async with await socket(server, SOCKET_FLOOD) as ws:
            while asyncio.get_running_loop().time() < deadline:
                await ws.send('{"message": "flood"}')
                await asyncio.sleep(0.05)  # 40 sockets, 800 messages/s: six times the finding's 132/s

    return [until(deadline, flood) for _ in range(40)]


def slow_heads(server: Target, deadline: float) -> list[Awaitable[int]]:
    async def trickle() -> None:
        _, writer = await asyncio.open_connection("127.0.0.1", server.port, local_addr=(SLOW_HEADS, 0))
        try:
            for byte in b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 100:
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(1.0)
        finally:
            writer.close()

    return [until(deadline, trickle) for _ in range(100)]


async def drain(ws: ClientConnection) -> None:
    async for _ in ws:
        pass


def typists(server: Target, deadline: float) -> list[Awaitable[int]]:
    async def type_on_and_off(n: int) -> None:
        """A person in a browser, typing and pausing: it reads what the room sends, as a browser does."""
        async with await socket(server, TYPISTS, who=signed_session(SECRET, f"typist-{n}"), reads=True) as ws:
            reading = asyncio.create_task(drain(ws))
            text = ""
            while asyncio.get_running_loop().time() < deadline:
                text = "" if text else "hello"
                await ws.send(f'{{"message": "{text}", "typing": true}}')
                await asyncio.sleep(1.0)
            reading.cancel()

    return [until(deadline, functools.partial(type_on_and_off, n)) for n in range(TYPISTS_COUNT)]


def big_frames(server: Target, deadline: float) -> list[Awaitable[int]]:
    async def unfinished_megabyte() -> None:
        async with await socket(server, BIG_FRAMES, room="elsewhere") as ws:
            transport = ws.transport
            transport.write(struct.pack("!BBQ", 0x81, 0x80 | 127, 2**20) + os.urandom(4) + b"x" * 1024)
            await asyncio.wait_for(ws.wait_closed(), 5)
        await asyncio.sleep(0.5)

    return [until(deadline, unfinished_megabyte) for _ in range(2)]


async def honest(server: Target, source: str, name: str, deadline: float) -> list[float]:
    """Two messages a second until `deadline`; the round trip of each, from sending to seeing it in the room."""
    round_trips: list[float] = []
    sent: dict[str, float] = {}
    async with await socket(server, source, who=signed_session(SECRET, name), reads=True) as ws:

        async def read() -> None:
            async for frame in ws:
                for text in [t for t in sent if t in str(frame)]:
                    round_trips.append((time.perf_counter() - sent.pop(text)) * 1000)

        reading = asyncio.create_task(read())
        n = 0
        while asyncio.get_running_loop().time() < deadline:
            text = f"{name}-says-{n:04}"
            sent[text] = time.perf_counter()
            await ws.send(f'{{"message": "{text}"}}')
            n += 1
            await asyncio.sleep(0.5)
        await asyncio.sleep(1.0)  # the last ones' echoes
        reading.cancel()
    assert not sent, f"{name}'s messages never came back: {sorted(sent)}"
    return round_trips


def attack(target: Target, seconds: float, report: Queue[dict[str, int]]) -> None:
    """The attackers, in a process of their own: their work must not delay the honest clients' own loop."""

    async def main() -> dict[str, int]:
        deadline = asyncio.get_running_loop().time() + seconds
        attacks = {
            "form flood": form_flood(target, deadline),
            "socket flood": socket_flood(target, deadline),
            "slow heads": slow_heads(target, deadline),
            "typists": typists(target, deadline),
            "big frames": big_frames(target, deadline),
        }
        attacked = await asyncio.gather(*(asyncio.gather(*a) for a in attacks.values()))
        return {name: sum(rounds) for name, rounds in zip(attacks, attacked, strict=True)}

    report.put(asyncio.run(main()))


def test_honest_people_chat_through_a_mixed_attack_and_memory_comes_back(server: AppServer) -> None:
    target = Target(server.port, server.ws_url)

    async def chat() -> list[float]:
        deadline = asyncio.get_running_loop().time() + ATTACK_SECONDS
        people = (honest(target, source, f"honest-{n}", deadline) for n, source in enumerate(HONEST))
        return [ms for person in await asyncio.gather(*people) for ms in person]

    before = rss(server)
    processes = multiprocessing.get_context("spawn")
    report: Queue[dict[str, int]] = processes.Queue()
    attacker = processes.Process(target=attack, args=(target, ATTACK_SECONDS, report))
    attacker.start()
    try:
        round_trips = asyncio.run(chat())
        rounds = report.get(timeout=60)
    finally:
        attacker.join(30)
        attacker.kill()
    time.sleep(5)  # connections the server dropped are cleaned up; the lingering feed retires
    after = rss(server)

    p99 = statistics.quantiles(round_trips, n=100)[98]
    median = statistics.median(round_trips)
    print(f"soak: {len(round_trips)} honest round trips, median {median:.0f} ms, p99 {p99:.0f} ms")
    print(f"soak: RSS {before / 2**20:.0f} MiB before, {after / 2**20:.0f} MiB after; attack rounds {rounds}")
    assert len(round_trips) >= len(HONEST) * ATTACK_SECONDS * 2 * 0.9, "every honest message came back"
    assert p99 < P99_LIMIT_MS, f"honest p99 {p99:.0f} ms under attack ({rounds})"
    assert after - before < MEMORY_SLACK, f"RSS {before / 2**20:.0f} MiB before, {after / 2**20:.0f} MiB after"
    assert all(count > 0 for count in rounds.values()), rounds
