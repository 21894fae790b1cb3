"""Configuration, read once at start-up from the environment and an optional `.env` file."""

from __future__ import annotations

import ipaddress
import itertools
import os
import re
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from starlette.config import Config, Environ, environ

from chatroom.errors import SettingsError

STORE_SCHEMES = ("sqlite", "postgres", "postgresql")
BROADCAST_SCHEMES = ("memory", "redis", "rediss", "postgres", "postgresql")
ACCESS_MODES = ("open", "members")
LOG_FORMATS = ("text", "json")
HOST_PATTERN = re.compile(r"(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*")


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path("data")
    secret_key: str = ""
    database_url: str = ""
    broadcast_url: str = "memory://"
    history_limit: int = 50
    max_message_length: int = 2000
    allowed_origins: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] = ()  # none: loopback names on a loopback connection, any name otherwise
    metrics_token: str = ""
    rate_limit_per_second: float = 5.0
    rate_limit_burst: int = 10
    rate_limit_per_address: float = 30.0  # messages per second from one client address
    max_connections_per_address: int = 1000  # open WebSockets and SSE streams per client address, per process
    outbox_size: int = 256
    https_only: bool = False
    ws_per_message_deflate: bool = False
    workers: int = 1
    presence_lease: float = 60.0  # seconds a process's "who's here" entries outlive its last renewal
    retention_days: int = 0  # messages older than this are deleted; 0: kept forever
    access: str = "open"  # "open": guests may read and post; "members": only signed-in accounts
    log_format: str = "text"  # or "json": one JSON object per line
    max_upload_bytes: int = 10 * 2**20  # the files of one message, together
    max_files_per_message: int = 10

    @classmethod
    def from_env(
        cls, env: Environ | dict[str, str] = environ, env_file: str | Path = ".env", argv: list[str] = sys.argv
    ) -> Settings:
        config = Config(env_file if Path(env_file).is_file() else None, environ=_as_environ(env))

        def number(
            name: str, default: str, cast: type[int] | type[float], low: float = 1, high: float = float("inf")
        ) -> float:
            raw = config(name, default=default)
            try:
                value = cast(raw)
            except ValueError:
                raise SettingsError(f"{name} must be a number, not {raw!r}") from None
            if value < low:
                raise SettingsError(f"{name} must be at least {low}, not {raw!r}")
            if value > high:
                raise SettingsError(f"{name} must be at most {high}, not {raw!r}")
            return value

        data_dir = Path(config("DATA_DIR", default="data"))
        database_url = config("DATABASE_URL", default="") or f"sqlite:///{data_dir / 'chat.sqlite3'}"
        broadcast_url = config("BROADCAST_URL", default="") or _redis_url(config) or "memory://"
        _check_scheme("DATABASE_URL", database_url, STORE_SCHEMES)
        _check_scheme("BROADCAST_URL", broadcast_url, BROADCAST_SCHEMES)
        origins = tuple(_origin(o) for o in config("ALLOWED_ORIGINS", default="").split(",") if o.strip())
        hosts = tuple(_host(h) for h in config("ALLOWED_HOSTS", default="").split(",") if h.strip())
        access = config("ACCESS", default="open").strip().lower()
        if access not in ACCESS_MODES:
            raise SettingsError(f"ACCESS must be one of {', '.join(ACCESS_MODES)}, not {access!r}")
        return cls(
            host=config("HOST", default="127.0.0.1"),
            port=int(number("PORT", "8000", int, low=0, high=65535)),
            data_dir=data_dir,
            secret_key=config("SECRET_KEY", default="") or _stored_secret(data_dir),
            database_url=database_url,
            broadcast_url=broadcast_url,
            history_limit=int(number("HISTORY_LIMIT", "50", int)),
            max_message_length=int(number("MAX_MESSAGE_LENGTH", "2000", int)),
            allowed_origins=origins,
            allowed_hosts=hosts,
            metrics_token=config("METRICS_TOKEN", default=""),
            rate_limit_per_second=number("RATE_LIMIT_PER_SECOND", "5", float, low=0.001),
            rate_limit_burst=int(number("RATE_LIMIT_BURST", "10", int)),
            rate_limit_per_address=number("RATE_LIMIT_PER_ADDRESS", "30", float, low=0.001),
            max_connections_per_address=int(number("MAX_CONNECTIONS_PER_ADDRESS", "1000", int)),
            outbox_size=int(number("OUTBOX_SIZE", "256", int)),
            https_only=config("HTTPS_ONLY", cast=bool, default=False),
            ws_per_message_deflate=config("WS_PER_MESSAGE_DEFLATE", cast=bool, default=False),
            presence_lease=number("PRESENCE_LEASE_SECONDS", "60", float),
            access=access,
            retention_days=int(number("RETENTION_DAYS", "0", int, low=0)),
            max_upload_bytes=int(number("MAX_UPLOAD_BYTES", str(10 * 2**20), int)),
            max_files_per_message=int(number("MAX_FILES_PER_MESSAGE", "10", int)),
            workers=max(int(number("WEB_CONCURRENCY", "1", int)), _workers_flag(argv)),
            log_format=_log_format(config("LOG_FORMAT", default="text")),
        )


def _redis_url(config: Config) -> str:
    """REDIS_URL; on Heroku (DYNO is set) a `rediss://` one is taken as its Key-Value Store gives it.

    That store's TLS certificate is self-signed and its URL rotates, so Heroku says to connect
    encrypted without verifying (`ssl_cert_reqs=none`) unless the URL says otherwise.
    """
    url: str = config("REDIS_URL", default="")
    if config("DYNO", default="") and url.startswith("rediss://") and "ssl_cert_reqs=" not in url:
        url += ("&" if urlsplit(url).query else "?") + "ssl_cert_reqs=none"
    return url


def _workers_flag(argv: list[str]) -> int:
    """uvicorn's `--workers N`: its worker processes inherit the parent's argv."""
    for flag, value in itertools.pairwise(argv):
        if flag == "--workers" and value.isdigit():
            return int(value)
    return 1


def _as_environ(env: Environ | dict[str, str]) -> Environ:
    return env if isinstance(env, Environ) else Environ(dict(env))


def _check_scheme(name: str, url: str, schemes: tuple[str, ...]) -> None:
    scheme = urlsplit(url).scheme
    if scheme not in schemes:
        raise SettingsError(f"{name} must start with one of {', '.join(s + '://' for s in schemes)}; got {url!r}")


def _origin(value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        raise SettingsError(f"ALLOWED_ORIGINS entries look like https://chat.example.com; got {value.strip()!r}")
    return f"{parts.scheme}://{parts.netloc}".lower()


def _host(value: str) -> str:
    host = value.strip().lower().removeprefix("[").removesuffix("]")
    if host != "*" and not HOST_PATTERN.fullmatch(host) and not _is_address(host):
        raise SettingsError(
            f"ALLOWED_HOSTS entries are host names like chat.example.com or *.example.com (no scheme or port), "
            f"or *; got {value.strip()!r}"
        )
    return host


def _log_format(value: str) -> str:
    if value.strip().lower() not in LOG_FORMATS:
        raise SettingsError(f"LOG_FORMAT must be text or json, not {value!r}")
    return value.strip().lower()


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _stored_secret(data_dir: Path) -> str:
    """The session-signing key: generated on first start, then kept so sessions survive restarts."""
    path = data_dir / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        try:  # O_EXCL: of two processes starting at once, both keep the first one's key
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text().strip()
        with os.fdopen(fd, "w") as f:
            f.write(key)
        return key
