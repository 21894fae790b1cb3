"""The HTTP side: the room page, its forms and the pages of older messages."""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from typing import Any

from markupsafe import Markup
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from chatroom.addresses import client_address
from chatroom.errors import ChatError, Forbidden, NotFound, RateLimited, Refused, StoreUnavailable, Unavailable
from chatroom.identity import Person, from_session, remember
from chatroom.names import chosen_name
from chatroom.refusals import log_refusal
from chatroom.rooms.hub import Hub, Quote
from chatroom.rooms.private import title_of
from chatroom.rooms.render import new_nonce
from chatroom.transports.sse import room_events
from chatroom.validation import LOBBY, room_name, whole_number
from chatroom.web.access import signed_in
from chatroom.web.forms import read_form
from chatroom.web.state import state_of
from chatroom.web.zones import viewer_zone

log = logging.getLogger(__name__)

ROOM_PATH = re.compile(r"/rooms/([a-z0-9_-]{1,50})")


async def lobby(request: Request) -> Response:
    return await _room_page(request, LOBBY)


async def room(request: Request) -> Response:
    return await _room_page(request, room_in_path(request))


async def create_room(request: Request) -> Response:
    form = await _form(request)
    me = signed_in(request) or from_session(request.session)
    try:
        if form.get("private") == "on":
            if me is None or not me.signed_in:
                raise Forbidden("Sign in to make a private room: only accounts can be members of one.")
            name = await _hub(request).private.create(me, form.get("name", ""), _address(request))
        else:
            name = room_name(form.get("name", ""))
            await _hub(request).create_room(name, me.uid if me else None, _address(request))
    except Refused as refused:
        log_refusal(
            log,
            _address(request),
            refused.code,
            "refused room creation address=%s reason=%s",
            _address(request),
            refused.code,
        )
        here = _room_of(str(form.get("from", "")))
        return await _refused_page(request, here, refused, room_error=refused.detail, room_value=form.get("name", ""))
    return RedirectResponse(f"/rooms/{name}", status_code=303)


async def browse(request: Request) -> Response:
    """GET /rooms: the rooms written in, the most recently active first, a page at a time (`?page=N`)."""
    raw = request.query_params.get("page", "1")
    page = positive(raw, "page")
    me = signed_in(request) or from_session(request.session)
    found = await _hub(request).browse(page, _address(request))
    context: dict[str, Any] = {
        "me": me,
        "here": "/rooms",
        "found": found,
        "scripts": [],
        "profile_error": "",
        "profile_value": "",
    }
    return state_of(request).templates.TemplateResponse(request, "browse.html", context)


async def no_room(request: Request) -> Response:
    """GET /rooms/: no room's name (without it, the slash would be redirected to the browse page)."""
    raise NotFound("A room's name is 1 to 50 of a-z, 0-9, - and _.")


async def notify(request: Request) -> Response:
    """POST /rooms/{room}/notify (field `notify`: all, mentions or mute): a signed-in person's choice; 303 back."""
    room = room_in_path(request)
    form = await _form(request)
    me = signed_in(request)
    if me is None:
        raise Forbidden("Sign in to choose what counts as unread in a room.")
    await _hub(request).choose_notify(me, room, str(form.get("notify", "")), _address(request))
    return RedirectResponse(f"/rooms/{room}", status_code=303)


async def profile(request: Request) -> Response:
    form = await _form(request)
    back = str(form.get("next", "/"))
    back = back if ROOM_PATH.fullmatch(back) or back == "/" else "/"
    here = _room_of(back)
    me = await visitor(request, here)
    try:
        renamed = replace(me, name=chosen_name(form.get("name", ""), current=me.name))
        if renamed.name != me.name:  # no account, and nobody present where they come from or anywhere they are
            await _hub(request).claim_name(renamed, [here, *await _hub(request).present_rooms(me)])
            if me.signed_in:
                renamed = await state_of(request).accounts.rename(me, renamed.name)
    except Refused as refused:
        return await _room_page(request, here, 422, profile_error=refused.detail, profile_value=form.get("name", ""))
    if not me.signed_in:
        remember(request.session, renamed)
    if renamed != me:
        try:
            await _hub(request).rename(renamed)
        except StoreUnavailable as exc:  # the name is saved; the lists catch up when people reconnect
            log.warning("rename not shown to others uid=%s: %s", me.uid, exc)
    return RedirectResponse(back, status_code=303)


async def older_messages(request: Request) -> Response:
    room = room_in_path(request)
    before = positive(request.query_params.get("before", ""), "before")
    zone = await viewer_zone(request, signed_in(request) or from_session(request.session))
    return HTMLResponse(await _hub(request).older_page(room, before, _address(request), zone))


async def post_message(request: Request) -> Response:
    room = room_in_path(request)
    form = await _form(request)
    htmx = request.headers.get("hx-request") == "true"
    address = _address(request)
    try:
        me = await visitor(request, room)
        sender = f"session:{me.uid}"
        reply_to = form.get("reply_to")
        await _hub(request).post(room, me, form.get("message", ""), sender, address, form.get("nonce"), reply_to)
    except ChatError as error:
        log_refusal(
            log, address, error.code, "refused transport=http room=%s address=%s reason=%s", room, address, error.code
        )
        if htmx:
            return HTMLResponse(_hub(request).fragments.errors(error.detail), error.status)
        replying = await _still_repliable(request, room, form.get("reply_to"))
        return await _refused_page(
            request, room, error, error=error.detail, value=form.get("message", ""), replying=replying
        )
    if htmx:
        return HTMLResponse(_send_form(request, room) + _hub(request).fragments.errors(oob=True))
    return RedirectResponse(f"/rooms/{room}", status_code=303)


async def _still_repliable(request: Request, room: str, raw: object) -> Quote | None:
    """A refused reply's quote, for the form shown again with the text and the reply; None when it is none."""
    me = signed_in(request) or from_session(request.session)
    id = whole_number(raw.strip()) if isinstance(raw, str) else None
    if me is None or not id:
        return None
    try:
        return Quote.of(await _hub(request).repliable(room, me, id))
    except ChatError:  # the reply itself was what was refused, or the store is away: the form without it
        return None


async def typing(request: Request) -> Response:
    """The SSE page's input changed (htmx throttles it): the same as a typing frame on the WebSocket."""
    room = room_in_path(request)
    if request.headers.get("hx-request") != "true":  # with SameSite=Lax cookies, a cheap CSRF check
        raise Forbidden("Typing events come from the room page.")
    form = await _form(request)
    me = signed_in(request) or from_session(request.session)
    text = form.get("message", "")
    if me is not None and isinstance(text, str):
        _hub(request).typing_event(room, me, bool(text.strip()), _address(request))
    return Response(status_code=204)


async def events(request: Request) -> Response:
    return await room_events(request, room_in_path(request))


async def _refused_page(request: Request, room: str, refused: ChatError, **extra: Any) -> Response:
    """A refused form, shown again with the reason and what was typed; but a rate limit or an outage gets the
    small error page: a flood must not cost a room page each (the browser's Back keeps the text)."""
    if isinstance(refused, Unavailable | RateLimited):
        raise refused
    return await _room_page(request, room, refused.status, **extra)


async def room_page(request: Request, room: str, status: int = 200, **extra: Any) -> Response:
    return await _room_page(request, room, status, **extra)


async def _room_page(request: Request, room: str, status: int = 200, **extra: Any) -> Response:
    state = state_of(request)
    me = await visitor(request, room, reading=True)
    transport = "sse" if request.query_params.get("transport") == "sse" else "ws"
    before = request.query_params.get("before")
    around = request.query_params.get("around")
    if status != 200:  # the page again, with the reason: the latest messages
        before = around = None
    zone = await viewer_zone(request, me)
    # A permalink opens a still page around the message: a live snapshot would replace it with the latest.
    view = await state.hub.room_view(
        room,
        me,
        before=None if before is None else positive(before, "before"),
        around=None if around is None else positive(around, "around"),
        address=_address(request),
        zone=zone,
    )
    private = await state.hub.private.room(me, room)
    context = {
        "room": room,
        "zone": zone,
        "private": private,
        "room_title": title_of(room, private, me),
        "conversations": await state.hub.private.conversations(me),
        "member_error": "",
        "member_value": "",
        "me": me,
        "here": request.url.path,
        "transport": transport,
        "live": before is None and around is None,
        "room_list": Markup(view.room_list),  # noqa: S704 - our own autoescaped partial
        "seen": view.seen,
        "unread_total": view.unread_total,
        "new_from": view.new_from,
        "notify": view.notify,
        "badges": view.badges,
        "members": Markup(view.members),  # noqa: S704 - our own autoescaped partial
        "typists": view.typists,
        "items": Markup(view.items),  # noqa: S704 - our own autoescaped message partials
        "first_seq": view.first_seq,
        "scripts": state.htmx.scripts(transport),
        "oob": False,
        "error": "",
        "value": "",
        "room_error": "",
        "room_value": "",
        "profile_error": "",
        "profile_value": "",
        "nonce": new_nonce(),
        "replying": None,
    }
    context.update(extra)
    return state.templates.TemplateResponse(request, "room.html", context, status_code=status)


async def visitor(request: Request, room: str = LOBBY, *, reading: bool = False) -> Person:
    """The visitor's person; one without a session is made a guest (a name nobody in `room` has), unless their
    address made too many lately.

    Past that limit a page is still shown (`reading`), as a guest the session does not keep, and a form is
    refused: a script that drops its cookie gets no new identity, and a crowd behind one address can still read.
    """
    me = signed_in(request) or from_session(request.session)
    if me is not None:
        return me
    if _hub(request).may_start_session(_address(request)):
        me = await _hub(request).new_guest(room)
        remember(request.session, me)
        return me
    if reading:
        return await _hub(request).new_guest(room)
    log_refusal(log, _address(request), "new_session", "refused new session address=%s", _address(request))
    raise RateLimited("Too many new visitors from your network right now; wait a minute and try again.")


def _address(request: Request) -> str | None:
    return client_address(request.scope)


def _send_form(request: Request, room: str) -> str:
    template = state_of(request).templates.env.get_template("_send_form.html")
    return template.render(room=room, transport="sse", value="", oob=False, nonce=new_nonce(), replying=None)


async def _form(request: Request) -> FormData:
    return await read_form(request)


def room_in_path(request: Request) -> str:
    try:
        return room_name(request.path_params["room"])
    except Refused as refused:
        raise NotFound(refused.detail) from None


def _room_of(path: str) -> str:
    match = ROOM_PATH.fullmatch(path)
    return match.group(1) if match else LOBBY


def positive(raw: str, name: str) -> int:
    number = whole_number(raw)
    if not number:
        raise Refused("invalid_number", f"{name} must be a positive whole number.")
    return number


def _hub(request: Request) -> Hub:
    return state_of(request).hub
