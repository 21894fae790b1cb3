"""The server as deployed (the Procfile's flags, and the console script's): it names no software and refuses
an oversized WebSocket frame at its header, before buffering the payload."""

from __future__ import annotations

import base64
import os
import socket
import struct
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from chatroom.store.sql import MIGRATIONS
from tests.integration.servers import ROOT, AppServer, free_port, procfile_flags

ENV = {"SECRET_KEY": "procfile-secret", "DATA_DIR": ""}


@pytest.fixture
def procfile_app(tmp_path: Path) -> Iterator[AppServer]:
    app = AppServer({**ENV, "DATA_DIR": str(tmp_path)}, tmp_path, procfile_flags())
    app.start()
    yield app
    app.stop()


@pytest.fixture
def console_app(tmp_path: Path) -> Iterator[str]:
    """`python -m chatroom` (what the `chatroom` script runs) on a spare port."""
    port = free_port()
    env = {**os.environ, **ENV, "DATA_DIR": str(tmp_path), "PORT": str(port), "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "chatroom"], env=env, cwd=ROOT, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(f"{url}/healthz", timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline and process.poll() is None, "the console script did not start"
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(20)


def unfinished_frame_answer(url: str, announced: int) -> bytes:
    """Open a WebSocket, announce a text frame of `announced` bytes, send 1 KiB of it, and return what comes back."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(
            (
                f"GET /ws/socket-server/ HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            head += sock.recv(4096)
        assert head.startswith(b"HTTP/1.1 101"), head
        sock.sendall(struct.pack("!BBQ", 0x81, 0x80 | 127, announced) + os.urandom(4) + b"x" * 1024)
        answer = head.split(b"\r\n\r\n", 1)[1]
        try:
            while b"\x88" not in answer:  # a close frame
                chunk = sock.recv(4096)
                if not chunk:
                    break
                answer += chunk
        except TimeoutError:
            pass
        return answer


def close_code(answer: bytes) -> int | None:
    at = answer.find(b"\x88")
    return struct.unpack("!H", answer[at + 2 : at + 4])[0] if at >= 0 and len(answer) >= at + 4 else None


def test_the_procfile_server_sends_no_server_header(procfile_app: AppServer) -> None:
    with urllib.request.urlopen(f"{procfile_app.url}/healthz") as response:
        assert response.headers.get("server") is None


def test_the_procfile_server_refuses_an_oversized_frame_at_its_header(procfile_app: AppServer) -> None:
    assert close_code(unfinished_frame_answer(procfile_app.url, 2**20)) == 1009


def test_the_console_script_refuses_an_oversized_frame_and_names_no_server(console_app: str) -> None:
    with urllib.request.urlopen(f"{console_app}/healthz") as response:
        assert response.headers.get("server") is None
    assert close_code(unfinished_frame_answer(console_app, 2**20)) == 1009


def test_the_release_phase_migrates_the_store_once_per_deploy(tmp_path: Path) -> None:
    """The Procfile's `release:` command, as the platform runs it before starting the new processes."""
    release = next(line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("release:"))
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",  # `python` is the app's, as on the platform
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'chat.sqlite3'}",
    }
    done = subprocess.run(
        ["sh", "-c", release[len("release:") :]], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert f"to level {len(MIGRATIONS)}" in done.stderr


def test_a_database_that_does_not_answer_at_start_is_one_sentence_without_its_password(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATA_DIR": str(tmp_path),
        "DATABASE_URL": f"postgresql://chat:hunter2-secret@127.0.0.1:{free_port()}/chat",
    }
    command = [sys.executable, "-m", "uvicorn", "chatroom.app:app", "--port", str(free_port())]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "chatroom: DATABASE_URL (postgresql://chat:***@127.0.0.1:" in done.stderr
    assert "does not answer" in done.stderr
    assert "Traceback" not in done.stderr and "hunter2" not in done.stderr
