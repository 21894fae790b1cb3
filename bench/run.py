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
import resource
import subprocess
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python bench/run.py` works as well as `python -m bench.run`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil
import uvloop

from bench import report, scenarios
from bench.scenarios import Settings
from bench.servers import GENERATOR_CORE, ROOT, TARGETS, ServerSpec, Target, ensure_channels_venv, specs

RESULTS = Path(__file__).resolve().parent / "results"
README = RESULTS.parent / "README.md"
README_START, README_END = "<!-- results:start -->", "<!-- results:end -->"
ALL_SCENARIOS = ("fanout", "max", "idle", "storm", "reconnect", "headroom")
DEFAULT_TARGETS = ("product-htmx", "product-json", "bare", "channels", "channels-async")
SCENARIO_LIMIT_S = 600.0  # no single scenario instance may run longer than this

QUICK = dict(
    fanout_clients=(100, 500),
    duration=2.0,
    drain=2.0,
    ramp_clients=200,
    ramp_start=5.0,
    ramp_refine=0,
    ramp_min=1.0,
    ramp_duration=1.5,
    ramp_max=2000.0,
    idle_levels=(200, 1000),
    storm_clients=300,
    reconnect_clients=300,
    connect_timeout=20.0,
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="a small, fast smoke run (1 run, small rooms)")
    p.add_argument(
        "--self-check",
        action="store_true",
        help="quick run against the bare peer and the blaster; exits 1 on a problem",
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
    p.add_argument("--out", type=Path, default=RESULTS, help="where to write latest.md/json and latency.png")
    return p.parse_args(argv)


def settings_from(args: argparse.Namespace) -> Settings:
    s = Settings(**QUICK) if args.quick or args.self_check else Settings()

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


def prepare_process() -> None:
    """Generator on its own core, with enough file descriptors for 10k+ sockets."""
    if (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {GENERATOR_CORE})
    else:
        print("bench: one core only; server and generator will share it", file=sys.stderr)
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    for want in (65536, hard):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(want, hard)))
            break
        except (ValueError, OSError):
            continue


async def wait_for_quiet(limit: float, busy_pct: float = 25.0) -> float:
    """The machine is shared: wait until neither core is busy with other work. Returns seconds waited."""
    start = time.monotonic()
    psutil.cpu_percent(percpu=True)
    while time.monotonic() - start < limit:
        await asyncio.sleep(1.0)
        if max(psutil.cpu_percent(percpu=True)) < busy_pct:
            break
    else:
        print(f"bench: cores still busy after {limit:.0f}s; measuring anyway", file=sys.stderr)
    return time.monotonic() - start


def commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=5
        )
        return out.stdout.strip() or "none"
    except (OSError, subprocess.SubprocessError):
        return "none"


Plan = list[tuple[str, str, int, Callable[[ServerSpec, Target, Settings], Awaitable[dict[str, Any]]], list[str]]]


def plan(chosen: list[str], targets: list[str], s: Settings) -> Plan:
    """(key, kind, clients, scenario function, targets) in the order they run."""
    out: Plan = []
    for name in chosen:
        if name == "fanout":
            for c in s.fanout_clients:

                async def fan(spec: ServerSpec, t: Target, st: Settings, c: int = c) -> dict[str, Any]:
                    return await scenarios.fanout(spec, t, st, c)

                out.append((f"fanout-{c}", "fanout", c, fan, targets))
        elif name == "max":
            out.append(("max", "max", s.ramp_clients, scenarios.max_sustainable, targets))
        elif name == "idle":
            out.append(("idle", "idle", max(s.idle_levels), scenarios.idle, targets))
        elif name == "storm":
            out.append(("storm", "storm", s.storm_clients, scenarios.connect_storm, targets))
        elif name == "reconnect":
            out.append(("reconnect", "reconnect", s.reconnect_clients, scenarios.reconnect_storm, targets))
        elif name == "headroom":
            out.append(("headroom", "headroom", s.ramp_clients, scenarios.max_sustainable, ["blaster"]))
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


def self_check(results: dict[str, Any]) -> list[str]:
    """What must hold for the harness itself to be trusted (not targets of any server)."""
    problems = []
    scen = results["scenarios"]
    for key, scenario in scen.items():
        for target, runs in scenario["runs"].items():
            for r in runs:
                if "error" in r:
                    problems.append(f"{key} {target}: {r['error']}")
    for key in (k for k in scen if k.startswith("fanout")):
        for r in scen[key]["runs"].get("bare", []):
            if r.get("lost", 1) or r.get("connected") != r.get("clients") or not r.get("sent"):
                problems.append(
                    f"{key} bare: lost {r.get('lost')} of {r.get('expected')}, connected {r.get('connected')}"
                )
    bare = [r.get("best_deliveries_per_s", 0) for r in scen.get("max", {}).get("runs", {}).get("bare", [])]
    gen = [r.get("best_deliveries_per_s", 0) for r in scen.get("headroom", {}).get("runs", {}).get("blaster", [])]
    if bare and gen and not max(gen) > max(bare):
        problems.append(f"generator headroom {max(gen):.0f}/s is not above bare's {max(bare):.0f}/s")
    for key in ("storm", "reconnect"):
        for r in scen.get(key, {}).get("runs", {}).get("bare", []):
            if r.get("failed", 1):
                problems.append(f"{key} bare: {r.get('failed')} clients failed")
    for r in scen.get("idle", {}).get("runs", {}).get("bare", []):
        if not all(r.get(f"connected_{lv}") == lv for lv in results["settings"]["idle_levels"]):
            problems.append("idle bare: not every connection stayed open")
    return problems


def write(results: dict[str, Any], out: Path, readme: bool) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    png = out / "latency.png"
    results["plot"] = png.name if report.plot(results, png) else None
    (out / "latest.json").write_text(json.dumps(results, indent=1, default=lambda v: None, allow_nan=True))
    md = out / "latest.md"
    md.write_text(report.markdown(results))
    if readme:
        text = README.read_text()
        start, end = text.index(README_START) + len(README_START), text.index(README_END)
        block = report.readme_block(results, f"{out.name}/{png.name}")
        README.write_text(text[:start] + "\n" + block + "\n" + text[end:])
    return md


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    prepare_process()
    results = uvloop.run(run_all(args))
    out = args.out
    if args.self_check and args.out == RESULTS:
        out = RESULTS / "self-check"
    full = not (args.quick or args.self_check) and out == RESULTS
    md = write(results, out, readme=full)
    print(md.read_text())
    print(f"bench: wrote {md}", file=sys.stderr)
    if args.self_check:
        problems = self_check(results)
        for problem in problems:
            print("SELF-CHECK FAILED:", problem, file=sys.stderr)
        print("self-check:", "failed" if problems else "ok", file=sys.stderr)
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
