"""Open and close WebSockets to a room many times: `python -m tests.integration.churn WS_URL ROOM CYCLES`.

Run in a process of its own, so the client's memory and CPU stay out of the server's measurements.
Most sockets close politely; every tenth one just drops its TCP connection, as a phone losing signal does.
"""

from __future__ import annotations

import asyncio
import sys

import websockets

CONCURRENCY = 16


async def cycle(url: str, number: int) -> None:
    async with websockets.connect(url, open_timeout=10, close_timeout=2, compression=None) as ws:
        await asyncio.wait_for(ws.recv(), 10)  # the snapshot (or the JSON greeting): the viewer was registered
        if number % 10 == 0:
            ws.transport.abort()


async def churn(ws_url: str, room: str, cycles: int) -> int:
    urls = [f"{ws_url}/rooms/{room}/ws", f"{ws_url}/ws/rooms/{room}/"]
    failures = 0
    numbers = iter(range(cycles))

    async def worker() -> None:
        nonlocal failures
        for number in numbers:
            try:
                await cycle(urls[number % 7 == 0], number)
            except (OSError, TimeoutError, websockets.exceptions.WebSocketException):
                failures += 1

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return failures


if __name__ == "__main__":
    failed = asyncio.run(churn(sys.argv[1], sys.argv[2], int(sys.argv[3])))
    print(f"{failed} failed")
    sys.exit(1 if failed else 0)
