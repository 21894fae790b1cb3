"""Who the visitor is, found once per HTTP request; and, with `ACCESS=members`, the gate in front of every page.

`Visitors` runs after the session cookie is read: it looks up the account behind the cookie's session token
(`chatroom.accounts.service.Accounts.person`, cached per process) and keeps the answer for the request
(`signed_in`). A cookie whose session ended (signed out elsewhere, a new password, deactivated) loses its
token: the visitor is signed out. With `ACCESS=members`, a visitor who is not signed in gets 303 to
`/signin` from a page and 403 from anything else, except on the paths that let them sign in. The
WebSockets do not pass here: `chatroom.transports.socket.RoomSocket` asks the same questions.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse

from chatroom.errors import ChatError, Forbidden, SignInFirst
from chatroom.identity import Person
from chatroom.web.error_pages import chat_error
from chatroom.web.state import state_of

# What a visitor who is not signed in may reach when the chat is for members only.
OPEN_DOORS = ("/signin", "/signup", "/join/", "/setup/", "/reset/", "/healthz", "/metrics", "/static/", "/api/")


class Visitors:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        accounts = state_of(request).accounts
        session = scope.get("session", {})
        try:
            person = await accounts.person(session)
        except ChatError as error:  # the store is down: say so, rather than treat them as signed out
            await (await chat_error(request, error))(scope, receive, send)
            return
        if person is None and "sid" in session:
            session.pop("sid")  # ended elsewhere: the cookie is rewritten without it
        scope.setdefault("state", {})["person"] = person
        path: str = scope["path"]
        if person is None and accounts.members_only and not path.startswith(OPEN_DOORS):
            if (
                scope["method"] in ("GET", "HEAD")
                and not path.endswith("/events")
                and "hx-request" not in _names(scope)
            ):
                target = path + (f"?{scope['query_string'].decode('latin-1')}" if scope["query_string"] else "")
                response: Any = RedirectResponse(f"/signin?next={quote(target, safe='/')}", status_code=303)
            else:
                response = await chat_error(request, Forbidden("Sign in to take part: this chat is for members."))
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def signed_in(request: Request) -> Person | None:
    """The account's person (or bot) signed in on this request, as `Visitors` found it."""
    person = request.scope.get("state", {}).get("person")
    return person if isinstance(person, Person) else None


def with_role(request: Request, role: str, home: str) -> Person:
    """The signed-in person, if their role is `role` or above: else Forbidden, or sent to sign in first (and back
    to this page, or for a form to `home`)."""
    me = signed_in(request)
    if me is None:
        raise SignInFirst(request.url.path if request.method == "GET" else home)
    if not me.may(role):
        raise Forbidden(f"This is for {'administrators' if role == 'admin' else 'moderators and administrators'}.")
    return me


def _names(scope: Any) -> set[str]:
    return {name.decode("latin-1").lower() for name, _ in scope["headers"]}
