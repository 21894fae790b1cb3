"""Cross-site checks: a browser's request must come from this site or an allowed origin."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import Scope


def origin_allowed(scope: Scope, allowed: tuple[str, ...]) -> bool:
    """True for same-origin and allowed browser requests, and for clients that send no Origin (not a browser)."""
    headers = Headers(scope=scope)
    origin = headers.get("origin")
    if origin is None:
        return True
    origin = origin.lower()
    secure = scope.get("scheme") in ("https", "wss")
    own = f"{'https' if secure else 'http'}://{headers.get('host', '')}".lower()
    return origin == own or origin in allowed
