"""`/admin`: the people (roles, password reset links, deactivation), invites and bots. Administrators only.

Every action is a small form posting to its own path, answered with the page again (a new link or token
is shown on that answer, once: the store keeps only its hash).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from chatroom.errors import Refused
from chatroom.identity import Person
from chatroom.validation import room_name, whole_number
from chatroom.web.access import with_role
from chatroom.web.forms import read_form, text
from chatroom.web.state import state_of

MAX_RETENTION_DAYS = 36_500


async def admin_page(request: Request) -> Response:
    return await _page(request, _admin(request))


async def create_invite(request: Request) -> Response:
    me = _admin(request)
    form = await read_form(request)
    return await _act(
        request,
        me,
        lambda: _link(
            request,
            "join",
            state_of(request).accounts.invite(me, text(form, "role"), text(form, "uses"), text(form, "days")),
        ),
        "Invite link (copy it now: it is shown once)",
    )


async def revoke_invite(request: Request) -> Response:
    me = _admin(request)
    await read_form(request)
    return await _act(request, me, lambda: _done(state_of(request).accounts.revoke_invite(me, _id(request))))


async def set_role(request: Request) -> Response:
    me = _admin(request)
    form = await read_form(request)
    accounts = state_of(request).accounts
    return await _act(request, me, lambda: _done(accounts.set_role(me, _id(request), text(form, "role"))))


async def set_active(request: Request) -> Response:
    me = _admin(request)
    form = await read_form(request)
    active = text(form, "active") == "1"
    return await _act(request, me, lambda: _done(state_of(request).accounts.set_active(me, _id(request), active)))


async def set_retention(request: Request) -> Response:
    """A room's own number of days its messages are kept (blank: as every room; 0: forever)."""
    me = _admin(request)
    form = await read_form(request)

    async def keep() -> str:
        room = room_name(text(form, "room"))
        raw = text(form, "days").strip()
        days = whole_number(raw) if raw else None
        if raw and (days is None or days > MAX_RETENTION_DAYS):
            raise Refused("invalid_days", f"Days are a whole number from 0 (forever) to {MAX_RETENTION_DAYS}.")
        await state_of(request).hub.set_room_retention(me, room, days)
        return ""

    return await _act(request, me, keep)


async def reset_link(request: Request) -> Response:
    me = _admin(request)
    await read_form(request)
    return await _act(
        request,
        me,
        lambda: _link(request, "reset", state_of(request).accounts.reset_link(me, _id(request))),
        "Password reset link for them (shown once; it works once, for a day)",
    )


async def create_bot(request: Request) -> Response:
    me = _admin(request)
    form = await read_form(request)

    async def create() -> str:
        _, token = await state_of(request).accounts.create_bot(me, text(form, "name"))
        return token

    return await _act(request, me, create, "The bot's token (shown once: keep it in the bot's settings)")


async def bot_token(request: Request) -> Response:
    me = _admin(request)
    await read_form(request)
    return await _act(
        request,
        me,
        lambda: state_of(request).accounts.new_bot_token(me, _id(request)),
        "The bot's new token (shown once; the old one stopped working)",
    )


def _admin(request: Request) -> Person:
    return with_role(request, "admin", "/admin")


async def _act(request: Request, me: Person, action: Any, shown: str = "") -> Response:
    """Run the action; the page again with what it made (`shown` names it) or why it was refused."""
    try:
        made = await action()
    except Refused as refused:
        return await _page(request, me, refused.status, error=refused.detail)
    if not shown:  # nothing to show once: back to the page, so reloading it does not post again
        return RedirectResponse("/admin", status_code=303)
    return await _page(request, me, made=made, made_label=shown)


async def _done(action: Any) -> str:
    await action
    return ""


async def _link(request: Request, path: str, secret: Any) -> str:
    return f"{request.base_url}{path}/{await secret}"


def _id(request: Request) -> str:
    return str(request.path_params["id"])


async def _page(request: Request, me: Person, status: int = 200, **extra: Any) -> Response:
    state = state_of(request)
    people = await state.accounts.people()
    context: dict[str, Any] = {
        "me": me,
        "scripts": [],
        "here": "/admin",
        "profile_error": "",
        "people": [p for p in people if not p.bot],
        "bots": [p for p in people if p.bot],
        "invites": await state.accounts.invites(),
        "log": await state.hub.moderation_log(),
        "retention": await state.hub.room_retention(),
        "retention_days": state.settings.retention_days,
        "members_only": state.accounts.members_only,
        "error": "",
        "made": "",
        "made_label": "",
    }
    context.update(extra)
    return state.templates.TemplateResponse(request, "admin.html", context, status_code=status)
