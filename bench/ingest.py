"""Durable ingest: `.venv/bin/python -m bench.ingest [--runs 3] [--stores sqlite,postgres]`.

Senders on the htmx socket that each wait for their message's acceptance (the sender-only frame
that empties `#msg-input`, sent once the message is stored) before sending the next: 1, 10 and 50
senders each in a room of its own, and 50 in one room. Measured just before and just after each load,
on the same disk or the same PostgreSQL (a shared machine's flush rate moves tenfold from minute to
minute): raw one-row commits from one client (SQLite `BEGIN IMMEDIATE; INSERT;
COMMIT` in WAL mode with `synchronous = FULL` as the store runs it; PostgreSQL an autocommitted
`INSERT`), the bound a store that commits each message alone cannot pass. Prints accepted messages/s,
the ratio to that bound, and a sender's round trip; medians of `--runs`, ratios taken per run. Exits 1
when 50 senders in their own rooms stay under `--target` times the bound.

`--baseline REF` runs the product at a git ref (exported to a temporary directory) in the same runs,
interleaved, for a before/after on the same machine state.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import secrets
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg
import uvloop

from bench.client import HTMX_HEADERS as HEADERS
from bench.client import Endpoint, User, now_ns
from bench.loadgen import Generator
from bench.machine import commit, prepare_process, wait_for_quiet
from bench.servers import WORK, Server
from bench.targets import ROOT, ServerSpec, product_spec
from bench.usage import Usage

ACCEPTED = b'id="msg-input"'
REFUSED = b'class="error"'
POSTGRES_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
TEXT = "hello from a sender who waits for each message to be stored"


class Sender(User):
    """Sends, waits for the acceptance, sends again: a closed loop driven from the frame callback."""

    __slots__ = ("accepted", "latencies_ns", "refused", "running", "sent_ns")

    def __init__(self, gen: Generator, idx: int, endpoint: Endpoint) -> None:
        super().__init__(gen, idx, endpoint)
        self.running = False
        self.sent_ns = 0
        self.accepted = 0
        self.refused = 0
        self.latencies_ns: list[int] = []

    def start(self) -> None:
        self.running = True
        self._next()

    def _next(self) -> None:
        if self.conn is None or self.conn.transport is None:
            self.running = False
            return
        self.sent_ns = now_ns()
        # As the browser's form sends it: the text, the form's one-time token, htmx's headers.
        self.conn.send(json.dumps({"message": TEXT, "nonce": secrets.token_urlsafe(12), "headers": HEADERS}).encode())

    def on_message(self, data: bytes) -> None:
        if not self.ready_ns:
            if self.mark in data:
                self.ready_ns = now_ns()
            return
        if ACCEPTED in data:
            self.accepted += 1
            self.latencies_ns.append(now_ns() - self.sent_ns)
        elif REFUSED in data:
            self.refused += 1
        else:
            return  # the room's own frames (messages, people)
        if self.running:
            self._next()


def raw_sqlite(directory: str, seconds: float, rows_per_commit: int) -> float:
    """Rows/s committed one transaction at a time, `rows_per_commit` rows each, as the store commits."""
    path = Path(directory) / f"raw-{rows_per_commit}.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    db.execute("CREATE TABLE m (room TEXT, seq INTEGER, text TEXT, PRIMARY KEY (room, seq)) WITHOUT ROWID")
    rows, start = 0, time.monotonic()
    while time.monotonic() - start < seconds:
        db.execute("BEGIN IMMEDIATE")
        db.executemany("INSERT INTO m VALUES ('r', ?, ?)", [(rows + k, TEXT) for k in range(rows_per_commit)])
        db.execute("COMMIT")
        rows += rows_per_commit
    elapsed = time.monotonic() - start
    db.close()
    path.unlink()
    return rows / elapsed


async def raw_postgres(url: str, seconds: float) -> float:
    """Rows/s of autocommitted one-row INSERTs from one connection: one round trip and one commit each."""
    db = await asyncpg.connect(url)
    try:
        await db.execute("CREATE TABLE raw_commits (room TEXT, seq BIGINT, text TEXT, PRIMARY KEY (room, seq))")
        rows, start = 0, time.monotonic()
        while time.monotonic() - start < seconds:
            await db.execute("INSERT INTO raw_commits VALUES ('r', $1, $2)", rows, TEXT)
            rows += 1
        return rows / (time.monotonic() - start)
    finally:
        await db.close()


async def senders_run(spec: ServerSpec, senders: int, rooms: int, duration: float) -> dict[str, Any]:
    """`senders` closed-loop senders spread over `rooms` rooms for `duration` s (after 1 s of warm-up)."""
    server = Server(spec)
    gen = Generator()
    users: list[Sender] = []
    server.start()
    try:
        await server.ready()
        tag = uuid.uuid4().hex[:8]
        for n in range(senders):
            endpoint = Endpoint("127.0.0.1", server.port, f"/rooms/in{tag}x{n % rooms}/ws", "htmx", deflate=False)
            users.append(Sender(gen, n, endpoint))
        await gen.connect(list(users), concurrency=50, timeout=30)
        ready = [u for u in users if u.ready_ns]
        for u in ready:
            u.start()
        await asyncio.sleep(1.0)
        usage = Usage(server.pid)
        usage.start()
        before = sum(u.accepted for u in ready)
        marks = [len(u.latencies_ns) for u in ready]
        start = time.monotonic()
        await asyncio.sleep(duration)
        elapsed = time.monotonic() - start
        accepted = sum(u.accepted for u in ready) - before
        used = usage.stop()
        latencies = sorted(ns for u, m in zip(ready, marks, strict=True) for ns in u.latencies_ns[m:])
        for u in ready:
            u.running = False
        return {
            "senders": senders,
            "rooms": rooms,
            "connected": len(ready),
            "per_s": accepted / elapsed,
            "refused": sum(u.refused for u in ready),
            "rtt_p50_ms": statistics.median(latencies) / 1e6 if latencies else float("nan"),
            "rtt_p99_ms": latencies[int(0.99 * (len(latencies) - 1))] / 1e6 if latencies else float("nan"),
            "cpu_pct": used.get("cpu_pct", float("nan")),
        }
    finally:
        await gen.close(list(users))
        await server.stop()
        server.cleanup()


LOADS = {
    "1": ("1 sender", 1, 1),
    "10": ("10 senders, own rooms", 10, 10),
    "50": ("50 senders, own rooms", 50, 50),
    "50-one-room": ("50 senders, one room", 50, 1),
}


class Postgres:
    """A schema of its own on the PostgreSQL server for each measurement, dropped after."""

    def __init__(self, url: str) -> None:
        self.url = url

    async def __aenter__(self) -> str:
        self.schema = f"bench_{uuid.uuid4().hex[:12]}"
        db = await asyncpg.connect(self.url)
        await db.execute(f"CREATE SCHEMA {self.schema}")
        await db.close()
        return f"{self.url}{'&' if '?' in self.url else '?'}search_path={self.schema}"

    async def __aexit__(self, *exc: object) -> None:
        db = await asyncpg.connect(self.url)
        await db.execute(f"DROP SCHEMA {self.schema} CASCADE")
        await db.close()


def exported(ref: str, into: Path) -> Path:
    """The product at `ref` in a directory of its own, with the htmx files its pages serve."""
    subprocess.run(f"git archive {ref} | tar -x -C {into}", shell=True, cwd=ROOT, check=True)
    shutil.copytree(ROOT / "node_modules", into / "node_modules", symlinks=False)
    return into


async def raw_commits(store: str, args: argparse.Namespace, rows_per_commit: int = 1) -> float:
    if store == "sqlite":
        with tempfile.TemporaryDirectory(prefix="bench-raw-") as directory:
            return await asyncio.to_thread(raw_sqlite, directory, args.raw_seconds, rows_per_commit)
    async with Postgres(args.postgres) as url:
        return await raw_postgres(url, args.raw_seconds)


async def one_run(args: argparse.Namespace, products: dict[str, ServerSpec]) -> dict[str, Any]:
    """Each load between two raw measurements: the disk's flush rate moves with what else runs here."""
    run: dict[str, Any] = {}
    loads = [LOADS[name] for name in args.loads]
    for store in args.stores:
        figures: dict[str, Any] = run.setdefault(store, {})
        await wait_for_quiet(args.quiet_wait)
        if store == "sqlite":
            figures["raw_100_rows_per_s"] = await raw_commits(store, args, 100)
        raw = [await raw_commits(store, args)]
        for label, senders, rooms in loads:
            for name, spec in products.items():
                await wait_for_quiet(args.quiet_wait)
                if store == "postgres":
                    async with Postgres(args.postgres) as url:
                        measured = await senders_run(with_env(spec, DATABASE_URL=url), senders, rooms, args.duration)
                else:
                    measured = await senders_run(spec, senders, rooms, args.duration)
                raw.append(await raw_commits(store, args))
                measured["raw_per_s"] = (raw[-2] + raw[-1]) / 2
                measured["ratio"] = measured["per_s"] / measured["raw_per_s"]
                figures[f"{name}: {label}"] = measured
                print(
                    f"bench: {store} {name} {label}: {measured['per_s']:.0f}/s ({measured['ratio']:.2f}x raw "
                    f"{measured['raw_per_s']:.0f}/s), rtt p50 {measured['rtt_p50_ms']:.2f} ms, "
                    f"server cpu {measured['cpu_pct']:.0f} %",
                    file=sys.stderr,
                    flush=True,
                )
        figures["raw_one_row_per_s"] = statistics.median(raw)
    return run


def with_env(spec: ServerSpec, **env: str) -> ServerSpec:
    return replace(spec, env={**spec.env, **env})


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def table(runs: list[dict[str, Any]], stores: list[str]) -> str:
    out = []
    for store in stores:
        per = [r[store] for r in runs]
        raw = median([f["raw_one_row_per_s"] for f in per])
        out.append(f"\n**{store}**: raw one-row commits {raw:,.0f}/s (median of all taken)")
        if store == "sqlite":
            out[-1] += f"; 100 rows per commit {median([f['raw_100_rows_per_s'] for f in per]):,.0f} rows/s"
        out.append("")
        out.append(
            "| load | accepted messages/s | raw one-row commits/s around it | x raw | round trip p50 ms | p99 ms "
            "| server CPU % |"
        )
        out.append("|---|---|---|---|---|---|---|")
        for key in [k for k in per[0] if isinstance(per[0][k], dict)]:
            rows = [f[key] for f in per if key in f]

            def m(field: str, rows: list[dict[str, Any]] = rows) -> float:
                return median([row[field] for row in rows])

            out.append(
                f"| {key} | {m('per_s'):,.0f} | {m('raw_per_s'):,.0f} | {m('ratio'):.2f} | {m('rtt_p50_ms'):.2f} "
                f"| {m('rtt_p99_ms'):.2f} | {m('cpu_pct'):.0f} |"
            )
    return "\n".join(out)


def missed(runs: list[dict[str, Any]], stores: list[str], target: float) -> list[str]:
    problems = []
    for store in stores:
        ratio = median([r[store].get("product: 50 senders, own rooms", {}).get("ratio", math.nan) for r in runs])
        if ratio < target:
            problems.append(f"{store}: 50 senders accepted {ratio:.2f}x the raw one-row commits, target {target}x")
    return problems


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--stores", default="sqlite,postgres", help="sqlite, postgres or both")
    p.add_argument("--loads", default=",".join(LOADS), help=f"from {', '.join(LOADS)}")
    p.add_argument("--duration", type=float, default=5.0, help="seconds measured per load (after 1 s warm-up)")
    p.add_argument("--raw-seconds", type=float, default=1.5, help="seconds of each raw measurement")
    p.add_argument("--postgres", default=POSTGRES_URL, help="a PostgreSQL database the bench may make schemas in")
    p.add_argument("--baseline", help="also measure the product at this git ref, e.g. main")
    p.add_argument("--target", type=float, default=5.0, help="50 senders must reach this multiple of raw commits")
    p.add_argument("--quiet-wait", type=float, default=10.0)
    args = p.parse_args(argv)
    args.stores = args.stores.split(",")
    args.loads = args.loads.split(",")
    return args


async def measure(args: argparse.Namespace) -> list[dict[str, Any]]:
    spec = product_spec()
    if spec is None:
        raise SystemExit("bench: no Procfile web: line")
    products = {"product": spec}
    with tempfile.TemporaryDirectory(prefix="bench-baseline-") as directory:
        if args.baseline:
            # Started as its own Procfile says: flags name modules of the build they belong to.
            baseline = product_spec(exported(args.baseline, Path(directory)))
            if baseline is None:
                raise SystemExit(f"bench: no Procfile web: line at {args.baseline}")
            products[f"product@{args.baseline}"] = baseline
        runs = []
        for n in range(args.runs):
            print(f"bench: ingest run {n + 1}/{args.runs}", file=sys.stderr, flush=True)
            # Each load measures the products one after the other: which goes first alternates.
            order = list(products.items())[:: 1 if n % 2 == 0 else -1]
            runs.append(await one_run(args, dict(order)))
        return runs


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    prepare_process()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load = os.getloadavg()
    runs = uvloop.run(measure(args))
    text = (
        f"Ingest, {started}, commit `{commit()}`, {args.runs} runs, medians (ratios per run, then the median); "
        f"load average at start {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}.\n{table(runs, args.stores)}\n"
    )
    print(text)
    out = WORK / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "ingest.json").write_text(json.dumps({"started": started, "runs": runs}, indent=1))
    (out / "ingest.md").write_text(text)
    problems = missed(runs, args.stores, args.target)
    for problem in problems:
        print("TARGET MISSED:", problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
