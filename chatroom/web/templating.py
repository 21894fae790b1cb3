"""The Jinja2 environment of the pages and of the fragments that travel on the wire: one for both."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import MutableMapping
from datetime import UTC, datetime
from typing import Any

import jinja2
from markupsafe import Markup, escape

from chatroom import formatting
from chatroom.files.images import thumbnail_size
from chatroom.files.names import human_size
from chatroom.identity import hue, initials, is_bot, is_guest
from chatroom.rooms.conversation import css_string
from chatroom.rooms.render import file_url, iso, thumbnail_url
from chatroom.time_zones import local
from chatroom.validation import REACTION_SET
from chatroom.web.paths import TEMPLATES


def charref(text: str) -> Markup:
    """`text` as character references where it is not Latin-1: a rendered item stays one byte per character in
    memory (a single emoji would make Python keep the whole string at four)."""
    escaped = str(escape(text))
    return Markup("".join(c if ord(c) < 256 else f"&#x{ord(c):X};" for c in escaped))  # noqa: S704 - escaped above


class CompiledOnce(jinja2.BytecodeCache):
    """Each template compiled once per machine. Kept in memory for every environment this process makes (an app
    makes one, the test suite hundreds), and on `disk` for the next process: a restarted server (a deploy, a
    crash, `--workers`) would otherwise compile its templates again in its first requests, 150 ms here while a
    reconnect storm waits. A changed template's source no longer matches its checksum and is compiled anew;
    a disk that cannot be read or written leaves the memory alone."""

    def __init__(self, disk: jinja2.BytecodeCache | None = None) -> None:
        self._code: dict[str, bytes] = {}
        self._disk = disk

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)
        elif self._disk is not None:
            with contextlib.suppress(OSError):
                self._disk.load_bytecode(bucket)
            if bucket.code is not None:
                self._code[bucket.key] = bucket.bytecode_to_string()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()
        if self._disk is not None:
            with contextlib.suppress(OSError):
                self._disk.dump_bytecode(bucket)


def _private_disk() -> jinja2.BytecodeCache | None:
    """Jinja's cache in a directory of the temp dir only this user may use (made so, else refused), or none."""
    try:
        return jinja2.FileSystemBytecodeCache()
    except (OSError, RuntimeError):
        return None


COMPILED = CompiledOnce(_private_disk())


class Environment(jinja2.Environment):
    """Jinja's environment, with each template's globals one plain dict.

    Jinja gives a template a `ChainMap` of its globals over the environment's, and each render copies it into
    the render's context: walking a `ChainMap` costs more than the rest of a small template's render (8.6 µs
    against 3.7 µs for the typing line here). Jinja asks that globals not change once a template is loaded;
    ours are set when the environment is made (and Starlette's `url_for` right after), before any is."""

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        return {**self.globals, **(d or {})}


def template_environment() -> jinja2.Environment:
    env = Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        bytecode_cache=COMPILED,
        # Templates change with a deploy, not while the process runs: an include (one or more in every message
        # rendered) would otherwise stat its file each time (4 % of the server's time at 2,000 messages/s).
        auto_reload=False,
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    # Times shown in the viewer's zone (UTC by default); `iso` stays UTC, for machines.
    env.filters["clock"] = lambda at, zone="UTC": local(at, zone).strftime("%H:%M")
    env.filters["stamp"] = lambda at, zone="UTC": local(at, zone).strftime("%Y-%m-%d %H:%M ") + zone
    env.filters["iso"] = iso
    env.filters["day"] = lambda at, zone="UTC": local(at, zone).strftime("%A, %-d %B %Y")
    env.filters["local_date"] = lambda at, zone="UTC": local(at, zone).date().isoformat()
    env.filters["formatted"] = formatting.render
    env.filters["excerpt"] = formatting.excerpt
    env.filters["file_url"] = file_url
    env.filters["thumbnail_url"] = thumbnail_url
    env.filters["size"] = human_size
    env.filters["thumbnail_size"] = lambda f: thumbnail_size(f.width, f.height)
    env.filters["css_string"] = css_string
    env.filters["initials"] = initials
    env.filters["hue"] = hue
    env.filters["from_us"] = lambda us: datetime.fromtimestamp(us / 1_000_000, UTC)
    env.globals["reaction_set"] = REACTION_SET
    env.filters["charref"] = charref
    env.filters["data_url"] = data_url
    env.tests["guest"] = is_guest
    env.tests["bot"] = is_bot
    return env


def data_url(html: str) -> str:
    """A fragment as a `data:` URL: what htmx fetches from it needs no server (the page's own states)."""
    return "data:text/html;base64," + base64.b64encode(str(html).encode()).decode()
