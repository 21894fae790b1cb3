"""The pages for errors: Starlette's own (no such route, wrong method) and ours, each status from the error's type."""

from __future__ import annotations

import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from chatroom.errors import ChatError, Unavailable
from chatroom.web.state import state_of

log = logging.getLogger(__name__)

TITLES = {403: "Not allowed", 404: "Not found", 405: "Not allowed", 422: "Not understood"}


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return error_page(request, exc.status_code, TITLES.get(exc.status_code, "Error"), exc.detail)


async def chat_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ChatError)
    response = error_page(request, exc.status, exc.title, exc.detail)
    if isinstance(exc, Unavailable):
        log.error("unavailable path=%s: %s", request.url.path, exc)
    if exc.retry_after is not None:
        response.headers["retry-after"] = str(exc.retry_after)
    return response


def error_page(request: Request, status: int, title: str, detail: str) -> Response:
    context: dict[str, Any] = {
        "me": None,
        "scripts": [],
        "title": title,
        "detail": detail,
        "here": "/",
        "profile_error": "",
    }
    return state_of(request).templates.TemplateResponse(request, "error.html", context, status_code=status)
