"""Where an idle connection's memory goes: Python's own allocations per connection, by the line that made them.

    .venv/bin/python -m bench.memory                     # 2,000 idle clients of each product target
    .venv/bin/python -m bench.memory --clients 1000 --targets product-htmx-signed --top 40

The product is started as the `Procfile` says, under `tracemalloc` (this module's `serve`, which runs
uvicorn's own command line). Ten clients connect and leave (so what the first connection builds once is
not counted), a snapshot is taken, N idle clients of the target connect, and a second one is taken; the
difference, divided by N, is what each connection holds, line by line. Unlike RSS, it is the same from
one run to the next and does not move with other load on the machine; it does not see what C code
allocates outside Python's allocator (the kernel's socket buffers, libuv), which the `idle` scenario of
`bench.run` counts.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import shlex
import signal
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from bench.session import Session, Settings
from bench.targets import TARGETS, ServerSpec, product_spec

FRAMES = 12  # of each allocation's traceback: enough to reach our code from the event loop's callbacks
SNAPSHOT_ENV = "BENCH_TRACEMALLOC_SNAPSHOT"
SETTLE_S = 3.0  # after the clients connect: presence's writes and refreshes come and go
ROOT = Path(__file__).resolve().parent.parent


def serve(argv: list[str]) -> None:
    """uvicorn's command line, traced; SIGUSR1 writes a snapshot to $BENCH_TRACEMALLOC_SNAPSHOT."""
    tracemalloc.start(FRAMES)
    path = os.environ[SNAPSHOT_ENV]

    def dump(signum: int, frame: object) -> None:
        gc.collect()
        tracemalloc.take_snapshot().dump(path + ".part")
        os.replace(path + ".part", path)

    signal.signal(signal.SIGUSR1, dump)
    import uvicorn.main

    uvicorn.main.main(argv, prog_name="uvicorn")


def traced_spec(snapshot: str) -> ServerSpec:
    spec = product_spec()
    if spec is None:
        raise SystemExit("bench.memory: no Procfile web: line to start the product with")
    words = shlex.split(spec.command)
    if Path(words[0]).name != "uvicorn":
        raise SystemExit(f"bench.memory: the Procfile does not run uvicorn: {spec.command}")
    command = f"{shlex.quote(sys.executable)} -m bench.memory serve " + spec.command.split(None, 1)[1]
    return ServerSpec(spec.name, command, spec.cwd, spec.health, {**spec.env, SNAPSHOT_ENV: snapshot}, spec.note)


async def _snapshot(pid: int, path: str) -> tracemalloc.Snapshot:
    Path(path).unlink(missing_ok=True)
    os.kill(pid, signal.SIGUSR1)
    deadline = time.monotonic() + 120
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise TimeoutError("bench.memory: the server wrote no snapshot")
        await asyncio.sleep(0.1)
    return tracemalloc.Snapshot.load(path)


def _ours(trace: tracemalloc.Traceback) -> str:
    """The innermost frame in the product, then the line that allocated (when it is elsewhere)."""
    frames = [f"{_short(f.filename)}:{f.lineno}" for f in reversed(trace)]  # the most recent call first
    ours = next((f for f in frames if f.startswith("chatroom/")), "")
    return frames[0] if ours in ("", frames[0]) else f"{ours} < {frames[0]}"


def _short(filename: str) -> str:
    if filename.startswith(str(ROOT) + os.sep):
        return os.path.relpath(filename, ROOT)
    return filename.rsplit("site-packages" + os.sep, 1)[-1]


async def measure(
    target_name: str, clients: int, top: int, keep: Path | None = None, connect_timeout: float = 300.0
) -> float:
    target = TARGETS[target_name]
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        path = os.path.join(tmp, "snapshot")
        async with Session(traced_spec(path), target, Settings()) as session:
            endpoint = session.endpoint()
            warm = session.add_users(endpoint, 10)
            await session.sign_in(warm)
            await session.gen.connect(warm, timeout=20)
            await session.drop_users()
            await asyncio.sleep(SETTLE_S)
            before = await _snapshot(session.server.pid, path)
            users = session.add_users(endpoint, clients)
            await session.sign_in(users)
            await session.gen.connect(users, concurrency=200, timeout=connect_timeout)
            await asyncio.sleep(SETTLE_S)
            connected = sum(1 for u in users if u.ready_ns and u.conn is not None)
            after = await _snapshot(session.server.pid, path)
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        before.dump(str(keep / f"{target_name}-before.snapshot"))
        after.dump(str(keep / f"{target_name}-after.snapshot"))
    totals: dict[str, int] = {}
    for stat in after.compare_to(before, "traceback"):
        where = _ours(stat.traceback)
        totals[where] = totals.get(where, 0) + stat.size_diff
    per = sum(totals.values()) / max(connected, 1)
    print(f"\n{target_name}: {connected} of {clients} connected, {per:,.0f} bytes of Python allocations each")
    for where, size in sorted(totals.items(), key=lambda kv: -abs(kv[1]))[:top]:
        print(f"  {size / max(connected, 1):9,.0f} B  {where}")
    return per


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["serve"]:
        serve(args[1:])
        return
    p = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__.splitlines()[0])
    p.add_argument("--clients", type=int, default=2000)
    p.add_argument("--targets", default="product-htmx,product-htmx-guest,product-htmx-signed")
    p.add_argument("--top", type=int, default=25, help="lines shown per target")
    p.add_argument("--keep", type=Path, help="a directory to keep the snapshots in (tracemalloc.Snapshot.load)")
    p.add_argument(
        "--connect-timeout",
        type=float,
        default=300.0,
        help="seconds for the clients to connect: traced, signed-in arrivals are slow (2 minutes was short)",
    )
    opts = p.parse_args(args)
    results = {
        name: asyncio.run(measure(name, opts.clients, opts.top, opts.keep, opts.connect_timeout))
        for name in opts.targets.split(",")
    }
    print("\nbytes of Python allocations per idle connection:")
    for name, per in results.items():
        print(f"  {name:22} {per:9,.0f}")


if __name__ == "__main__":
    main()
