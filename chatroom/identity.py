"""Who is talking: a display name and a stable public id, kept in the signed session cookie."""

from __future__ import annotations

import json
import secrets
from base64 import b64decode
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, TimestampSigner

SESSION_COOKIE = "chatroom"
SESSION_MAX_AGE = 365 * 24 * 3600


@dataclass(frozen=True, slots=True)
class Person:
    uid: str  # random and public: it keys per-viewer CSS, never authorises anything
    name: str


def guest() -> Person:
    return Person(secrets.token_hex(6), f"guest-{secrets.randbelow(9000) + 1000}")


def from_session(session: dict[str, Any]) -> Person | None:
    uid, name = session.get("uid"), session.get("name")
    if isinstance(uid, str) and isinstance(name, str):
        return Person(uid, name)
    return None


def ensure_person(session: dict[str, Any]) -> Person:
    """The session's person, made a guest on the first visit so they can chat at once."""
    person = from_session(session)
    if person is None:
        person = guest()
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
