"""GET /healthz: whether the store and the bus answer, for load balancers and people on call."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from chatroom.rooms.hub import Hub


async def healthz(request: Request) -> Response:
    hub: Hub = request.app.state.hub
    parts: dict[str, Any] = {}
    for part, check in (("store", hub.store.ping), ("bus", hub.bus.ping)):
        try:
            await check()
            parts[part] = "ok"
        except Exception as exc:
            parts[part] = f"unavailable: {exc or type(exc).__name__}"
    healthy = all(v == "ok" for v in parts.values())
    body = {"status": "ok" if healthy else "unavailable", **parts, "bus_backend": hub.bus.kind}
    body["connections"] = hub.viewer_count
    return JSONResponse(body, 200 if healthy else 503)
