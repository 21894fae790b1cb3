"""The zone a page or fragment reads times in: the viewer's.

A guest's zone is kept in their session cookie; an account's in the store too (so it follows them to their other
devices when they sign in there), and in the cookie of each session once read, so pages and sockets never ask
the store for it again.
"""

from __future__ import annotations

from starlette.requests import Request

from chatroom.identity import Person
from chatroom.time_zones import ZONE_KEY, zone_or_utc
from chatroom.web.state import state_of


async def viewer_zone(request: Request, me: Person | None) -> str:
    """The zone `me` reads times in: the session's, else (an account's first page in a session) the store's."""
    kept = request.session.get(ZONE_KEY)
    if kept is None and me is not None and me.signed_in:
        kept = request.session[ZONE_KEY] = await state_of(request).hub.time_zone(me)
    return zone_or_utc(kept)
