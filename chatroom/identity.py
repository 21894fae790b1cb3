"""Who is talking: a guest (a display name and a random public id, kept in the signed session cookie), or an
account's person or bot (the cookie holds a session token instead; `chatroom.accounts` looks it up)."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from base64 import b64decode
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from itsdangerous import BadSignature, TimestampSigner

from chatroom.errors import Forbidden, Refused
from chatroom.names import display_name, guest_name

SESSION_COOKIE = "chatroom"
SESSION_MAX_AGE = 365 * 24 * 3600
# A guest's uid; an account's is "a" or "b" (a bot) and 16 hex digits, so a stored author_id or lease
# says which it was.
GUEST_UID = re.compile(r"[0-9a-f]{12}")


GUEST, ACCOUNT, BOT = "guest", "account", "bot"


@dataclass(frozen=True, slots=True)
class Person:
    uid: str  # random and public: it keys per-viewer CSS, never authorises anything
    name: str
    kind: str = GUEST  # GUEST (no account: the cookie is all there is), ACCOUNT or BOT
    role: str = ""  # an account's: admin, moderator or member

    @property
    def signed_in(self) -> bool:
        return self.kind != GUEST

    def may(self, role: str) -> bool:
        """Whether the person's role is `role` or above (admin > moderator > member)."""
        ranks = ("member", "moderator", "admin")
        return self.signed_in and role in ranks and self.role in ranks and ranks.index(self.role) >= ranks.index(role)


def guest(name: str = "") -> Person:
    return Person(secrets.token_hex(6), name or guest_name())


def is_guest(uid: str) -> bool:
    """Whether the person behind `uid` (a message's author_id, a member's uid) is a guest: no account."""
    return GUEST_UID.fullmatch(uid) is not None


def is_bot(uid: str) -> bool:
    return len(uid) == 17 and uid.startswith("b")


HUES = 12  # avatar colours (`.hue-0` to `.hue-11` in the stylesheet)


@lru_cache(maxsize=4096)  # the authors of the messages rendered now: a few, again and again
def initials(name: str) -> str:
    """An avatar's letters: the first letter of the first two words, or the first two of a single word."""
    words = [w for w in name.replace("-", " ").replace("_", " ").split() if w[0].isalnum()]
    letters = [w[0] for w in words[:2]] if len(words) > 1 else list(words[0][:2] if words else name[:1])
    return "".join(letters).upper()


@lru_cache(maxsize=4096)
def hue(uid: str) -> int:
    """An avatar's colour, the same for a person everywhere (a stable hash: not Python's, which varies by process)."""
    return int(hashlib.blake2s(uid.encode(), digest_size=2).hexdigest(), 16) % HUES


def from_session(session: dict[str, Any]) -> Person | None:
    """The guest a session cookie describes (an account's session is looked up: `chatroom.accounts`)."""
    uid, name = session.get("uid"), session.get("name")
    if not (isinstance(uid, str) and isinstance(name, str)):
        return None
    try:
        return Person(uid, display_name(name))
    except Refused:  # a name kept from before the rules: the person stays, the name does not
        return Person(uid, guest_name())


def remember(session: dict[str, Any], person: Person) -> None:
    session["uid"] = person.uid
    session["name"] = person.name


TOKEN_PARAMETERS = ("token", "access_token", "bearer", "key", "api_key")


def bearer_token(headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
    """The token of an `Authorization: Bearer` header. Forbidden when a token travels in the address instead
    (it would be kept in logs and browser histories)."""
    if any(name in query for name in TOKEN_PARAMETERS):
        raise Forbidden("Tokens travel in the Authorization header, never in the address.")
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


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
