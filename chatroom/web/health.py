"""GET /healthz: whether the store and the bus answer, for load balancers and people on call.

Anyone may ask, so the public answer names a failing part and nothing else: error texts can name
hosts and ports, and the connection count tells an attacker how their flood is doing. With
`Authorization: Bearer <METRICS_TOKEN>` the answer has the error texts, the bus and the connections;
the texts are in the log either way.
"""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from chatroom.rooms.health import Health
from chatroom.web.state import state_of

PARTS = ("store", "bus")


async def healthz(request: Request) -> Response:
    state = state_of(request)
    health = await state.hub.health()
    body: dict[str, object] = {"status": "ok" if health.ok else "unavailable"}
    if _operator(request, state.settings.metrics_token):
        body |= {part: _detail(health, part) for part in PARTS}
        body |= {"bus_backend": health.bus_backend, "connections": health.connections}
    else:
        body |= {part: "unavailable" if part in health.problems else "ok" for part in PARTS}
    return JSONResponse(body, 200 if health.ok else 503)


def _detail(health: Health, part: str) -> str:
    problem = health.problems.get(part)
    return "ok" if problem is None else f"unavailable: {problem}"


def _operator(request: Request, token: str) -> bool:
    given = request.headers.get("authorization", "").encode()
    return bool(token) and hmac.compare_digest(given, f"Bearer {token}".encode())
