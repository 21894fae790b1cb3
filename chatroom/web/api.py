"""The HTTP API for bots and integrations: `POST /api/rooms/{room}/messages` with `Authorization: Bearer …`.

Answers are JSON: 201 with the message's `chat` frame (as the JSON WebSocket sends it), or the error frame
`{"type": "error", "error": code, "detail": sentence}` with the error's status.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from chatroom.addresses import client_address
from chatroom.errors import ChatError, Forbidden, NotFound, Refused
from chatroom.identity import Person, bearer_token
from chatroom.refusals import log_refusal
from chatroom.validation import room_name
from chatroom.web.state import state_of

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024


async def post_message(request: Request) -> Response:
    address = client_address(request.scope)
    try:
        person = await _bot(request)
        room = _room(request)
        data = await _json(request)
        state = state_of(request)
        if not await state.hub.access.can_read(person, room):  # a private room the bot is not a member of
            raise Forbidden("This bot may not post in that room.")
        sender = f"session:{person.uid}"
        text, nonce, reply_to = data.get("message", ""), data.get("nonce"), data.get("reply_to")
        message = await state.hub.post(room, person, text, sender, address, nonce, reply_to)
        if message is None:
            raise Refused("empty_message", "The message is empty.")
        frame = state.hub.chat_frame(message)
    except ChatError as error:
        log_refusal(log, address, error.code, "refused transport=api address=%s reason=%s", address, error.code)
        headers = {"retry-after": str(error.retry_after)} if error.retry_after is not None else None
        return Response(error.json_frame(), error.status, headers, media_type="application/json")
    return Response(frame, 201, media_type="application/json")


async def _bot(request: Request) -> Person:
    token = bearer_token(request.headers, request.query_params)
    person = await state_of(request).accounts.person(None, bearer=token) if token else None
    if person is None:
        raise Forbidden("Send a bot's token: Authorization: Bearer <token>.")
    return person


def _room(request: Request) -> str:
    try:
        return room_name(request.path_params["room"])
    except Refused as refused:
        raise NotFound(refused.detail) from None


async def _json(request: Request) -> dict[str, Any]:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise Refused("too_big", f"A request body can be at most {MAX_BODY_BYTES} bytes.")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        raise Refused("invalid_json", 'The body must be a JSON object such as {"message": "hello"}.')
    return data
