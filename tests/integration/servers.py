"""Servers of a test's own on spare ports: Redis, PostgreSQL and the app, each stopped and started at will.

The shared Redis (6379) and PostgreSQL (5432) are never stopped; fault tests use these instead.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

# Debian's PostgreSQL, whichever major version the machine has (the newest, if several).
PG_BIN = max(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), default=Path("/usr/bin"))
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


class RedisServer:
    """With `tls`, it serves only TLS with a self-signed certificate, as Heroku's Redis does."""

    def __init__(self, tls: bool = False) -> None:
        self.port = free_port()
        self.tls = tls
        scheme, options = ("rediss", "?ssl_cert_reqs=none") if tls else ("redis", "")
        self.url = f"{scheme}://127.0.0.1:{self.port}/0{options}"
        self._process: subprocess.Popen[bytes] | None = None
        self._certs = Path(tempfile.mkdtemp(prefix="chatroom-redis-")) if tls else None
        if self._certs is not None:
            key, cert = self._certs / "key.pem", self._certs / "cert.pem"
            subject = ["-subj", "/CN=localhost", "-days", "1"]
            command = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", *subject]
            subprocess.run([*command, "-keyout", key, "-out", cert], check=True, capture_output=True)

    @property
    def running(self) -> bool:
        return self._process is not None

    def start(self) -> None:
        command = ["redis-server", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"]
        if self._certs is None:
            command += ["--port", str(self.port)]
        else:
            command += ["--port", "0", "--tls-port", str(self.port), "--tls-auth-clients", "no"]
            command += [
                "--tls-cert-file",
                str(self._certs / "cert.pem"),
                "--tls-key-file",
                str(self._certs / "key.pem"),
            ]
        self._process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port)

    def stop(self) -> None:
        if self._process is not None:
            self._process.kill()  # an abrupt stop, as when the host goes away
            self._process.wait()
            self._process = None

    def pause(self) -> None:
        """Freeze the server: connections stay open but nothing answers, as in a network partition."""
        assert self._process is not None
        self._process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self._process is not None
        self._process.send_signal(signal.SIGCONT)

    def remove(self) -> None:
        self.stop()
        if self._certs is not None:
            shutil.rmtree(self._certs, ignore_errors=True)


def procfile_flags() -> tuple[str, ...]:
    """The Procfile's uvicorn options, less the app, host and port that AppServer chooses."""
    # The shell that runs the Procfile expands its ${VAR:-default}s and splits the words.
    line = next(line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:"))[4:]
    shell = subprocess.run(
        ["sh", "-c", f"printf '%s\\n' {line}"], capture_output=True, text=True, check=True, env={"PORT": "0"}
    )
    words = shell.stdout.splitlines()
    assert words[:2] == ["uvicorn", "chatroom.app:app"]
    flags, rest = [], iter(words[2:])
    for word in rest:
        if word in ("--host", "--port"):
            next(rest)
        else:
            flags.append(word)
    return tuple(flags)


class PostgresServer:
    """A throw-away cluster; as root the server runs as the `postgres` user, as PostgreSQL insists."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="chatroom-pg-"))
        self.data = self.dir / "data"
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self.running = False
        self._as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run(PG_BIN / "initdb", "-D", self.data, "-U", "postgres", "-A", "trust", "--no-sync")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60"
        self._run(PG_BIN / "pg_ctl", "-D", self.data, "-o", options, "-l", self.dir / "log", "-w", "start")
        wait_for_port(self.port)
        self.running = True

    def stop(self) -> None:
        # "immediate" drops every connection at once, like a crash or a failover.
        self._run(PG_BIN / "pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop", check=False)
        self.running = False

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _run(self, *command: object, check: bool = True) -> None:
        subprocess.run(
            [*self._as_postgres, *map(str, command)],
            check=check,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )


class AppServer:
    """`uvicorn chatroom.app:app` in a subprocess, configured by environment variables."""

    def __init__(self, env: Mapping[str, str], log_dir: Path, args: tuple[str, ...] = ()) -> None:
        self.args = args
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), "HOST": "127.0.0.1", "PORT": str(self.port), **env}
        self.log_path = log_dir / f"app-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.launch()
        self.wait_ready()

    def launch(self) -> None:
        command = [sys.executable, "-m", "uvicorn", "chatroom.app:app", "--host", "127.0.0.1", "--port", str(self.port)]
        command += self.args
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(command, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 20.0) -> None:
        assert self.process is not None, "launch() first"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the app exited with {self.process.returncode}:\n{self.log()}")
            if self.health()[0] in (200, 503):
                return
            time.sleep(0.1)
        raise TimeoutError(f"the app did not answer /healthz in {timeout} s:\n{self.log()}")

    def health(self) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.url + "/healthz", timeout=2) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()
        except OSError:
            return 0, ""

    def signal(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def wait(self, timeout: float) -> int:
        assert self.process is not None
        return self.process.wait(timeout)

    async def exited(self, timeout: float) -> int:
        """Wait for the process to end without blocking the loop: the test's clients keep reading meanwhile,
        as a browser would, so what the server writes while it shuts down (a close frame) is not stuck in a
        full socket buffer when it exits."""
        return await asyncio.to_thread(self.wait, timeout)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""
