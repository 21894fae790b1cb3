"""Request heads as deployed (the Procfile's command and the console script): bounded in time, size and
header count, while pages, keep-alive, WebSockets and SSE streams work as before."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import psutil
import pytest
from websockets.sync.client import connect

from tests.integration.servers import ROOT, AppServer, procfile_flags

pytestmark = pytest.mark.timeout(30)

HEAD_TIMEOUT = 10.0  # seconds
MAX_HEAD_BYTES = 32 * 1024
MAX_HEADERS = 100


class ConsoleScriptServer(AppServer):
    """`python -m chatroom`, what the `chatroom` script runs, with AppServer's HOST and PORT."""

    def launch(self) -> None:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "chatroom"], env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
            )


@pytest.fixture(scope="module", params=["procfile", "console"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    tmp = tmp_path_factory.mktemp(request.param)
    env = {"SECRET_KEY": "heads-secret", "DATA_DIR": str(tmp)}
    app = AppServer(env, tmp, procfile_flags()) if request.param == "procfile" else ConsoleScriptServer(env, tmp)
    app.start()
    yield app
    app.stop()


def open_connection(app: AppServer) -> socket.socket:
    return socket.create_connection(("127.0.0.1", app.port), timeout=5)


def request(path: str, *headers: str) -> bytes:
    return "".join([f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n", *(h + "\r\n" for h in headers), "\r\n"]).encode()


def read_response(sock: socket.socket) -> bytes:
    """One response with a Content-Length, read from a keep-alive connection."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, body = data.split(b"\r\n\r\n", 1)
    length = int(head.lower().split(b"content-length: ", 1)[1].split(b"\r\n", 1)[0])
    while len(body) < length:
        body += sock.recv(65536)
    return head


def until_closed(sock: socket.socket, timeout: float) -> tuple[bytes, float | None]:
    """What the server sends until it closes, and when it closed (None: still open after `timeout`)."""
    started = time.monotonic()
    received = b""
    sock.settimeout(0.1)
    while time.monotonic() - started < timeout:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            return received, time.monotonic() - started
        received += chunk
    return received, None


def until_dropped(sock: socket.socket, timeout: float) -> float | None:
    """Keep sending until the server drops the connection; how long that took (None: still taking bytes)."""
    started = time.monotonic()
    sock.settimeout(0.1)
    while time.monotonic() - started < timeout:
        try:
            sock.send(b"a" * 10096)
        except TimeoutError:
            continue
        except (BrokenPipeError, ConnectionResetError):
            return time.monotonic() - started
        time.sleep(0.01)
    return None


def sse_until(sock: socket.socket, marker: bytes, timeout: float = 5.0) -> bytes:
    received = b""
    sock.settimeout(timeout)
    while marker not in received:
        chunk = sock.recv(65536)
        assert chunk, f"the stream closed before {marker!r}: {received[-300:]!r}"
        received += chunk
    return received


def test_a_connection_that_sends_nothing_is_closed_at_the_head_timeout_while_a_websocket_and_sse_stream_live_on(
    server: AppServer,
) -> None:
    room = f"heads-{uuid.uuid4().hex[:8]}"
    with open_connection(server) as idle, open_connection(server) as stream:
        stream.sendall(request(f"/rooms/{room}/events", "Accept: text/event-stream"))
        sse_until(stream, b'id="messages"')
        with connect(f"{server.ws_url}/rooms/{room}/ws", open_timeout=5) as ws:
            ws.recv(timeout=5)  # the snapshot

            answer, closed_after = until_closed(idle, HEAD_TIMEOUT + 2)

            assert (answer, closed_after is not None) == (b"", True)
            assert closed_after is not None and HEAD_TIMEOUT - 1 <= closed_after <= HEAD_TIMEOUT + 1.5
            ws.send(json.dumps({"message": "still-here"}))
            assert "still-here" in str(ws.recv(timeout=5))
            sse_until(stream, b"still-here")


def test_a_head_trickled_after_keep_alive_responses_is_answered_408_at_the_head_timeout(server: AppServer) -> None:
    with open_connection(server) as sock:
        for _ in range(2):
            sock.sendall(request("/healthz"))
            assert read_response(sock).startswith(b"HTTP/1.1 200 ")
        trickle = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 100
        started = time.monotonic()
        answer = b""
        sock.settimeout(0.5)
        for byte in trickle:
            if time.monotonic() - started > HEAD_TIMEOUT + 3:
                break
            try:
                sock.send(bytes([byte]))
                chunk = sock.recv(65536)
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
            answer += chunk
            if not chunk:
                break
        closed_after = time.monotonic() - started

    assert answer.split(b"\r\n", 1)[0] == b"HTTP/1.1 408 Request Timeout"
    assert HEAD_TIMEOUT - 1 <= closed_after <= HEAD_TIMEOUT + 1.5


def test_a_16_mib_head_is_answered_431_once_past_the_size_limit_and_the_server_memory_stays_flat(
    server: AppServer,
) -> None:
    assert server.process is not None
    process = psutil.Process(server.process.pid)
    with open_connection(server) as warm:
        warm.sendall(request("/healthz"))
        read_response(warm)
    before = process.memory_info().rss
    with open_connection(server) as sock:
        sent = sock.send(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: a=")
        sock.sendall(b"a" * (MAX_HEAD_BYTES + 16384))
        sent += MAX_HEAD_BYTES + 16384
        sock.settimeout(3)
        try:
            answer = sock.recv(65536)
        except TimeoutError:
            answer = b""
        try:  # the rest of the 16 MiB, for as long as the server takes it
            while sent < 16 * 2**20:
                sent += sock.send(b"a" * min(65536, 16 * 2**20 - sent))
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass
        held = process.memory_info().rss
        dropped_after = until_dropped(sock, 5)

    assert answer.split(b"\r\n", 1)[0] == b"HTTP/1.1 431 Request Header Fields Too Large"
    assert dropped_after is not None
    assert held - before < 4 * 2**20


def test_a_head_of_20000_headers_gets_431_while_one_of_100_headers_and_30_kib_is_served(server: AppServer) -> None:
    many = [f"X-Header-{n}: {n}" for n in range(20_000)]
    cookies = "Cookie: " + "; ".join(f"c{n}={'v' * 3000}" for n in range(10))
    within = [cookies, *(f"X-Header-{n}: {n}" for n in range(MAX_HEADERS - 2))]
    assert 30 * 1024 < len("\r\n".join(within)) < MAX_HEAD_BYTES - 200

    with open_connection(server) as sock:
        sock.sendall(request("/healthz", *many))
        answer, closed_after = until_closed(sock, 5)
    with open_connection(server) as sock:
        sock.sendall(request("/healthz", *within))
        served = read_response(sock)

    assert answer.split(b"\r\n", 1)[0] == b"HTTP/1.1 431 Request Header Fields Too Large"
    assert answer.endswith(b"\r\n\r\nRequest Header Fields Too Large")
    assert closed_after is not None
    assert served.startswith(b"HTTP/1.1 200 ")
