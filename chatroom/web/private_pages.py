"""Private rooms' forms and direct conversations: add or remove someone, leave, and `/dm/{name}`.

Each is a plain form or link that works with JavaScript off: 303 to where the person goes next, or the
room page again with the reason (a name nobody has, someone already there). A room the visitor is not a
member of never gets here (`chatroom.web.private_doors`).
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from chatroom.addresses import client_address
from chatroom.errors import Forbidden, NotFound, RateLimited, Refused, SignInFirst
from chatroom.rooms.access import is_private
from chatroom.web.access import signed_in
from chatroom.web.forms import read_form
from chatroom.web.pages import room_in_path, room_page
from chatroom.web.state import state_of


async def add_member(request: Request) -> Response:
    return await _change_members(request, add=True)


async def remove_member(request: Request) -> Response:
    return await _change_members(request, add=False)


async def _change_members(request: Request, add: bool) -> Response:
    """Add the account the form names to the room, or take it out: 303 back to the room, or the room page again
    with the reason (an added name stays in its field, to be corrected)."""
    room = room_in_path(request)
    form = await read_form(request)
    me = signed_in(request)
    _private_only(room)  # the error page: a public room's page has no such form
    if me is None:
        raise NotFound("There is no such room.")
    private, name = state_of(request).hub.private, form.get("name", "")
    try:
        await (private.add if add else private.remove)(me, room, name, client_address(request.scope))
    except Refused as refused:
        if isinstance(refused, NotFound | Forbidden | RateLimited):
            raise
        value = name if add else ""
        return await room_page(request, room, refused.status, member_error=refused.detail, member_value=value)
    return RedirectResponse(f"/rooms/{room}", status_code=303)


async def leave(request: Request) -> Response:
    room = room_in_path(request)
    await read_form(request)
    me = signed_in(request)
    _private_only(room)
    if me is None:
        raise NotFound("There is no such room.")
    await state_of(request).hub.private.leave(me, room)
    return RedirectResponse("/", status_code=303)


async def direct(request: Request) -> Response:
    """The direct conversation with the account in the path: made on first use, then 303 to its room."""
    me = signed_in(request)
    if me is None:
        raise SignInFirst(request.url.path)
    room = await state_of(request).hub.private.direct(me, request.path_params["name"], client_address(request.scope))
    return RedirectResponse(f"/rooms/{room}", status_code=303)


async def direct_form(request: Request) -> Response:
    """The sidebar's "write to" form (a GET, so it works without JavaScript): to `/dm/{name}`."""
    name = request.query_params.get("name", "").strip()
    if not name:
        raise Refused("invalid_name", "Give the name of someone with an account.")
    return RedirectResponse(f"/dm/{quote(name, safe='')}", status_code=303)


def _private_only(room: str) -> None:
    if not is_private(room):
        raise Refused("public_room", "Only a private room has members: everyone may read a public room.")
