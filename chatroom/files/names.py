"""A file's name as people gave it, made safe to show, to store and to offer back as a download's name."""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

MAX_NAME = 120  # characters; the extension is kept when a longer name is cut
FALLBACK = "file"


def safe_name(raw: str) -> str:
    """The last path segment (no `../`, no folders, either slash), NFC, without control, format (bidi,
    zero-width) or separator characters other than a plain space, without leading dots or spaces."""
    name = unicodedata.normalize("NFC", raw.replace("\\", "/").rsplit("/", 1)[-1])
    name = "".join(c for c in name if c == " " or unicodedata.category(c)[0] not in "CZ")
    name = name.strip().lstrip(".").strip()
    if len(name) > MAX_NAME:
        stem, dot, extension = name.rpartition(".")
        keep = extension if dot and stem and len(extension) <= 10 else ""
        name = name[: MAX_NAME - len(keep) - 1].rstrip() + "." + keep if keep else name[:MAX_NAME]
    return name or FALLBACK


def content_disposition(kind: str, name: str) -> str:
    """`inline` or `attachment`, with the name: plain ASCII for old clients, RFC 6266's UTF-8 form for the rest."""
    ascii_name = "".join(c if c.isascii() and c.isprintable() and c not in '"\\;' else "_" for c in name)
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def human_size(size: int) -> str:
    """`12 bytes`, `3.4 KB`, `5.6 MB` (powers of 1000, as file managers show them)."""
    if size < 1000:
        return f"{size} byte{'' if size == 1 else 's'}"
    value = size / 1000
    for unit in ("KB", "MB"):
        if value < 999.95:
            return f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"
