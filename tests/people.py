"""People over HTTP: a session cookie each, the pages they see and the messages they post with plain forms."""

from __future__ import annotations

from typing import NamedTuple

from starlette.testclient import TestClient, WebSocketTestSession

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
