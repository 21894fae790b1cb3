"""People over HTTP: a session cookie each, the pages they see and the messages they post with plain forms."""

from __future__ import annotations

import json
import secrets
from base64 import b64encode
from typing import NamedTuple

from itsdangerous import TimestampSigner
from starlette.testclient import TestClient, WebSocketTestSession

from chatroom.identity import SESSION_COOKIE

Session = dict[str, str]  # the headers that make a request or a socket come from one person


class Lobby(NamedTuple):
    """Alice's and Bob's htmx sockets in #lobby, each past the other's arrival."""

    alice: WebSocketTestSession
    bob: WebSocketTestSession


def session(client: TestClient, name: str) -> Session:
    """Headers that make a request or socket come from a person called `name` (their own session)."""
    client.cookies.clear()
    client.post("/profile", data={"name": name})
    cookie = client.cookies["chatroom"]
    client.cookies.clear()
    return {"cookie": f"chatroom={cookie}"}


def signed_session(secret_key: str, name: str) -> Session:
    """A session for `name` signed as Starlette's SessionMiddleware signs it: for a crowd, where a POST each is slow."""
    data = b64encode(json.dumps({"uid": secrets.token_hex(6), "name": name}).encode())
    return {"cookie": f"{SESSION_COOKIE}={TimestampSigner(secret_key).sign(data).decode()}"}


def page(client: TestClient, url: str, who: Session) -> str:
    response = client.get(url, headers=who)
    client.cookies.clear()
    assert response.status_code == 200, response.text
    return response.text


def say(client: TestClient, text: str, room: str = "lobby", who: Session | None = None) -> None:
    """Post a message with the plain form (no htmx), as `who` or as the client's own session."""
    sent = client.post(f"/rooms/{room}/messages", data={"message": text}, headers=who, follow_redirects=False)
    if who is not None:
        client.cookies.clear()
    assert sent.status_code == 303, sent.text


PASSWORD = "correct horse battery"


def sign_up(client: TestClient, name: str, password: str = PASSWORD, **fields: str) -> Session:
    """Make an account (signed in): the headers of its session."""
    client.cookies.clear()
    made = client.post("/signup", data={"name": name, "password": password, **fields}, follow_redirects=False)
    assert made.status_code == 303, made.text
    return _taken(client)


def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> Session:
    """A new session of an account: the headers that carry it."""
    client.cookies.clear()
    signed = client.post("/signin", data={"name": name, "password": password}, follow_redirects=False)
    assert signed.status_code == 303, signed.text
    return _taken(client)


def _taken(client: TestClient) -> Session:
    cookie = client.cookies["chatroom"]
    client.cookies.clear()
    return {"cookie": f"chatroom={cookie}"}
