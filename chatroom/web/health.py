"""GET /healthz: whether the store and the bus answer, for load balancers and people on call.

Anyone may ask, so the public answer names a failing part and nothing else: error texts can name
hosts and ports, and the connection count tells an attacker how their flood is doing. With
`Authorization: Bearer <METRICS_TOKEN>` the answer has the error texts, the bus and the connections,
the release's version and the store's migration level (null while the store does not answer) beside
the newest this release knows; the texts are in the log either way.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from chatroom.rooms.health import Health
from chatroom.version import VERSION
from chatroom.web.operators import is_operator
from chatroom.web.state import state_of

PARTS = ("store", "bus")


async def healthz(request: Request) -> Response:
    state = state_of(request)
    health = await state.hub.health()
    body: dict[str, object] = {"status": "ok" if health.ok else "unavailable"}
    if is_operator(request, state.settings.metrics_token):
        body |= {part: _detail(health, part) for part in PARTS}
        body |= {"bus_backend": health.bus_backend, "connections": health.connections}
        level, latest = await state.hub.migration_level()
        body |= {"version": VERSION, "migration_level": level, "latest_migration": latest}
    else:
        body |= {part: "unavailable" if part in health.problems else "ok" for part in PARTS}
    return JSONResponse(body, 200 if health.ok else 503)


def _detail(health: Health, part: str) -> str:
    problem = health.problems.get(part)
    return "ok" if problem is None else f"unavailable: {problem}"
