"""The servers under test: how each is started, pinned, watched and stopped.

Every server runs in its own session (process group) on core 0 with a raised open-files
limit: `prlimit --nofile=N:N taskset -c 0 sh -c "exec <command>"`. The bench stops what it
started, by process group, and nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import resource
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
CHANNELS_DIR = BENCH / "peers" / "channels"
CHANNELS_VENV = BENCH / ".venv-channels"
WORK = BENCH / ".work"
SERVER_CORE = "0"
GENERATOR_CORE = 1
NOFILE = min(65536, resource.getrlimit(resource.RLIMIT_NOFILE)[1])  # raising the hard limit needs privileges
PRODUCT_ENV = {"RATE_LIMIT_PER_SECOND": "1000000", "RATE_LIMIT_BURST": "1000000"}
UVICORN_APP = re.compile(r"(?<![\w.-])[A-Za-z_][\w.]*:[A-Za-z_]\w*(?![\w.])")


@dataclass(frozen=True)
class Target:
    """One thing the generator talks to: a server and one of its WebSocket endpoints."""

    name: str
    server: str
    path: str  # may contain {room}
    protocol: str  # "json" (the seed's) or "htmx"


TARGETS = {
    t.name: t
    for t in (
        Target("product-htmx", "product", "/rooms/{room}/ws", "htmx"),
        Target("product-json", "product", "/ws/rooms/{room}/", "json"),
        Target("bare", "bare", "/ws/rooms/{room}/", "json"),
        Target("channels", "channels", "/ws/socket-server/", "json"),
        Target("channels-async", "channels", "/ws/async-socket-server/", "json"),
        Target("blaster", "blaster", "/ws/socket-server/", "json"),
    )
}
PEERS = ("bare", "channels")


@dataclass
class ServerSpec:
    name: str
    command: str
    cwd: Path
    health: str | None  # HTTP path answering 200 once ready; None = TCP accept is enough
    env: dict[str, str] = field(default_factory=dict)
    note: str = ""


def procfile_web_line() -> str | None:
    procfile = ROOT / "Procfile"
    if not procfile.exists():
        return None
    for line in procfile.read_text().splitlines():
        if line.startswith("web:"):
            return line[4:].strip()
    return None


def _local_only(command: str) -> str:
    # The bench never listens beyond loopback, whatever a deploy line binds to.
    return re.sub(r"--host(=|\s+)\S+", r"--host\g<1>127.0.0.1", command).replace("0.0.0.0", "127.0.0.1")


def product_spec() -> ServerSpec | None:
    line = procfile_web_line()
    if line is None or not (ROOT / "chatroom").exists():
        return None
    env = dict(PRODUCT_ENV)
    return ServerSpec("product", _local_only(line), ROOT, "/healthz", env, note="the Procfile's web: line")


def bare_spec() -> ServerSpec:
    line = procfile_web_line()
    words = shlex.split(line) if line else []
    if (words and Path(words[0]).name == "uvicorn") or words[:3] == ["python", "-m", "uvicorn"]:
        app = UVICORN_APP.search(line or "")
        if app:
            command = (line or "")[: app.start()] + "bench.peers.bare:app" + (line or "")[app.end() :]
            command = re.sub(r"\s--factory\b", "", command)
            return ServerSpec("bare", _local_only(command), ROOT, "/healthz", note="the product's uvicorn flags")
    command = "uvicorn bench.peers.bare:app --host 127.0.0.1 --port $PORT"
    return ServerSpec("bare", command, ROOT, "/healthz", note="uvicorn defaults: the Procfile runs no uvicorn")


def channels_spec() -> ServerSpec:
    daphne = CHANNELS_VENV / "bin" / "daphne"
    command = f"{daphne} -b 127.0.0.1 -p $PORT chatpeer.asgi:application"
    return ServerSpec("channels", command, CHANNELS_DIR, "/")


def blaster_spec() -> ServerSpec:
    return ServerSpec("blaster", f"{sys.executable} -m bench.peers.blaster --port $PORT", ROOT, None)


def specs() -> dict[str, ServerSpec]:
    found = {"bare": bare_spec(), "channels": channels_spec(), "blaster": blaster_spec()}
    product = product_spec()
    if product is not None:
        found["product"] = product
    return found


def ensure_channels_venv() -> None:
    """Create the Channels peer's own virtualenv from its pinned requirements, once."""
    requirements = CHANNELS_DIR / "requirements.txt"
    stamp = CHANNELS_VENV / ".requirements"
    if stamp.exists() and stamp.read_text() == requirements.read_text():
        return
    print("bench: creating the Channels peer's virtualenv", CHANNELS_VENV, file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", str(CHANNELS_VENV)], check=True)
    pip = [str(CHANNELS_VENV / "bin" / "pip"), "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "-r", str(requirements)], check=True)
    stamp.write_text(requirements.read_text())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A running server process; `restart()` keeps its port and data directory."""

    def __init__(self, spec: ServerSpec) -> None:
        self.spec = spec
        self.port = free_port()
        self.data = tempfile.TemporaryDirectory(prefix=f"bench-{spec.name}-")
        WORK.mkdir(exist_ok=True)
        self.log_path = WORK / f"{spec.name}-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("VIRTUAL_ENV", None)
        env.update(self.spec.env)
        env.update(
            PORT=str(self.port),
            HOST="127.0.0.1",
            DATA_DIR=self.data.name,
            CHANNELS_PEER_DB=os.path.join(self.data.name, "channels.sqlite3"),
            PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}",
            PYTHONUNBUFFERED="1",
        )
        return env

    def start(self) -> None:
        argv = ["prlimit", f"--nofile={NOFILE}:{NOFILE}", "taskset", "-c", SERVER_CORE]
        argv += ["sh", "-c", "exec " + self.spec.command]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                argv, cwd=self.spec.cwd, env=self.env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    async def ready(self, timeout: float = 30.0) -> float:
        """Wait until the server answers; return the seconds it took."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"{self.spec.name} exited; see {self.log_path}")
            if await self._answers():
                return time.monotonic() - start
            await asyncio.sleep(0.05)
        raise TimeoutError(f"{self.spec.name} not ready after {timeout}s; see {self.log_path}")

    async def _answers(self) -> bool:
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", self.port), 2)
        except (TimeoutError, OSError):
            return False
        try:
            if self.spec.health is None:
                return True
            writer.write(f"GET {self.spec.health} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
            status = await asyncio.wait_for(reader.readline(), 5)
            return b" 200 " in status
        except (TimeoutError, OSError):
            return False
        finally:
            writer.close()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def terminate(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)

    async def wait_exit(self, timeout: float = 10.0) -> None:
        if self.proc is None:
            return
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)

    async def stop(self) -> None:
        self.terminate()
        await self.wait_exit()

    def cleanup(self) -> None:
        self.data.cleanup()


class Usage:
    """CPU and RSS of a server's process tree, sampled in the background."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.peak_rss = 0
        self.cpu0 = 0.0
        self.t0 = 0.0
        self.core0: Any = None
        self._task: asyncio.Task[None] | None = None

    def _tree(self) -> list[psutil.Process]:
        try:
            return [self.root, *self.root.children(recursive=True)]
        except psutil.Error:
            return []

    def cpu_seconds(self) -> float:
        total = 0.0
        for proc in self._tree():
            try:
                times = proc.cpu_times()
                total += times.user + times.system
            except psutil.Error:
                pass
        return total

    def rss(self) -> int:
        total = 0
        for proc in self._tree():
            with contextlib.suppress(psutil.Error):
                total += proc.memory_info().rss
        return total

    def start(self) -> None:
        self.cpu0, self.t0, self.peak_rss = self.cpu_seconds(), time.monotonic(), self.rss()
        self.core0 = _core_times()
        self._task = asyncio.ensure_future(self._sample())

    async def _sample(self) -> None:
        while True:
            await asyncio.sleep(0.25)
            self.peak_rss = max(self.peak_rss, self.rss())

    def stop(self) -> dict[str, float]:
        if self._task is not None:
            self._task.cancel()
        wall = time.monotonic() - self.t0
        rss = self.rss()
        cpu_pct = 100 * (self.cpu_seconds() - self.cpu0) / wall if wall > 0 else 0.0
        return {
            "cpu_pct": cpu_pct,
            # Anything else that ran on the server's core meanwhile (the machine is shared).
            "others_core0_pct": max(0.0, _busy_pct(self.core0, _core_times()) - cpu_pct),
            "rss_mb": rss / 2**20,
            "peak_rss_mb": max(self.peak_rss, rss) / 2**20,
        }


def _core_times() -> Any:
    return psutil.cpu_times(percpu=True)[int(SERVER_CORE)]


def _busy_pct(before: Any, after: Any) -> float:
    total = sum(after) - sum(before)
    idle = (after.idle + getattr(after, "iowait", 0.0)) - (before.idle + getattr(before, "iowait", 0.0))
    return 100 * (total - idle) / total if total > 0 else 0.0
