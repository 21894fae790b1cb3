"""Time zones: which a person may choose (the IANA names `zoneinfo` knows), and times read in one.

A time is stored and sent in UTC (the JSON protocol, `<time datetime>`); only what a page shows (the clock, the
day a message starts) is read in the viewer's zone. `tzdata` is locked, so the zones are there even on a system
without its own database.
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from functools import lru_cache

from chatroom.errors import Refused

UTC = "UTC"  # the default: everyone's zone until they choose one, named on the page
ZONE_KEY = "tz"  # the session cookie's field for the viewer's zone (an account's is kept in the store too)
MAX_ZONE_NAME = 64  # the longest IANA name is 32 characters


@lru_cache(maxsize=1)
def names() -> tuple[str, ...]:
    """Every zone a person may choose, sorted (about 600: read once)."""
    return tuple(sorted(zoneinfo.available_timezones() | {UTC}))


@lru_cache(maxsize=1)
def _known() -> frozenset[str]:
    return frozenset(names())


def time_zone(raw: object) -> str:
    """A zone a person chose: one of `names()`, exactly; Refused otherwise."""
    if not isinstance(raw, str) or len(raw) > MAX_ZONE_NAME or raw not in _known():
        raise Refused("invalid_time_zone", "Choose a time zone from the list, such as Europe/Paris or UTC.")
    return raw


def zone_or_utc(raw: object) -> str:
    """A zone kept somewhere (a cookie, the store): itself if it is still a known one, else UTC."""
    return raw if isinstance(raw, str) and raw in _known() else UTC


@lru_cache(maxsize=64)
def _zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


def local(at: datetime, zone: str) -> datetime:
    """`at` (aware, UTC) as a clock in `zone` shows it."""
    return at if zone == UTC else at.astimezone(_zone(zone))
