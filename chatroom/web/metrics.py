"""GET /metrics: the chat's Prometheus metrics (`chatroom.metrics`), for operators only.

The numbers tell how many people are connected and how a flood is doing, so they are never public:
without `METRICS_TOKEN` the page is off (404), and with it a scrape must send
`Authorization: Bearer <METRICS_TOKEN>` (otherwise 401).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from chatroom.metrics import exposition
from chatroom.web.operators import is_operator
from chatroom.web.state import state_of

OFF = "Metrics are off. Set METRICS_TOKEN, then scrape with Authorization: Bearer <METRICS_TOKEN>."
REFUSED = "Metrics need Authorization: Bearer <METRICS_TOKEN>."


async def scrape(request: Request) -> Response:
    token = state_of(request).settings.metrics_token
    if not token:
        return PlainTextResponse(OFF, 404)
    if not is_operator(request, token):
        return PlainTextResponse(REFUSED, 401, headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    body, content_type = exposition()
    return Response(body, media_type=content_type)
