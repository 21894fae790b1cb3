"""Who is an operator: a request with `Authorization: Bearer <METRICS_TOKEN>`, when that token is set."""

from __future__ import annotations

import hmac

from starlette.requests import Request


def is_operator(request: Request, token: str) -> bool:
    given = request.headers.get("authorization", "").encode()
    return bool(token) and hmac.compare_digest(given, f"Bearer {token}".encode())
