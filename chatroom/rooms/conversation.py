"""How messages read as a conversation: groups, day breaks and @mentions, decided once for every viewer."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta

from markupsafe import Markup, escape

from chatroom.store import Message
from chatroom.time_zones import UTC, local

GROUP_WINDOW = timedelta(minutes=5)
# `@name`: letters, digits, `_`, `.` and `-`, not ending in punctuation ("@bob." mentions bob).
MENTION = re.compile(r"(?<![\w@])@(\w(?:[\w.-]{0,30}\w)?)")
CSS_SAFE = re.compile(r"[A-Za-z0-9_-]")
# Markup multiplies a mention's size by about 20 (666 "@a" rendered 16 times larger); past the first
# few, a mention stays plain text, so a message's rendering grows with its length by a small factor.
MENTIONS_MARKED = 10


def continues(previous: Message | None, message: Message, zone: str = UTC) -> bool:
    """The message joins the previous one's group: same person, same name, same day (in `zone`), within 5 minutes."""
    return (
        previous is not None
        and previous.author_id == message.author_id
        and previous.author == message.author
        and not starts_day(previous, message, zone)
        and timedelta(0) <= message.sent_at - previous.sent_at <= GROUP_WINDOW
    )


def starts_day(previous: Message | None, message: Message, zone: str = UTC) -> bool:
    """The message is the first of its day in `zone`: the same for every viewer in that zone, so rendered once
    for each zone in use."""
    return previous is None or local(previous.sent_at, zone).date() != local(message.sent_at, zone).date()


def with_mentions(text: str, limit: int = MENTIONS_MARKED) -> Markup:
    """The text, escaped, with its first `limit` `@name`s marked; the viewer's own name is highlighted by their CSS."""
    if "@" not in text:  # most texts: nothing to look for
        return escape(text)
    parts: list[str] = []
    last = 0
    for match in itertools.islice(MENTION.finditer(text), max(limit, 0)):
        parts.append(escape(text[last : match.start()]))
        name = match.group(1)
        parts.append(Markup('<mark class="mention" data-mention="{}">@{}</mark>').format(name, name))
        last = match.end()
    parts.append(escape(text[last:]))
    return Markup("").join(parts)


def css_string(value: str) -> Markup:
    """`value` for a double-quoted CSS string inside a <style>: every other character as a CSS escape.

    HTML escaping does not work in <style> (its text is raw), so nothing but [A-Za-z0-9_-] is left as is:
    no quote, backslash, `<` or newline can end the string, the rule or the element.
    """
    return Markup("".join(c if CSS_SAFE.fullmatch(c) else f"\\{ord(c):x} " for c in value))  # noqa: S704
