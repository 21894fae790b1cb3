"""Messages that change: a message's menu (react, edit, delete), its edit page, and the forms that change it.

Every change is a plain form post that works with JavaScript off (303 back to the message); htmx posts it in
the background (`HX-Request`) and gets 200 with the message's new item out of band, so a page that is not
live (a permalink) is updated too. Everyone else sees the change live, as the log's next entry.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from chatroom.addresses import client_address
from chatroom.errors import ChatError, Forbidden, NotFound
from chatroom.identity import Person
from chatroom.rooms.hub import Hub, Message, Quote
from chatroom.rooms.render import new_nonce
from chatroom.validation import LOBBY
from chatroom.web.forms import read_form, text
from chatroom.web.pages import positive, room_in_path, visitor
from chatroom.web.state import state_of
from chatroom.web.zones import viewer_zone


async def actions(request: Request) -> Response:
    """The menu of one message for this viewer: the reactions to choose from, and edit and delete where allowed."""
    room, id = room_in_path(request), _id(request)
    me = await visitor(request, room, reading=True)
    message = await _alive(request, room, id)
    context: dict[str, Any] = {
        "message": message,
        "may_edit": message.author_id == me.uid,
        "may_delete": _may_delete(me, message),
    }
    if _htmx(request):
        return HTMLResponse(state_of(request).templates.env.get_template("_message_menu.html").render(**context))
    zone = await viewer_zone(request, me)
    item = Markup(_hub(request).fragments.message(message, zone=zone))  # noqa: S704 - our own autoescaped partial
    return _page(request, "message.html", me=me, room=room, item=item, **context)


async def reply_page(request: Request) -> Response:
    """Reply to a message: with htmx, the room's send form shows "Replying to …" (and sends `reply_to` with the
    text); without it, or from a page that has no send form (a permalink's), a page with the quote and a form."""
    room, id = room_in_path(request), _id(request)
    me = await visitor(request, room, reading=True)
    target = await _hub(request).repliable(room, me, id, client_address(request.scope))
    if _htmx(request):
        if _composes_in(request, room):
            return HTMLResponse(_hub(request).fragments.replying(room, Quote.of(target), oob=True))
        return Response(headers={"hx-redirect": f"/rooms/{room}/messages/{id}/reply"})
    zone = await viewer_zone(request, me)
    item = Markup(_hub(request).fragments.message(target, zone=zone))  # noqa: S704 - our own autoescaped partial
    quote = Quote.of(target)
    return _page(request, "reply.html", me=me, room=room, item=item, quote=quote, nonce=new_nonce(), oob=False)


def _composes_in(request: Request, room: str) -> bool:
    """Whether the htmx request comes from `room`'s live page (which has the send form): not a permalink's."""
    current = urlsplit(request.headers.get("hx-current-url", ""))
    live = not {"around", "before"} & parse_qs(current.query).keys()
    return live and (current.path == f"/rooms/{room}" or (room == LOBBY and current.path == "/"))


async def edit_page(request: Request) -> Response:
    room, id = room_in_path(request), _id(request)
    me = await visitor(request, room, reading=True)
    message = await _alive(request, room, id)
    if message.author_id != me.uid:
        raise Forbidden("Only its author can change a message.")
    return _page(request, "edit.html", me=me, room=room, message=message, value=message.text)


async def edit(request: Request) -> Response:
    room, id = room_in_path(request), _id(request)
    form = await read_form(request)
    me = await visitor(request, room)
    try:
        entry = await _hub(request).edit(
            room, me, id, text(form, "message"), _sender(me), client_address(request.scope)
        )
    except ChatError as error:
        if _htmx(request) or isinstance(error, NotFound | Forbidden):
            raise
        message = await _alive(request, room, id)
        return _page(
            request,
            "edit.html",
            error.status,
            me=me,
            room=room,
            message=message,
            value=text(form, "message"),
            error=error.detail,
        )
    return await _done(request, me, entry)


async def delete(request: Request) -> Response:
    room, id = room_in_path(request), _id(request)
    await read_form(request)
    me = await visitor(request, room)
    return await _done(
        request, me, await _hub(request).delete(room, me, id, _sender(me), client_address(request.scope))
    )


async def react(request: Request) -> Response:
    room, id = room_in_path(request), _id(request)
    form = await read_form(request)
    me = await visitor(request, room)
    entry = await _hub(request).react(room, me, id, text(form, "emoji"), _sender(me), client_address(request.scope))
    return await _done(request, me, entry)


async def _done(request: Request, me: Person, entry: Message) -> Response:
    if _htmx(request):
        return HTMLResponse(_hub(request).fragments.changed(entry, zone=await viewer_zone(request, me)))
    return RedirectResponse(f"/rooms/{entry.room}?around={entry.id}#msg-{entry.id}", status_code=303)


async def _alive(request: Request, room: str, id: int) -> Message:
    message = await _hub(request).message(room, id, client_address(request.scope))
    if message is None or message.deleted:
        raise NotFound("There is no such message.")
    return message


def _may_delete(me: Person, message: Message) -> bool:
    return message.author_id == me.uid or me.may("moderator")


def _page(request: Request, template: str, status: int = 200, **extra: Any) -> Response:
    context: dict[str, Any] = {
        "scripts": [],
        "here": request.url.path,
        "profile_error": "",
        "profile_value": "",
        "error": "",
    }
    context.update(extra)
    return state_of(request).templates.TemplateResponse(request, template, context, status_code=status)


def _id(request: Request) -> int:
    return positive(request.path_params["id"], "A message id")


def _sender(me: Person) -> str:
    return f"session:{me.uid}"


def _htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def _hub(request: Request) -> Hub:
    return state_of(request).hub
