"""Log lines: one per event on stderr, as text (the default) or as JSON lines (`LOG_FORMAT=json`).

A JSON line has the text line's fields, `time`, `level`, `logger` and `message` (the same sentence,
`connect transport=htmx room=lobby …`), plus `request_id` while an HTTP request is being answered,
and `exception` with a traceback. The request id is the one the platform's router gave the request
in `X-Request-ID` (Heroku's does) when it looks like one, or a new one; it is sent back in the
answer's `X-Request-ID`, so a person's report and the log meet. Nothing here adds to what is logged:
no message text, no password, no cookie or token is ever in a line, in either format; and the
server's access lines, which name each request's path, leave out the secret of a link's path
(an invite's, a set-up or password-reset link's).
"""

from __future__ import annotations

import copy
import logging
import re
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.config import LOGGING_CONFIG

TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# The server's own loggers (its errors, and its access lines when they are on) follow the same format.
SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")
REQUEST_ID_HEADER = "x-request-id"
# Heroku's router sends a UUID; a proxy's own may be any token of this shape. Anything else is replaced.
GIVEN_ID = re.compile(r"[A-Za-z0-9+/=._-]{8,200}")
# Paths whose last part is a secret: whoever reads it in a log could use the link.
SECRET_PATH = re.compile(r"^(/(?:join|setup|reset)/)[^/?#]+")

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
_handler: logging.Handler | None = None


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        time = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        entry: dict[str, object] = {
            "time": time,
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        current = request_id.get()
        if current is not None:
            entry["request_id"] = current
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


def configure(log_format: str = "text") -> None:
    """The chat's log lines on stderr in `log_format`, unless the host application configured logging already;
    the server's own lines too when JSON is asked for."""
    global _handler
    formatter = JsonLines() if log_format == "json" else logging.Formatter(TEXT)
    log = logging.getLogger("chatroom")
    if _handler is None and not log.handlers and not logging.getLogger().handlers:
        _handler = logging.StreamHandler()
        log.addHandler(_handler)
        log.setLevel(logging.INFO)
    if _handler is not None:
        _handler.setFormatter(formatter)
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, HiddenTokens) for f in access.filters):
        access.addFilter(HiddenTokens())  # kept when the server configures its logging after this
    if log_format == "json":
        for name in SERVER_LOGGERS:
            for handler in logging.getLogger(name).handlers:
                handler.setFormatter(formatter)


def server_logging(log_format: str) -> dict[str, Any]:
    """uvicorn's logging configuration with its lines in `log_format`, for a server that configures it after the app."""
    config = copy.deepcopy(LOGGING_CONFIG)
    if log_format == "json":
        config["formatters"] = {name: {"()": JsonLines} for name in config["formatters"]}
    return config


class HiddenTokens(logging.Filter):
    """uvicorn's access line names the path; the secret in a link's path becomes `…`."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], SECRET_PATH.sub(r"\1…", args[2]), *args[3:])
        return True


class RequestIds:
    """Gives each HTTP request an id for its log lines, and sends it back in `X-Request-ID`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get(REQUEST_ID_HEADER, "")
        current = given if GIVEN_ID.fullmatch(given) else uuid.uuid4().hex

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = current
            await send(message)

        token = request_id.set(current)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id.reset(token)
