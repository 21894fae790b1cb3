"""Who is talking: a display name and a stable public id, kept in the signed session cookie."""

from __future__ import annotations

import json
import re
import secrets
from base64 import b64decode
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, TimestampSigner

from chatroom.errors import Refused
from chatroom.names import display_name, guest_name

SESSION_COOKIE = "chatroom"
SESSION_MAX_AGE = 365 * 24 * 3600
# A session's uid: every person is a guest (has no account) until accounts come; an account's
# people will carry uids of another form, so a stored author_id or lease says which it was.
GUEST_UID = re.compile(r"[0-9a-f]{12}")


@dataclass(frozen=True, slots=True)
class Person:
    uid: str  # random and public: it keys per-viewer CSS, never authorises anything
    name: str


def guest(name: str = "") -> Person:
    return Person(secrets.token_hex(6), name or guest_name())


def is_guest(uid: str) -> bool:
    """Whether the person behind `uid` (a message's author_id, a member's uid) is a guest: no account."""
    return GUEST_UID.fullmatch(uid) is not None


def from_session(session: dict[str, Any]) -> Person | None:
    uid, name = session.get("uid"), session.get("name")
    if not (isinstance(uid, str) and isinstance(name, str)):
        return None
    try:
        return Person(uid, display_name(name))
    except Refused:  # a name kept from before the rules: the person stays, the name does not
        return Person(uid, guest_name())


def ensure_person(session: dict[str, Any]) -> Person:
    """The session's person, made a guest on the first visit so they can chat at once."""
    person = from_session(session)
    if person is None:
        person = guest()
    if person.name != session.get("name"):
        remember(session, person)
    return person


def remember(session: dict[str, Any], person: Person) -> None:
    session["uid"] = person.uid
    session["name"] = person.name


def session_of(cookies: dict[str, str], secret_key: str) -> dict[str, Any] | None:
    """The session in a request's cookies, as Starlette's SessionMiddleware signs it; None if absent or forged."""
    cookie = cookies.get(SESSION_COOKIE)
    if cookie is None:
        return None
    try:
        session = json.loads(b64decode(TimestampSigner(secret_key).unsign(cookie, max_age=SESSION_MAX_AGE)))
    except (BadSignature, ValueError):
        return None
    return session if isinstance(session, dict) else None
