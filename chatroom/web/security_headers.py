"""Headers every HTTP response carries: what a page may load, what browsers may guess, what may be kept."""

from __future__ import annotations

from typing import Any

# No script runs but htmx's own files; styles may be inline for the per-viewer touches.
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "connect-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}
# Pages, fragments and form answers show a person's name and rooms: no shared or disk cache may keep
# them. Static files are the same for everyone (htmx's say for themselves how long to keep them).
NO_STORE = (b"cache-control", b"private, no-store")


class SecurityHeaders:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                static = scope["path"].startswith("/static/") and message["status"] < 400
                if not static and not any(k.lower() == b"cache-control" for k, _ in headers):
                    headers.append(NO_STORE)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)
