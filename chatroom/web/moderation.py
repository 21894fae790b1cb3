"""Moderation: `/moderation` lists the people to ban or let back and the log of what moderators did; a ban is
`POST /admin/people/{name}/ban` (optionally removing every message of theirs). Moderators and administrators."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from chatroom.identity import Person
from chatroom.web.access import with_role
from chatroom.web.forms import read_form, text
from chatroom.web.state import state_of

REMOVED_PER_BAN = 5000  # messages one ban removes; ban again to remove more


async def moderation_page(request: Request) -> Response:
    me = moderator(request)
    state = state_of(request)
    context: dict[str, Any] = {
        "me": me,
        "scripts": [],
        "here": "/moderation",
        "profile_error": "",
        "people": [p for p in await state.accounts.people() if p.id != me.uid],
        "log": await state.hub.moderation_log(),
    }
    return state.templates.TemplateResponse(request, "moderation.html", context)


async def ban(request: Request) -> Response:
    me = moderator(request)
    form = await read_form(request)
    state = state_of(request)
    account = await state.accounts.ban(me, request.path_params["name"])
    removed = 0
    if text(form, "remove_messages") == "on":
        removed = await state.hub.remove_messages_of(me, account.id, REMOVED_PER_BAN)
    detail = f"{removed} messages removed" if removed else "messages kept"
    await state.hub.moderated(me, "ban", account.name, detail)
    return RedirectResponse("/moderation", status_code=303)


async def unban(request: Request) -> Response:
    me = moderator(request)
    await read_form(request)
    state = state_of(request)
    account = await state.accounts.ban(me, request.path_params["name"], banned=False)
    await state.hub.moderated(me, "unban", account.name, "")
    return RedirectResponse("/moderation", status_code=303)


def moderator(request: Request) -> Person:
    return with_role(request, "moderator", "/moderation")
