"""The HTTP side: the room page, its forms and the pages of older messages."""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from markupsafe import Markup
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from chatroom.identity import Person, ensure_person, from_session, remember
from chatroom.rooms.hub import Hub, not_stored
from chatroom.store import RoomInfo, StoreUnavailable
from chatroom.transports.sse import room_events
from chatroom.validation import Refused, display_name, room_name
from chatroom.web.origins import origin_allowed

log = logging.getLogger("chatroom.web.pages")

LOBBY = "lobby"
ROOM_PATH = re.compile(r"/rooms/([a-z0-9_-]{1,50})")


async def lobby(request: Request) -> Response:
    return await _room_page(request, LOBBY)


async def room(request: Request) -> Response:
    return await _room_page(request, _room(request))


async def create_room(request: Request) -> Response:
    form = await _form(request)
    try:
        name = room_name(form.get("name", ""))
    except Refused as refused:
        here = _room_of(str(form.get("from", "")))
        return await _room_page(request, here, 422, room_error=refused.detail, room_value=form.get("name", ""))
    await _hub(request).create_room(name)
    return RedirectResponse(f"/rooms/{name}", status_code=303)


async def profile(request: Request) -> Response:
    form = await _form(request)
    back = str(form.get("next", "/"))
    back = back if ROOM_PATH.fullmatch(back) or back == "/" else "/"
    me = ensure_person(request.session)
    try:
        renamed = Person(me.uid, display_name(form.get("name", "")))
    except Refused as refused:
        return await _room_page(
            request, _room_of(back), 422, profile_error=refused.detail, profile_value=form.get("name", "")
        )
    remember(request.session, renamed)
    if renamed != me:
        try:
            await _hub(request).rename(renamed)
        except StoreUnavailable as exc:  # the name is saved; the lists catch up when people reconnect
            log.warning("rename not shown to others uid=%s: %s", me.uid, exc)
    return RedirectResponse(back, status_code=303)


async def older_messages(request: Request) -> Response:
    room = _room(request)
    before = _positive(request.query_params.get("before", ""), "before")
    messages, first = await _hub(request).history.before(room, before)
    html = _hub(request).fragments.older_page(room, "".join(m.item for m in messages), first)
    return HTMLResponse(html)


async def post_message(request: Request) -> Response:
    room = _room(request)
    form = await _form(request)
    me = ensure_person(request.session)
    htmx = request.headers.get("hx-request") == "true"
    fragments = _hub(request).fragments
    try:
        await _hub(request).post(room, me, form.get("message", ""), f"session:{me.uid}")
    except StoreUnavailable:
        log.error("store failed transport=http room=%s who=%s", room, me.name)
        if not htmx:
            raise  # the 503 page
        return HTMLResponse(fragments.errors(not_stored().detail), 503)
    except Refused as refused:
        status = 429 if refused.code == "rate_limited" else 422
        log.info("refused transport=http room=%s who=%s reason=%s", room, me.name, refused.code)
        if htmx:
            return HTMLResponse(fragments.errors(refused.detail), status)
        return await _room_page(request, room, status, error=refused.detail, value=form.get("message", ""))
    if htmx:
        return HTMLResponse(_send_form(request, room) + fragments.errors(oob=True))
    return RedirectResponse(f"/rooms/{room}", status_code=303)


async def typing(request: Request) -> Response:
    """The SSE page's input changed (htmx throttles it): the same as a typing frame on the WebSocket."""
    room = _room(request)
    if request.headers.get("hx-request") != "true":  # with SameSite=Lax cookies, a cheap CSRF check
        raise HTTPException(403, "Typing events come from the room page.")
    form = await _form(request)
    me = from_session(request.session)
    text = form.get("message", "")
    if me is not None and isinstance(text, str) and _hub(request).typing_limiter.allow(me.uid):
        _hub(request).typed(room, me, bool(text.strip()))
    return Response(status_code=204)


async def events(request: Request) -> Response:
    return await room_events(request, _room(request))


async def _room_page(request: Request, room: str, status: int = 200, **extra: Any) -> Response:
    hub = _hub(request)
    me = ensure_person(request.session)
    transport = "sse" if request.query_params.get("transport") == "sse" else "ws"
    before = request.query_params.get("before")
    around = request.query_params.get("around")
    if before is not None and status == 200:
        messages, first = await hub.history.before(room, _positive(before, "before"))
    elif around is not None and status == 200:
        # A permalink opens a still page around the message: a live snapshot would replace it with the latest.
        messages, first = await hub.history.around(room, _positive(around, "around"))
    else:
        messages, first = await hub.recent(room)
    rooms, online = await hub.directory.listing()
    context = {
        "room": room,
        "me": me,
        "here": request.url.path,
        "transport": transport,
        "live": before is None and around is None,
        "room_list": Markup(hub.fragments.room_list(rooms, online, room)),  # noqa: S704 - our own autoescaped partial
        "seen": await _seen(hub, me, rooms),
        "members": await hub.presence.members(room),
        "typing_names": hub.typing.names(room, me.uid),
        "items": Markup("".join(m.item for m in messages)),  # noqa: S704 - our own autoescaped message partials
        "first_seq": first,
        "scripts": request.app.state.htmx.scripts(transport),
        "oob": False,
        "error": "",
        "value": "",
        "room_error": "",
        "room_value": "",
        "profile_error": "",
        "profile_value": "",
    }
    context.update(extra)
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(request, "room.html", context, status_code=status)


async def _seen(hub: Hub, me: Person, rooms: list[RoomInfo]) -> dict[str, int]:
    """The last `seq` the person saw in each room; a room open in one of their tabs is seen to its end."""
    seen = await hub.store.read_markers(me.uid)
    present = set(await hub.store.present_rooms(me.uid, int(time.time() * 1_000_000)))
    for info in rooms:
        if info.name in present:
            seen[info.name] = info.last_seq
    return seen


def _send_form(request: Request, room: str) -> str:
    templates: Jinja2Templates = request.app.state.templates
    return templates.env.get_template("_send_form.html").render(room=room, transport="sse", value="", oob=False)


async def _form(request: Request) -> FormData:
    if not origin_allowed(request.scope, _hub(request).settings.allowed_origins):
        raise HTTPException(403, "This form was sent from another site.")
    return await request.form(max_files=0, max_fields=10, max_part_size=64 * 1024)


def _room(request: Request) -> str:
    try:
        return room_name(request.path_params["room"])
    except Refused as refused:
        raise HTTPException(404, refused.detail) from None


def _room_of(path: str) -> str:
    match = ROOM_PATH.fullmatch(path)
    return match.group(1) if match else LOBBY


def _positive(raw: str, name: str) -> int:
    if not raw.isdigit() or not 0 < int(raw) < 2**62:
        raise HTTPException(422, f"{name} must be a positive whole number.")
    return int(raw)


def _hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub
