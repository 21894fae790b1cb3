"""This process and this machine: pinning, file limits, waiting for the shared cores, the commit."""

from __future__ import annotations

import asyncio
import os
import resource
import subprocess
import sys
import time

import psutil

from bench.servers import GENERATOR_CORE
from bench.targets import ROOT


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
