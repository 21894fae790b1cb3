"""The Host header check: a page asked for under a name the site does not answer to is refused.

DNS rebinding points an attacker's name at the chat (most often at a server on 127.0.0.1), so the
visitor's browser treats the chat as the attacker's own site and lets its scripts read the pages.
The only trace is the Host header, which names the attacker's site.
"""

from __future__ import annotations

import ipaddress
import logging

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from chatroom.errors import Forbidden

log = logging.getLogger(__name__)

LOOPBACK_NAMES = ("localhost", "*.localhost", "127.0.0.1", "::1")
REFUSAL = "This site does not answer to that host name. Its operator can add it to ALLOWED_HOSTS."
# A health check (a load balancer's, a container platform's) may name the server by its address.
UNCHECKED_PATHS = ("/healthz",)


def host_allowed(scope: Scope, allowed: tuple[str, ...]) -> bool:
    """Whether the request's Host is one of `allowed` (`*` any, `*.example.com` its subdomains).

    With none set, a connection that arrived on a loopback address must name a loopback host (the
    embedded default, where rebinding is the danger); one that arrived from the network may name any.
    """
    if scope["path"] in UNCHECKED_PATHS:
        return True
    if not allowed:
        if not _arrived_on_loopback(scope):
            return True
        allowed = LOOPBACK_NAMES
    host = _host_name(Headers(scope=scope).get("host", ""))
    return any(
        pattern == "*" or host == pattern or (pattern.startswith("*.") and host.endswith(pattern[1:]))
        for pattern in allowed
    )


async def refuse_host(scope: Scope, receive: Receive, send: Send) -> None:
    """400 with a sentence; a WebSocket handshake is closed before it is accepted, which the server answers with 403.

    (uvicorn 0.54 sends a handshake's refusal with a body, but logs an error for each one: a flood of
    them would flood the log.)
    """
    log.info("refused host=%.100r path=%s", Headers(scope=scope).get("host", ""), scope["path"])
    if scope["type"] == "http":
        await PlainTextResponse(REFUSAL, 400)(scope, receive, send)
    else:
        await WebSocket(scope, receive, send).close(code=Forbidden.close)


def _host_name(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _arrived_on_loopback(scope: Scope) -> bool:
    server = scope.get("server")
    try:
        return server is not None and ipaddress.ip_address(server[0]).is_loopback
    except ValueError:
        return False
