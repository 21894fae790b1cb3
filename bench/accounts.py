"""Clients with a session: real accounts and sessions in the server's own store, and the cookies that carry
them; or named guests, as a first page view makes them.

The accounts are written straight into the store (`create_account`, `create_session`), not signed up over
HTTP: a password hash each (argon2id, memory-hard on purpose) would cost minutes for a crowd and
measure nothing the bench is after. The cookie is what the server's SessionMiddleware would have set:
`{"sid": token}` as JSON, base64, signed with the server's SECRET_KEY; the store keeps the token's hash.
"""

from __future__ import annotations

import json
import secrets
from base64 import b64encode

from itsdangerous import TimestampSigner

from chatroom.accounts.passwords import digest, new_secret
from chatroom.accounts.records import Account
from chatroom.identity import SESSION_COOKIE
from chatroom.names import key
from chatroom.store import now_us, open_store

SECRET_KEY = "bench-" + "k" * 32  # the product's SECRET_KEY in every run, so the bench can sign its cookies
DAY_US = 86_400 * 1_000_000


def session_cookie(secret_key: str, session: dict[str, str]) -> str:
    data = b64encode(json.dumps(session).encode())
    return f"{SESSION_COOKIE}={TimestampSigner(secret_key).sign(data).decode()}"


def guest_cookies(n: int, secret_key: str = SECRET_KEY) -> list[str]:
    """Guests as a browser's first page view makes them: a uid and a guest name in the cookie, no account."""
    return [session_cookie(secret_key, {"uid": secrets.token_hex(6), "name": f"guest-{i}"}) for i in range(n)]


async def signed_in_cookies(database_url: str, n: int, secret_key: str = SECRET_KEY) -> list[str]:
    """`n` new member accounts, each with a live session: the `Cookie` header of each."""
    store = open_store(database_url)
    await store.open()
    try:
        tag = secrets.token_hex(3)
        cookies = []
        now = now_us()
        for i in range(n):
            name = f"member{i}x{tag}"
            k = key(name)
            account = Account("a" + secrets.token_hex(8), name, "member", True, "", now)
            if not await store.create_account(account, (k.folded, k.looks, k.looks_folded)):
                raise RuntimeError(f"bench: the account name {name} is taken")
            token = new_secret()
            await store.create_session(digest(token), account.id, now, now + DAY_US)
            cookies.append(session_cookie(secret_key, {"sid": token}))
        return cookies
    finally:
        await store.close()
