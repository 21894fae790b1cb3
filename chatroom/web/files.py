"""Files: `POST /rooms/{room}/files` posts a message with files; `/files/…` serves them to readers of the room."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qs, urlsplit

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from chatroom.addresses import client_address
from chatroom.errors import ChatError, Forbidden, NotFound, Refused, TooLarge
from chatroom.files.names import content_disposition
from chatroom.identity import from_session
from chatroom.refusals import log_refusal
from chatroom.rooms.render import new_nonce
from chatroom.validation import room_name
from chatroom.web.access import signed_in
from chatroom.web.origins import origin_allowed
from chatroom.web.state import state_of

log = logging.getLogger(__name__)

FORM_BYTES = 64 * 1024  # what a form holds besides the files: the text and multipart's own headers
MAX_PARTS = 100  # file parts read before the count is checked (the browser sends one when none is chosen)
# A file is the only thing in its document: no script, no plugin, no form, no frame, nothing fetched.
FILE_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


async def upload(request: Request) -> Response:
    state = state_of(request)
    room = _room(request)
    address = client_address(request.scope)
    htmx = request.headers.get("hx-request") == "true"
    try:
        if not origin_allowed(request.scope, state.settings.allowed_origins):
            raise Forbidden("This form was sent from another site.")
        me = signed_in(request) or from_session(request.session)
        if me is None:
            raise Forbidden("Open the room first: it gives you a name to post under.")
        text, nonce, files = await _read_form(request, state.settings.max_upload_bytes)
        await state.hub.post_files(room, me, text, files, f"session:{me.uid}", address, nonce)
    except ChatError as error:
        log_refusal(log, address, error.code, "refused upload room=%s address=%s reason=%s", room, address, error.code)
        if htmx:
            return HTMLResponse(state.hub.fragments.errors(error.detail), error.status)
        raise
    if htmx:
        return HTMLResponse(_send_form(request, room) + state.hub.fragments.errors(oob=True))
    return RedirectResponse(f"/rooms/{room}", status_code=303)


async def serve(request: Request) -> Response:
    return await _serve(request, thumbnail=False)


async def thumbnail(request: Request) -> Response:
    return await _serve(request, thumbnail=True)


async def _serve(request: Request, thumbnail: bool) -> Response:
    me = signed_in(request) or from_session(request.session)
    file, data = await state_of(request).hub.file(me, request.path_params["id"], thumbnail)
    inline = file.is_image  # an image we drew again; anything else is only ever a download
    headers = {
        "content-disposition": content_disposition("inline" if inline else "attachment", file.name),
        "content-security-policy": FILE_CSP,
        "cache-control": "private, max-age=3600",
        "cross-origin-resource-policy": "same-origin",
    }
    return Response(data, media_type=file.type, headers=headers)  # a thumbnail is of its image's type


async def _read_form(request: Request, max_bytes: int) -> tuple[object, object, list[tuple[str, bytes]]]:
    """The form's text, its one-time token and its chosen files, read no further than `max_bytes` of files: a
    larger body is refused (413) as it arrives, before it is parsed, whatever its Content-Length says."""
    limit = max_bytes + FORM_BYTES
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise TooLarge(max_bytes)
    received = 0

    async def bounded() -> Any:
        nonlocal received
        message = await request.receive()
        received += len(message.get("body", b""))
        if received > limit:
            raise TooLarge(max_bytes)
        return message

    try:
        form = await Request(request.scope, bounded).form(max_files=MAX_PARTS, max_fields=10, max_part_size=FORM_BYTES)
    except HTTPException as exc:  # a malformed body, or past MAX_PARTS
        raise Refused("invalid_upload", f"The upload could not be read: {exc.detail}") from None
    try:
        files = []
        for part in form.getlist("file"):
            if isinstance(part, UploadFile) and (
                part.filename or part.size
            ):  # an input left empty sends a nameless part
                files.append((part.filename or "", await part.read()))
        return form.get("message", ""), form.get("nonce"), files
    finally:
        await form.close()


def _send_form(request: Request, room: str) -> str:
    """A fresh send form for the page the upload came from (its WebSocket or its Server-Sent Events form)."""
    page = urlsplit(request.headers.get("hx-current-url", ""))
    transport = "sse" if parse_qs(page.query).get("transport") == ["sse"] else "ws"
    template = state_of(request).templates.env.get_template("_send_form.html")
    return template.render(room=room, transport=transport, value="", oob=False, nonce=new_nonce())


def _room(request: Request) -> str:
    try:
        return room_name(request.path_params["room"])
    except Refused as refused:
        raise NotFound(refused.detail) from None
