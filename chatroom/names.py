"""The rules of a person's name: what it may contain, when two names are one, and who holds one already.

A name is stored NFKC-normalised. Two names are one when they are the same after case folding
(`Alice`, `ALICE` and `Alice` in fullwidth letters) or when they look alike: their TR39 confusable
skeletons are equal (Cyrillic a, U+0430, for Latin `a`; `I` for `l`; `0` for `O`). `NameKey` holds both forms.

Who holds a name: the people present in a room (`first_clash` against their names, asked by
`chatroom.rooms.hub.Hub.claim_name`). Accounts (a later issue) hold their names everywhere: they
compare by the same `NameKey`, and `Hub.claim_name` is where their check joins the room's.
Generated guest names (`guest-123456`) are given, never chosen, so a chosen name cannot be mistaken
for one and two guests' names collide only if their random numbers do.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from disarm import skeleton_key

from chatroom.errors import Refused
from chatroom.validation import MAX_MARKS, most_marks

MAX_LENGTH = 32
GUEST_PREFIX = "guest"
SPACES = re.compile(r" {2,}")


@dataclass(frozen=True, slots=True)
class NameKey:
    folded: str  # NFKC and case-folded: one name however it is cased or which width its letters are
    looks: str  # the confusable skeleton of the name as written
    looks_folded: str  # and of the folded name: `ALlCE` looks like `ALICE`, `aIice` like `alice`

    def clashes(self, other: NameKey) -> bool:
        return self.folded == other.folded or self.looks == other.looks or self.looks_folded == other.looks_folded


@lru_cache(maxsize=4096)
def key(name: str) -> NameKey:
    """How `name` compares to others (a display name: already normalised)."""
    folded = name.casefold()
    # "tr39" merges digits with the letters they look like (1/l, 0/O): for a spoof check that is the point.
    return NameKey(folded, skeleton_key(name, digit_policy="tr39"), skeleton_key(folded, digit_policy="tr39"))


def display_name(raw: object) -> str:
    """The name to show for what a person typed: NFKC, trimmed, single-spaced; Refused if it breaks a rule."""
    name = SPACES.sub(" ", unicodedata.normalize("NFKC", raw).strip()) if isinstance(raw, str) else ""
    if not 1 <= len(name) <= MAX_LENGTH:
        raise Refused("invalid_name", f"A display name is 1 to {MAX_LENGTH} characters (spaces around it don't count).")
    if any(_invisible(c) for c in name):
        # Bidi controls would reorder what stands beside the name (its time); zero-width characters
        # and fillers make look-alikes and blank names.
        raise Refused(
            "invalid_name", "A display name cannot contain control, formatting, invisible or blank characters."
        )
    if unicodedata.category(name[0]).startswith("M"):
        raise Refused("invalid_name", "A display name cannot start with an accent or a mark.")
    if most_marks(name) > MAX_MARKS:
        raise Refused("invalid_name", f"A display name can have at most {MAX_MARKS} accents or marks on a letter.")
    return name


def chosen_name(raw: object, current: str = "") -> str:
    """A name a person chose: a display name not in the form kept for generated guest names (unless it is `current`)."""
    name = display_name(raw)
    if name != current and key(name).looks_folded.startswith(GUEST_PREFIX):
        raise Refused("invalid_name", f"Names starting with “{GUEST_PREFIX}” are given to guests, not chosen.")
    return name


def guest_name() -> str:
    return f"{GUEST_PREFIX}-{secrets.randbelow(900_000) + 100_000}"


def first_clash(name: str, held: Iterable[str]) -> str | None:
    """The first of the `held` names that is `name` or looks like it; None when it is free among them."""
    mine = key(name)
    return next((other for other in held if mine.clashes(key(other))), None)


def refuse_if_held(name: str, held: Iterable[str]) -> None:
    """Refused (`name_taken`) when one of the `held` names is `name` or looks like it."""
    clash = first_clash(name, held)
    if clash is not None:
        raise Refused("name_taken", f"Someone here is already called {clash}.")


def _invisible(c: str) -> bool:
    category = unicodedata.category(c)
    if category[0] in "CZ":  # controls, formats (bidi, zero-width), private use, unassigned; spaces but " "
        return c != " "
    # Letters and symbols that draw nothing (the Hangul fillers, the blank Braille pattern): the skeleton drops them.
    return category[0] != "M" and not skeleton_key(c).strip()
