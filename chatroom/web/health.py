"""GET /healthz: whether the store and the bus answer, for load balancers and people on call."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from chatroom.web.state import state_of


async def healthz(request: Request) -> Response:
    body = await state_of(request).hub.health()
    return JSONResponse(body, 200 if body["status"] == "ok" else 503)
