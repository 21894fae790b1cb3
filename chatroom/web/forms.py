"""Reading a form: only from the site's own pages (the Origin check is the CSRF defence), and small."""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request

from chatroom.errors import Forbidden
from chatroom.web.origins import origin_allowed
from chatroom.web.state import state_of


async def read_form(request: Request) -> FormData:
    if not origin_allowed(request.scope, state_of(request).settings.allowed_origins):
        raise Forbidden("This form was sent from another site.")
    return await request.form(max_files=0, max_fields=10, max_part_size=64 * 1024)


def text(form: FormData, name: str) -> str:
    """A text field's value; a file sent in its place, or nothing, is ""."""
    value = form.get(name, "")
    return value if isinstance(value, str) else ""
