"""Receiving from TestClient WebSockets with a timeout, so a missing frame fails fast instead of hanging."""

from __future__ import annotations

import re
from typing import Any

import anyio
import orjson
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

MESSAGE_ID = re.compile(r'id="msg-(\d+)"')
# Frames about the people in a room (who is here, who types, the room list), not about its messages.
PEOPLE_ONLY = re.compile(r'(?:<(ul|p) id="(?:members|typing|room-list)"[^>]*>.*?</\1>)+', re.S)


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


def assert_silent(ws: WebSocketTestSession, wait: float = 0.3) -> None:
    """Nothing arrives on `ws` for `wait` seconds."""
    try:
        frame = recv(ws, wait)
    except TimeoutError:
        return
    raise AssertionError(f"expected no frame, got {frame!r}")


def message_ids(html: str) -> list[int]:
    return [int(n) for n in MESSAGE_ID.findall(html)]


def send_message(ws: WebSocketTestSession, text: str) -> None:
    """What htmx 4's ws extension sends from the message form."""
    ws.send_json({"message": text, "headers": {"HX-Request": "true", "HX-Source": "form#send-form"}})


def post(ws: WebSocketTestSession, text: str) -> str:
    """Send a message from `ws` and return its echo, checking the sender's empty input came too (in any order)."""
    send_message(ws, text)
    frames = [recv_chat(ws), recv_chat(ws)]
    replies = [frame for frame in frames if 'id="msg-input"' in frame]
    assert len(replies) == 1, frames
    return next(frame for frame in frames if frame is not replies[0])
