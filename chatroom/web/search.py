"""GET /search: the search page, and its results alone for htmx."""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from chatroom.addresses import client_address
from chatroom.errors import RateLimited, Refused, Unavailable
from chatroom.identity import from_session
from chatroom.refusals import log_refusal
from chatroom.search import search_query
from chatroom.validation import whole_number
from chatroom.web.access import signed_in
from chatroom.web.state import state_of
from chatroom.web.zones import viewer_zone

log = logging.getLogger(__name__)


async def search(request: Request) -> Response:
    state = state_of(request)
    params = request.query_params
    me = signed_in(request) or from_session(request.session)
    address = client_address(request.scope)
    context: dict[str, Any] = {"q": params.get("q", ""), "room": params.get("room", ""), "results": None, "error": ""}
    status = 200
    try:
        query = search_query(params.get("q", ""), params.get("room"))
        before = whole_number(params.get("before", "")) or None
        if query is not None:
            context["results"] = await state.hub.search(me, query, before, address)
    except (Refused, Unavailable) as error:
        if isinstance(error, RateLimited):
            log_refusal(log, address, error.code, "refused search address=%s reason=%s", address, error.code)
        context["error"], status = error.detail, error.status
    fragment = request.headers.get("hx-request") == "true"
    context |= {"me": me, "here": "/search", "scripts": [state.htmx.url("core")]}
    context |= {"profile_error": "", "profile_value": "", "zone": await viewer_zone(request, me)}
    name = "_search_results.html" if fragment else "search.html"
    return state.templates.TemplateResponse(request, name, context, status_code=status)
