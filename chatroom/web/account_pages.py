"""Signing up, in and out; invites, the first administrator's setup link, password resets, one's account.

Each form is a plain POST (it works with JavaScript off); a refusal shows the form again with the reason
and what was typed, never the password. A successful sign-in or sign-up replaces the cookie's contents
with the new session's token, so a session fixed in advance by someone else is of no use.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from chatroom.accounts.records import INVITE, RESET, SETUP
from chatroom.addresses import client_address
from chatroom.errors import NotFound, Refused, SignInFirst
from chatroom.identity import Person
from chatroom.names import chosen_name
from chatroom.web.access import signed_in
from chatroom.web.forms import read_form, text
from chatroom.web.state import state_of


async def signin_page(request: Request) -> Response:
    return _page(request, "signin.html", next=_local(request.query_params.get("next", "/")))


async def signin(request: Request) -> Response:
    form = await read_form(request)
    back = _local(text(form, "next"))
    try:
        _, token = await state_of(request).accounts.sign_in(
            text(form, "name"), text(form, "password"), client_address(request.scope)
        )
    except Refused as refused:
        return _page(request, "signin.html", refused.status, error=refused, name=text(form, "name"), next=back)
    _start(request, token)
    return RedirectResponse(back, status_code=303)


async def signup_page(request: Request) -> Response:
    return _page(request, "signup.html", invite=request.query_params.get("invite", ""))


async def join(request: Request) -> Response:
    """An invite link: the sign-up form with the invite in it."""
    token = await _usable(
        request, INVITE, "This invite has expired, was revoked or was used already; ask for a new one."
    )
    return _page(request, "signup.html", invite=token)


async def signup(request: Request) -> Response:
    form = await read_form(request)
    return await _sign_up(request, text(form, "name"), text(form, "password"), invite=text(form, "invite"))


async def setup_page(request: Request) -> Response:
    token = await _usable(request, SETUP, "This setup link has expired or was used already: an administrator exists.")
    return _page(request, "signup.html", setup=token)


async def setup(request: Request) -> Response:
    form = await read_form(request)
    return await _sign_up(request, text(form, "name"), text(form, "password"), setup=request.path_params["token"])


async def signout(request: Request) -> Response:
    form = await read_form(request)
    await state_of(request).accounts.sign_out(request.session, everywhere=text(form, "everywhere") == "1")
    request.session.clear()
    return RedirectResponse("/", status_code=303)


async def reset_page(request: Request) -> Response:
    token = await _usable(
        request, RESET, "This link has expired or was used already; ask an administrator for a new one."
    )
    return _page(request, "reset.html", token=token)


async def reset(request: Request) -> Response:
    form = await read_form(request)
    token = request.path_params["token"]
    try:
        _, session = await state_of(request).accounts.reset_password(token, text(form, "password"))
    except Refused as refused:
        if isinstance(refused, NotFound):
            raise
        return _page(request, "reset.html", refused.status, error=refused, token=token)
    _start(request, session)
    return RedirectResponse("/", status_code=303)


async def account_page(request: Request) -> Response:
    return _page(request, "account.html", me=_me(request))


async def account(request: Request) -> Response:
    """The account page's forms: a new name, or a new password (which ends every other session)."""
    me = _me(request)
    form = await read_form(request)
    accounts = state_of(request).accounts
    try:
        if "name" in form:
            name = chosen_name(text(form, "name"), current=me.name)
            if name != me.name:
                me = await accounts.rename(me, name)
                await state_of(request).hub.rename(me)
            return _page(request, "account.html", me=me, saved="Your name is saved.")
        token = await accounts.change_password(me, request.session, text(form, "current"), text(form, "password"))
    except Refused as refused:
        return _page(request, "account.html", refused.status, me=me, error=refused, name=text(form, "name"))
    _start(request, token)
    return _page(request, "account.html", me=me, saved="Your password is changed; your other sessions ended.")


async def _usable(request: Request, kind: str, gone: str) -> str:
    """The link's token, if it can still be used; else a 404 page that says `gone`."""
    token: str = request.path_params["token"]
    if await state_of(request).accounts.token(kind, token, client_address(request.scope)) is None:
        raise NotFound(gone)
    return token


def _me(request: Request) -> Person:
    me = signed_in(request)
    if me is None or not me.signed_in:
        raise SignInFirst(request.url.path)
    return me


async def _sign_up(request: Request, name: str, password: str, *, invite: str = "", setup: str = "") -> Response:
    try:
        _, token = await state_of(request).accounts.sign_up(
            name, password, client_address(request.scope), invite=invite, setup=setup
        )
    except Refused as refused:
        return _page(request, "signup.html", refused.status, error=refused, name=name, invite=invite, setup=setup)
    _start(request, token)
    return RedirectResponse("/", status_code=303)


def _start(request: Request, token: str) -> None:
    """The cookie now holds the new session's token, and nothing from before (a guest's name, a fixed session)."""
    request.session.clear()
    request.session["sid"] = token


def _page(request: Request, template: str, status: int = 200, **extra: Any) -> Response:
    error = extra.pop("error", None)
    state = state_of(request)
    context: dict[str, Any] = {
        "me": signed_in(request),
        "scripts": [],
        "here": request.url.path,
        "profile_error": "",
        "members_only": state.accounts.members_only,
        "error": error.detail if error is not None else "",
        "name": "",
        "invite": "",
        "setup": "",
        "next": "/",
        "saved": "",
    }
    context.update(extra)
    return state.templates.TemplateResponse(request, template, context, status_code=status)


def _local(path: str) -> str:
    """`path` if it is a path on this site (not another site's address in disguise), else "/"."""
    parts = urlsplit(path)
    if parts.scheme or parts.netloc or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


async def sign_in_first(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInFirst)
    return RedirectResponse(f"/signin?next={quote(exc.back, safe='/')}", status_code=303)
