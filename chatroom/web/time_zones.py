"""The page where a person chooses their time zone (`chatroom.web.zones` says which one a request reads in)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from chatroom.addresses import client_address
from chatroom.errors import Refused
from chatroom.identity import Person
from chatroom.time_zones import UTC, ZONE_KEY, names
from chatroom.web.forms import read_form
from chatroom.web.pages import ROOM_PATH, visitor
from chatroom.web.state import state_of
from chatroom.web.zones import viewer_zone


async def time_zone_page(request: Request) -> Response:
    me = await visitor(request, reading=True)
    return _page(request, me, await viewer_zone(request, me), _back(request.query_params.get("next")))


async def set_time_zone(request: Request) -> Response:
    form = await read_form(request)
    me = await visitor(request)
    back = _back(form.get("next"))
    try:
        zone = await state_of(request).hub.set_time_zone(me, form.get("zone"), client_address(request.scope))
    except Refused as refused:
        return _page(request, me, await viewer_zone(request, me), back, refused.detail, refused.status)
    request.session[ZONE_KEY] = zone
    return RedirectResponse(back, status_code=303)


def _back(raw: object) -> str:
    """Where the form goes back to: a room's page or the lobby, never another site."""
    return raw if isinstance(raw, str) and (raw == "/" or ROOM_PATH.fullmatch(raw)) else "/"


def _page(request: Request, me: Person, zone: str, back: str, error: str = "", status: int = 200) -> Response:
    context = {
        "me": me,
        "zone": zone,
        "zones": names(),
        "utc": UTC,
        "back": back,
        "error": error,
        "scripts": [],
        "here": request.url.path,
        "profile_error": "",
        "profile_value": "",
    }
    return state_of(request).templates.TemplateResponse(request, "time_zone.html", context, status_code=status)
