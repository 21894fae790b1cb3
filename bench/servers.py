"""A server under test as a process: started pinned, watched until it answers, stopped.

Every server runs in its own session (process group) on core 0 with a raised open-files
limit: `prlimit --nofile=N:N taskset -c 0 sh -c "exec <command>"`. The bench stops what it
started, by process group, and nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.targets import BENCH, ServerSpec

WORK = BENCH / ".work"
SERVER_CORE = "0"
GENERATOR_CORE = 1
NOFILE = min(65536, resource.getrlimit(resource.RLIMIT_NOFILE)[1])  # raising the hard limit needs privileges


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
        self.failed = False
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
                self.failed = True
                raise RuntimeError(f"{self.spec.name} exited; see {self.log_path}")
            if await self._answers():
                return time.monotonic() - start
            await asyncio.sleep(0.05)
        self.failed = True
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
        """Remove the data directory, and the log unless the server failed to start or `BENCH_KEEP_LOGS` is set
        (daphne's access log alone grows to megabytes a run)."""
        self.data.cleanup()
        if not self.failed and not os.environ.get("BENCH_KEEP_LOGS"):
            self.log_path.unlink(missing_ok=True)
