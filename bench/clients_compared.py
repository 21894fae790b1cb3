"""Why the generator is built on picows: both clients against the blaster, same load, same core.

    .venv/bin/python -m bench.clients_compared [--clients 1000] [--rates 30,60,120]

Each client offers permessage-deflate the way Chromium does, reads every frame and finds the
token in it. The one that keeps p99 low at the higher rate, with less CPU, is the better gauge.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time

import uvloop
import websockets

from bench.client import Endpoint
from bench.loadgen import Generator
from bench.servers import GENERATOR_CORE, Server
from bench.session import PAD
from bench.tally import TOKEN
from bench.targets import blaster_spec

SENDERS = 5
DURATION = 3.0


async def with_websockets(port: int, clients: int, rate: float) -> dict[str, float]:
    gate = asyncio.Semaphore(200)
    conns: list[websockets.ClientConnection] = []
    latencies: list[int] = []

    async def join() -> None:
        async with gate:
            conn = await websockets.connect(f"ws://127.0.0.1:{port}/ws/socket-server/", max_queue=None)
            await conn.recv()
            conns.append(conn)

    async def read(conn: websockets.ClientConnection) -> None:
        async for message in conn:
            at = time.monotonic_ns()
            data = message.encode() if isinstance(message, str) else message
            latencies.extend(at - int(sent) for _, sent in TOKEN.findall(data))

    await asyncio.gather(*(join() for _ in range(clients)))
    readers = [asyncio.ensure_future(read(c)) for c in conns]
    start, cpu0 = time.monotonic(), time.process_time()
    total = int(rate * DURATION)
    for k in range(total):
        text = f"hello ~{k}.{time.monotonic_ns()}~ {PAD}"
        await conns[k % SENDERS].send(json.dumps({"message": text}))
        await asyncio.sleep(max(0.0, start + (k + 1) / rate - time.monotonic()))
    deadline = time.monotonic() + 5
    while len(latencies) < total * clients and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    wall, cpu = time.monotonic() - start, time.process_time() - cpu0
    for reader in readers:
        reader.cancel()
    await asyncio.gather(*(c.close() for c in conns), return_exceptions=True)
    latencies.sort()
    return {
        "delivered": len(latencies) / (total * clients),
        "per_s": len(latencies) / max(wall, DURATION),
        "p99_ms": latencies[int(0.99 * len(latencies))] / 1e6 if latencies else float("nan"),
        "cpu_pct": 100 * cpu / wall,
    }


async def with_picows(port: int, clients: int, rate: float) -> dict[str, float]:
    gen = Generator()
    users = gen.users(Endpoint("127.0.0.1", port, "/ws/socket-server/", "json"), clients)
    await gen.connect(users)
    start, cpu0 = time.monotonic(), time.process_time()
    tally = await gen.send_phase(users[:SENDERS], clients, rate, DURATION, 5.0, PAD)
    wall, cpu = time.monotonic() - start, time.process_time() - cpu0
    await gen.close(users)
    s = tally.summary()
    return {
        "delivered": s["delivered"] / s["expected"],
        "per_s": s["deliveries_per_s"],
        "p99_ms": s["p99_ms"],
        "cpu_pct": 100 * cpu / wall,
    }


async def main(clients: int, rates: list[float]) -> None:
    server = Server(blaster_spec())
    server.start()
    try:
        await server.ready()
        print("| client | messages/s | delivered | deliveries/s | p99 ms | generator CPU % |")
        print("|---|---|---|---|---|---|")
        for rate in rates:
            for name, run in (("websockets", with_websockets), ("picows", with_picows)):
                r = await run(server.port, clients, rate)
                print(
                    f"| {name} | {rate:g} | {100 * r['delivered']:.1f} % | {r['per_s']:,.0f} | "
                    f"{r['p99_ms']:.1f} | {r['cpu_pct']:.0f} |",
                    flush=True,
                )
    finally:
        await server.stop()
        server.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rates", default="30,60,120")
    args = parser.parse_args()
    os.sched_setaffinity(0, {GENERATOR_CORE})
    uvloop.run(main(args.clients, [float(r) for r in args.rates.split(",")]))
