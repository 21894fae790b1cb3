"""The Jinja2 environment of the pages and of the fragments that travel on the wire: one for both."""

from __future__ import annotations

from datetime import UTC, datetime

import jinja2

from chatroom.identity import hue, initials, is_bot, is_guest
from chatroom.rooms.conversation import css_string, with_mentions
from chatroom.rooms.render import iso
from chatroom.web.paths import TEMPLATES


def template_environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["clock"] = lambda at: at.strftime("%H:%M")
    env.filters["stamp"] = lambda at: at.strftime("%Y-%m-%d %H:%M UTC")
    env.filters["iso"] = iso
    env.filters["day"] = lambda at: at.strftime("%A, %-d %B %Y")
    env.filters["mentions"] = with_mentions
    env.filters["css_string"] = css_string
    env.filters["initials"] = initials
    env.filters["hue"] = hue
    env.filters["from_us"] = lambda us: datetime.fromtimestamp(us / 1_000_000, UTC)
    env.tests["guest"] = is_guest
    env.tests["bot"] = is_bot
    return env
