"""Helpers for tests with several people: a session cookie each, and waiting for a fragment by id."""

from __future__ import annotations

import re
import time

from starlette.testclient import TestClient, WebSocketTestSession

from tests.wire import recv

MEMBERS = re.compile(r'<ul id="members"[^>]*>(.*?)</ul>', re.S)
MEMBER = re.compile(r'<li data-uid="[^"]*"><bdi>(.*?)</bdi>')
TYPING = re.compile(r'<p id="typing"[^>]*>(.*?)</p>', re.S)
ROOM_LIST = re.compile(r'<ul id="room-list"[^>]*>(.*?)</ul>', re.S)


def session(client: TestClient, name: str) -> dict[str, str]:
    """Headers that make a request or socket come from a person called `name` (their own session)."""
    client.cookies.clear()
    client.post("/profile", data={"name": name})
    cookie = client.cookies["chatroom"]
    client.cookies.clear()
    return {"cookie": f"chatroom={cookie}"}


def page(client: TestClient, url: str, who: dict[str, str]) -> str:
    response = client.get(url, headers=who)
    client.cookies.clear()
    assert response.status_code == 200, response.text
    return response.text


def members(html: str) -> list[str] | None:
    """The names in the last members list in `html`, or None when it has none."""
    found = MEMBERS.findall(html)
    return MEMBER.findall(found[-1]) if found else None


def typing(html: str) -> str | None:
    found = TYPING.findall(html)
    return re.sub("</?bdi>", "", found[-1]) if found else None


def room_list(html: str) -> str | None:
    found = ROOM_LIST.findall(html)
    return found[-1] if found else None


def wait_for(ws: WebSocketTestSession, find: object, expected: object, timeout: float = 5.0) -> str:
    """Read frames until `find(frame)` gives `expected`; the frame. Fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    seen: list[object] = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"never got {expected!r}; saw {seen!r}")
        try:
            frame = recv(ws, left)
        except TimeoutError:
            raise AssertionError(f"never got {expected!r}; saw {seen!r}") from None
        value = find(frame)  # type: ignore[operator]
        if value is not None:
            seen.append(value)
        if value == expected:
            return frame


def none_of(ws: WebSocketTestSession, find: object, wait: float = 0.5) -> None:
    """No frame with what `find` looks for arrives within `wait` seconds."""
    deadline = time.monotonic() + wait
    while (left := deadline - time.monotonic()) > 0:
        try:
            frame = recv(ws, left)
        except TimeoutError:
            return
        assert find(frame) is None, frame  # type: ignore[operator]
