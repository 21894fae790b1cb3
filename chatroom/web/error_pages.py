"""The pages for errors: a refused request, and a store that is not answering."""

from __future__ import annotations

import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

log = logging.getLogger("chatroom")


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    titles = {403: "Not allowed", 404: "Not found", 405: "Not allowed", 422: "Not understood"}
    return error_page(request, exc.status_code, titles.get(exc.status_code, "Error"), exc.detail)


async def store_unavailable(request: Request, exc: Exception) -> Response:
    log.error("store unavailable path=%s: %s", request.url.path, exc)
    detail = "The message store is not answering right now. Nothing was lost; try again in a moment."
    response = error_page(request, 503, "Temporarily unavailable", detail)
    response.headers["retry-after"] = "5"
    return response


def error_page(request: Request, status: int, title: str, detail: str) -> Response:
    templates: Jinja2Templates = request.app.state.templates
    context: dict[str, Any] = {
        "me": None,
        "scripts": [],
        "title": title,
        "detail": detail,
        "here": "/",
        "profile_error": "",
    }
    return templates.TemplateResponse(request, "error.html", context, status_code=status)
