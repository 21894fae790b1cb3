"""One command for the whole benchmark: `.venv/bin/python -m bench.run [--quick]`.

Runs each scenario against each target (the product as its Procfile runs it, the Channels
tutorial peer, the bare uvicorn peer), `--runs` times, interleaving targets within a run so
that ratios compare servers measured minutes apart, not hours. Writes
bench/results/latest.md, latest.json and latency.png. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python bench/run.py` works as well as `python -m bench.run`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import uvloop

from bench import connections, plot, report, throughput
from bench.machine import commit, prepare_process, wait_for_quiet
from bench.selfcheck import self_check
from bench.session import QUICK, Settings
from bench.targets import TARGETS, ServerSpec, Target, ensure_channels_venv, specs

RESULTS = Path(__file__).resolve().parent / "results"
SCRATCH = RESULTS.parent / ".work" / "results"  # partial runs: never overwrite the published figures
README = RESULTS.parent / "README.md"
README_START, README_END = "<!-- results:start -->", "<!-- results:end -->"
ALL_SCENARIOS = ("fanout", "max", "idle", "storm", "reconnect", "rooms", "headroom")
DEFAULT_TARGETS = (
    "product-htmx",
    "product-htmx-guest",
    "product-htmx-signed",
    "product-json",
    "bare",
    "raw",
    "channels",
    "channels-async",
)
SCENARIO_LIMIT_S = 600.0  # no single scenario instance may run longer than this


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="a small, fast smoke run (1 run, small rooms)")
    p.add_argument(
        "--self-check",
        action="store_true",
        help="quick run against the bare peer and the blaster; exits 1 on a problem",
    )
    p.add_argument(
        "--check-targets",
        action="store_true",
        help="exit 1 when a speed target of the product that this run measured is missed",
    )
    p.add_argument("--runs", type=int, help="repetitions; medians are reported (default 3, quick 1)")
    p.add_argument(
        "--targets", help=f"comma-separated, from {', '.join(TARGETS)} (default: {', '.join(DEFAULT_TARGETS)})"
    )
    p.add_argument("--scenarios", help=f"comma-separated, from {', '.join(ALL_SCENARIOS)} (default: all)")
    p.add_argument("--clients", help="fan-out room sizes, e.g. 100,1000,2000,5000")
    p.add_argument("--rate", type=float, help="fan-out: messages/s in total")
    p.add_argument("--senders", type=int, help="fan-out: how many clients send")
    p.add_argument("--duration", type=float, help="fan-out: seconds of sending")
    p.add_argument("--ramp-clients", type=int, help="max sustainable: room size")
    p.add_argument("--idle", help="idle levels, e.g. 1000,5000,10000")
    p.add_argument("--storm", type=int, help="connect storm size")
    p.add_argument("--reconnect", type=int, help="reconnect storm size")
    p.add_argument("--no-deflate-offer", action="store_true", help="clients do not offer permessage-deflate")
    p.add_argument("--origin", action="store_true", help="clients send Origin: http://127.0.0.1:PORT")
    p.add_argument(
        "--quiet-wait",
        type=float,
        help="before each measurement, wait up to this many seconds for both cores to be idle "
        "(default 20, quick 5; 0: never wait)",
    )
    p.add_argument("--from-json", type=Path, help="measure nothing: rewrite the report from a latest.json")
    p.add_argument(
        "--out",
        type=Path,
        help="where to write latest.md/json and latency.png (default: bench/results for a full run, "
        "that is every target and scenario at default sizes, 3+ runs; bench/.work/results otherwise)",
    )
    return p.parse_args(argv)


def settings_from(args: argparse.Namespace) -> Settings:
    s = QUICK if args.quick or args.self_check else Settings()  # replace() below copies it

    def ints(text: str) -> tuple[int, ...]:
        return tuple(int(x) for x in text.split(","))

    overrides: dict[str, Any] = {
        "fanout_clients": ints(args.clients) if args.clients else None,
        "fanout_rate": args.rate,
        "senders": args.senders,
        "duration": args.duration,
        "ramp_clients": args.ramp_clients,
        "idle_levels": ints(args.idle) if args.idle else None,
        "storm_clients": args.storm,
        "reconnect_clients": args.reconnect,
        "origin": True if args.origin else None,
        "deflate": False if args.no_deflate_offer else None,
    }
    return replace(s, **{k: v for k, v in overrides.items() if v is not None})


Plan = list[tuple[str, str, int, Callable[[ServerSpec, Target, Settings], Awaitable[dict[str, Any]]], list[str]]]


def plan(chosen: list[str], targets: list[str], s: Settings) -> Plan:
    """(key, kind, clients, scenario function, targets) in the order they run."""
    out: Plan = []
    for name in chosen:
        if name == "fanout":
            for c in s.fanout_clients:

                async def fan(spec: ServerSpec, t: Target, st: Settings, c: int = c) -> dict[str, Any]:
                    return await throughput.fanout(spec, t, st, c)

                out.append((f"fanout-{c}", "fanout", c, fan, targets))
        elif name == "max":
            out.append(("max", "max", s.ramp_clients, throughput.max_sustainable, targets))
        elif name == "idle":
            out.append(("idle", "idle", max(s.idle_levels), connections.idle, targets))
        elif name == "rooms":
            out.append(("rooms", "rooms", s.many_rooms * s.room_viewers, throughput.many_rooms, targets))
        elif name == "storm":
            out.append(("storm", "storm", s.storm_clients, connections.connect_storm, targets))
        elif name == "reconnect":
            out.append(("reconnect", "reconnect", s.reconnect_clients, connections.reconnect_storm, targets))
        elif name == "headroom":
            out.append(("headroom", "headroom", s.ramp_clients, throughput.max_sustainable, ["blaster"]))
    return out


async def run_all(args: argparse.Namespace) -> dict[str, Any]:
    s = settings_from(args)
    runs = args.runs or (1 if args.quick or args.self_check else 3)
    available = specs()
    if args.self_check:
        wanted, chosen = ["bare"], list(ALL_SCENARIOS)
    else:
        wanted = args.targets.split(",") if args.targets else list(DEFAULT_TARGETS)
        chosen = args.scenarios.split(",") if args.scenarios else list(ALL_SCENARIOS)
    targets = []
    for name in wanted:
        if name not in TARGETS:
            raise SystemExit(f"unknown target {name!r}; choose from {', '.join(TARGETS)}")
        if TARGETS[name].server not in available:
            print(f"bench: skipping {name}: no Procfile web: line or chatroom/ package yet", file=sys.stderr)
            continue
        targets.append(name)
    if any(TARGETS[t].server == "channels" for t in targets):
        ensure_channels_venv()
    steps = plan(chosen, targets, s)
    quiet = args.quiet_wait if args.quiet_wait is not None else (5.0 if args.quick or args.self_check else 20.0)
    used = {TARGETS[t].server for _, _, _, _, ts in steps for t in ts}
    results: dict[str, Any] = {
        "started": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit(),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.1f} at start",
        "runs": runs,
        "settings": asdict(s),
        "servers": {name: server_line(available[name]) for name in sorted(used)},
        "scenarios": {key: {"kind": kind, "clients": c, "runs": {t: [] for t in ts}} for key, kind, c, _, ts in steps},
    }
    for run in range(runs):
        for key, _, _, fn, ts in steps:
            for name in ts:
                target = TARGETS[name]
                waited = await wait_for_quiet(quiet) if quiet > 0 else 0.0
                began = time.monotonic()
                print(f"bench: run {run + 1}/{runs} {key} {name} ...", file=sys.stderr, flush=True)
                try:
                    figures = await asyncio.wait_for(fn(available[target.server], target, s), SCENARIO_LIMIT_S)
                except Exception as exc:  # one failing target must not lose the others' figures
                    traceback.print_exc()
                    figures = {"error": f"{type(exc).__name__}: {exc}"[:200]}
                figures["elapsed_s"] = time.monotonic() - began
                figures["waited_for_quiet_s"] = waited
                results["scenarios"][key]["runs"][name].append(figures)
                print("bench:   " + summary_line(figures), file=sys.stderr, flush=True)
    return results


def server_line(spec: ServerSpec) -> str:
    return f"`{spec.command}`" + (f" ({spec.note})" if spec.note else "")


def summary_line(f: dict[str, Any]) -> str:
    keys = (
        "error",
        "deliveries_per_s",
        "best_deliveries_per_s",
        "p99_ms",
        "lost",
        "cpu_pct",
        "gen_cpu_pct",
        "kb_per_conn_1000",
        "failed",
        "max_s",
        "elapsed_s",
    )
    return ", ".join(f"{k}={f[k]:.4g}" if isinstance(f[k], float) else f"{k}={f[k]}" for k in keys if k in f)


def write(results: dict[str, Any], out: Path, readme: bool) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    png = out / "latency.png"
    results["plot"] = png.name if plot.plot(results, png) else None
    (out / "latest.json").write_text(json.dumps(results, indent=1, default=lambda v: None, allow_nan=True))
    md = out / "latest.md"
    md.write_text(report.markdown(results))
    if readme:
        text = README.read_text()
        start, end = text.index(README_START) + len(README_START), text.index(README_END)
        block = report.readme_block(results, f"{out.name}/{png.name}")
        README.write_text(text[:start] + "\n" + block + "\n" + text[end:])
    return md


def is_full(args: argparse.Namespace) -> bool:
    """A run whose figures may replace the published ones: everything, default sizes, 3+ runs."""
    sizes = (args.clients, args.rate, args.senders, args.duration, args.ramp_clients, args.idle, args.storm)
    chosen = (args.targets, args.scenarios, args.reconnect, args.no_deflate_offer or None, args.origin or None)
    return not (args.quick or args.self_check) and (args.runs or 3) >= 3 and all(v is None for v in sizes + chosen)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.from_json:
        results = json.loads(args.from_json.read_text())
    else:
        prepare_process()
        results = uvloop.run(run_all(args))
    full = is_full(args) if not args.from_json else results.get("full", False)
    results["full"] = full
    out = args.out or (RESULTS if full else SCRATCH)
    md = write(results, out, readme=full and out == RESULTS)
    print(md.read_text())
    print(f"bench: wrote {md}", file=sys.stderr)
    if args.self_check:
        problems = self_check(results)
        for problem in problems:
            print("SELF-CHECK FAILED:", problem, file=sys.stderr)
        print("self-check:", "failed" if problems else "ok", file=sys.stderr)
        return 1 if problems else 0
    if args.check_targets:
        missed = [f"{asked}: {measured}" for asked, measured, ok in report.targets_check(results) if not ok]
        for miss in missed:
            print("TARGET MISSED:", miss, file=sys.stderr)
        return 1 if missed else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
