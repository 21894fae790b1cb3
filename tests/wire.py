"""What travels on a TestClient WebSocket: receiving with a timeout, sending as htmx does, reading fragments.

"Nothing arrives" is never proven by waiting: send something that must arrive after it (a marker) and
check that it is the first thing to come (`first_found`, `post`, `next_chat`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import orjson
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

T = TypeVar("T")

SNAPSHOT = re.compile(r'^<ul id="messages"[^>]* hx-swap-oob="innerHTML">')
MESSAGE_ID = re.compile(r'id="msg-(\d+)"')
# Frames about the people in a room (who is here, who types, the room list), not about its messages.
PEOPLE_ONLY = re.compile(
    r'(?:<(ul|p) id="(?:members|typing|room-list)"[^>]*>.*?</\1>|<title hx-swap-oob="true">[^<]*</title>)+', re.S
)
MEMBERS = re.compile(r'<ul id="members"[^>]*>(.*?)</ul>', re.S)
MEMBER = re.compile(r'<li data-uid="[^"]*"><bdi>(.*?)</bdi>')
TYPING = re.compile(r'<p id="typing"[^>]*>(.*?)</p>', re.S)
ROOM_LIST = re.compile(r'<ul id="room-list"[^>]*>(.*?)</ul>', re.S)


def recv(ws: WebSocketTestSession, timeout: float = 5.0) -> str:
    """The next text frame; raises WebSocketDisconnect on a close and TimeoutError when nothing comes."""

    async def next_message() -> Any:
        with anyio.fail_after(timeout):
            return await ws._send_rx.receive()  # the TestClient has no receive timeout of its own

    message = ws.portal.call(next_message)
    if message["type"] == "websocket.close":
        raise WebSocketDisconnect(message.get("code", 1000), message.get("reason"))
    return str(message.get("text") or message.get("bytes", b"").decode())


def recv_chat(ws: WebSocketTestSession, timeout: float = 5.0) -> str:
    """The next frame about messages, passing over frames that only say who is here or typing."""
    while True:
        frame = recv(ws, timeout)
        if not PEOPLE_ONLY.fullmatch(frame):
            return frame


def recv_json(ws: WebSocketTestSession, timeout: float = 5.0) -> Any:
    return orjson.loads(recv(ws, timeout))


def message_ids(html: str) -> list[int]:
    return [int(n) for n in MESSAGE_ID.findall(html)]


def members(html: str) -> list[str] | None:
    """The names in the last members list in `html`, or None when it has none."""
    found = MEMBERS.findall(html)
    return MEMBER.findall(found[-1]) if found else None


def typing(html: str) -> str | None:
    """What the last typing indicator in `html` says, as text (names are isolated in <bdi>)."""
    found = TYPING.findall(html)
    return re.sub("</?bdi>", "", found[-1]) if found else None


def room_list(html: str) -> str | None:
    found = ROOM_LIST.findall(html)
    return found[-1] if found else None


def send_message(ws: WebSocketTestSession, text: str) -> None:
    """What htmx 4's ws extension sends from the message form."""
    ws.send_json({"message": text, "headers": {"HX-Request": "true", "HX-Source": "form#send-form"}})


def type_text(ws: WebSocketTestSession, text: str) -> None:
    """What htmx sends from the message input on `input` (hx-vals adds `typing`): the form's fields."""
    ws.send_json({"message": text, "typing": True, "headers": {"HX-Request": "true", "HX-Source": "input#msg-input"}})


def post(ws: WebSocketTestSession, text: str) -> str:
    """Send a message from `ws` and return its echo, checking the sender's empty input came too (in any order).

    No error may come first: it would take the place of the reply, so a post is also a marker for the sender.
    """
    send_message(ws, text)
    frames = [recv_chat(ws), recv_chat(ws)]
    replies = [frame for frame in frames if 'id="msg-input"' in frame]
    assert len(replies) == 1, frames
    return next(frame for frame in frames if frame is not replies[0])


def next_chat(ws: WebSocketTestSession, text: str, people_too: bool = True) -> str:
    """The next frame, which must be the message `text`: so nothing came before it.

    With `people_too=False`, frames about the people (who is here, who types, the room list) may pass first.
    """
    frame = recv(ws) if people_too else recv_chat(ws)
    assert frame.startswith('<div hx-swap-oob="beforeend:#messages">') and f">{text}</p>" in frame, frame
    return frame


def marker(
    sender: WebSocketTestSession, *others: WebSocketTestSession, text: str = "marker", people_too: bool = True
) -> None:
    """Post `text` from `sender`; it is the first frame everyone gets (the sender: it and the empty input).

    Frames go out in order, so this proves nothing else was on its way to any of them. With
    `people_too=False`, frames about the people (who is here, typing, the room list) may come first.
    """
    read = recv if people_too else recv_chat
    send_message(sender, text)
    first, second = sorted([read(sender), read(sender)], key=lambda frame: 'id="msg-input"' in frame)
    assert f">{text}</p>" in first and 'id="msg-input"' in second, (first, second)
    for ws in others:
        next_chat(ws, text, people_too)


def first_found(ws: WebSocketTestSession, find: Callable[[str], T | None], timeout: float = 5.0) -> T:
    """What `find` gives for the first frame it finds anything in: proves no other such frame came before."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            frame = recv(ws, max(deadline - time.monotonic(), 0.001))
        except TimeoutError:
            raise AssertionError("no frame with what was looked for arrived") from None
        value = find(frame)
        if value is not None:
            return value


def wait_for(ws: WebSocketTestSession, find: Callable[[str], object], expected: object, timeout: float = 5.0) -> str:
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
        value = find(frame)
        if value is not None:
            seen.append(value)
        if value == expected:
            return frame
