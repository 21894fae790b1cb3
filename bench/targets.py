"""What the bench can measure: the product as its Procfile runs it, and the peers.

A target is a server plus one of its WebSocket endpoints; a server spec says how to start it.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from bench.accounts import SECRET_KEY

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
CHANNELS_DIR = BENCH / "peers" / "channels"
CHANNELS_VENV = BENCH / ".venv-channels"
PRODUCT_ENV = {
    "SECRET_KEY": SECRET_KEY,  # so the bench can sign the session cookies of signed-in clients
    "RATE_LIMIT_PER_SECOND": "1000000",
    "RATE_LIMIT_BURST": "1000000",
    "RATE_LIMIT_PER_ADDRESS": "1000000",
    "MAX_CONNECTIONS_PER_ADDRESS": "1000000",
}
UVICORN_APP = re.compile(r"(?<![\w.-])[A-Za-z_][\w.]*:[A-Za-z_]\w*(?![\w.])")


@dataclass(frozen=True)
class Target:
    """One thing the generator talks to: a server and one of its WebSocket endpoints."""

    name: str
    server: str
    path: str  # may contain {room}
    protocol: str  # "json" (the seed's) or "htmx"
    session: str = ""  # each client's cookie: "" none, "guest" a named guest's, "account" an account's session


TARGETS = {
    t.name: t
    for t in (
        Target("product-htmx", "product", "/rooms/{room}/ws", "htmx"),
        Target("product-htmx-guest", "product", "/rooms/{room}/ws", "htmx", session="guest"),
        Target("product-htmx-signed", "product", "/rooms/{room}/ws", "htmx", session="account"),
        Target("product-json", "product", "/ws/rooms/{room}/", "json"),
        Target("bare", "bare", "/ws/rooms/{room}/", "json"),
        Target("raw", "raw", "/ws/rooms/{room}/", "json"),
        Target("channels", "channels", "/ws/socket-server/", "json"),
        Target("channels-async", "channels", "/ws/async-socket-server/", "json"),
        Target("blaster", "blaster", "/ws/socket-server/", "json"),
    )
}


PEERS = ("bare", "raw", "channels")


@dataclass
class ServerSpec:
    name: str
    command: str
    cwd: Path
    health: str | None  # HTTP path answering 200 once ready; None = TCP accept is enough
    env: dict[str, str] = field(default_factory=dict)
    note: str = ""


def procfile_web_line(root: Path = ROOT) -> str | None:
    procfile = root / "Procfile"
    if not procfile.exists():
        return None
    for line in procfile.read_text().splitlines():
        if line.startswith("web:"):
            return line[4:].strip()
    return None


def _local_only(command: str) -> str:
    # The bench never listens beyond loopback, whatever a deploy line binds to (an address on its own, not
    # the end of a network such as `10.0.0.0/8` in `--forwarded-allow-ips`).
    command = re.sub(r"--host(=|\s+)\S+", r"--host\g<1>127.0.0.1", command)
    return re.sub(r"(?<![\w.])0\.0\.0\.0(?![\w./])", "127.0.0.1", command)


def product_spec(root: Path = ROOT) -> ServerSpec | None:
    """The product in `root` (another build's export, say), started as its own Procfile says."""
    line = procfile_web_line(root)
    if line is None or not (root / "chatroom").exists():
        return None
    env = dict(PRODUCT_ENV)
    return ServerSpec("product", _local_only(line), root, "/healthz", env, note="the Procfile's web: line")


def peer_spec(name: str, app_path: str) -> ServerSpec:
    """A peer app (`module:app`) run by uvicorn with the Procfile's flags: the same server, HTTP and WebSocket
    implementation as the product, so the difference is the application alone."""
    line = procfile_web_line()
    words = shlex.split(line) if line else []
    if (words and Path(words[0]).name == "uvicorn") or words[:3] == ["python", "-m", "uvicorn"]:
        app = UVICORN_APP.search(line or "")
        if app:
            command = (line or "")[: app.start()] + app_path + (line or "")[app.end() :]
            command = re.sub(r"\s--factory\b", "", command)
            return ServerSpec(name, _local_only(command), ROOT, "/healthz", note="the product's uvicorn flags")
    command = f"uvicorn {app_path} --host 127.0.0.1 --port $PORT"
    return ServerSpec(name, command, ROOT, "/healthz", note="uvicorn defaults: the Procfile runs no uvicorn")


def bare_spec() -> ServerSpec:
    return peer_spec("bare", "bench.peers.bare:app")


def channels_spec() -> ServerSpec:
    daphne = CHANNELS_VENV / "bin" / "daphne"
    command = f"{daphne} -b 127.0.0.1 -p $PORT chatpeer.asgi:application"
    return ServerSpec("channels", command, CHANNELS_DIR, "/")


def blaster_spec() -> ServerSpec:
    return ServerSpec("blaster", f"{sys.executable} -m bench.peers.blaster --port $PORT", ROOT, None)


def specs() -> dict[str, ServerSpec]:
    found = {
        "bare": bare_spec(),
        "raw": peer_spec("raw", "bench.peers.raw:app"),
        "channels": channels_spec(),
        "blaster": blaster_spec(),
    }
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
