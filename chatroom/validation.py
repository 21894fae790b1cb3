"""The rules for what users may send: room names, display names and message texts."""

from __future__ import annotations

import hashlib
import re
import unicodedata

from chatroom.errors import Refused

LOBBY = "lobby"  # the default room, at `/`: it always exists and is always listed
ROOM_NAME = re.compile(r"[a-z0-9_-]{1,50}")
# ASCII digits only: str.isdigit() also takes "²" and "①", which int() then refuses.
WHOLE_NUMBER = re.compile(r"[0-9]{1,18}")
# Accents or marks on one character. Written languages stack at most three or four (Vietnamese two,
# pointed Hebrew and Tibetan stacks three or four); "Zalgo" text stacks hundreds, drawn over the
# messages around it. Refused rather than stripped: the sender is told, and nothing they wrote is changed.
MAX_MARKS = 4


def room_name(raw: object) -> str:
    if not isinstance(raw, str) or not ROOM_NAME.fullmatch(raw):
        raise Refused(
            "invalid_room",
            "A room name is 1 to 50 characters, each a lowercase letter, a digit, '-' or '_'.",
        )
    return raw


def whole_number(raw: str) -> int | None:
    """A whole number (0 included) written in ASCII digits, below 10**18; None for anything else."""
    return int(raw) if WHOLE_NUMBER.fullmatch(raw) else None


def reply_id(raw: object) -> int:
    """The id of the message a new one replies to: a positive whole number (a form's text or a JSON number), or
    0 for none (absent, None or empty). Which room it is in is never said: it is of the room the reply is sent
    to, so no message of another room can be quoted."""
    if raw is None or raw == "" or raw == 0:
        return 0
    number = raw if isinstance(raw, int) and not isinstance(raw, bool) else None
    if isinstance(raw, str):
        number = whole_number(raw.strip())
    if number is None or not 0 < number < 2**62:
        raise Refused("invalid_reply", "reply_to must be the id of a message of this room, a positive whole number.")
    return number


# Unicode's control characters (category Cc) and lone surrogates (Cs), but for a message's line breaks and tabs.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def message_text(raw: object, max_length: int) -> str | None:
    """The text to store, or None when there is nothing to send (empty or only white space)."""
    if not isinstance(raw, str):
        raise Refused("missing_message", 'Send the text in a "message" field, as a string.')
    text = raw.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        return None
    if len(text) > max_length:
        raise Refused(
            "message_too_long",
            f"A message can be at most {max_length} characters; this one has {len(text)}.",
        )
    if _CONTROL.search(text):
        raise Refused("invalid_characters", "A message cannot contain control characters.")
    if most_marks(text) > MAX_MARKS:
        raise Refused("too_many_marks", f"A message can have at most {MAX_MARKS} accents or marks on one character.")
    return text


def most_marks(text: str) -> int:
    """The most combining marks on one character of `text`, once composed (NFC): `é` written as e + ◌́ is none."""
    if text.isascii():  # no marks at all: most messages, checked without a look at each character
        return 0
    most = run = 0
    for c in unicodedata.normalize("NFC", text):
        run = run + 1 if unicodedata.category(c) in ("Mn", "Me") else 0
        most = max(most, run)
    return most


MAX_REACTIONS = 20  # different emoji under one message
MAX_NONCE = 64


def send_nonce(raw: object, text: str) -> str | None:
    """What makes a send unique for its sender: the one-time token of the form it came from, with the text (a
    different text sent before the form's token was renewed is another message). None without a token."""
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or len(raw) > MAX_NONCE or not raw.isascii() or not raw.isprintable():
        raise Refused("invalid_nonce", f"A nonce is up to {MAX_NONCE} printable ASCII characters.")
    return f"{raw}:{hashlib.sha256(text.encode()).hexdigest()[:16]}"


# The reactions a message offers everyone; any other single emoji may be sent too.
REACTION_SET = ("👍", "❤️", "😂", "🎉", "😮", "😢")
MAX_EMOJI_CODE_POINTS = 10  # a family or a flag with its joiners and modifiers, not a sentence of them
# What an emoji is made of besides pictographs: joiners, variation selectors, skin tones, keycaps, tags.
_EMOJI_PARTS = {"\u200d", "\ufe0f", "\ufe0e", "\u20e3"}


def emoji(raw: object) -> str:
    """A reaction: one emoji (a pictograph with its joiners and modifiers); Refused otherwise."""
    text = raw.strip() if isinstance(raw, str) else ""
    if text in REACTION_SET:
        return text
    ok = (
        0 < len(text) <= MAX_EMOJI_CODE_POINTS
        and unicodedata.category(text[0]) == "So"
        and all(
            unicodedata.category(c) in ("So", "Sk", "Mn", "Me")
            or c in _EMOJI_PARTS
            or 0x1F3FB <= ord(c) <= 0x1F3FF
            or 0xE0020 <= ord(c) <= 0xE007F
            for c in text
        )
    )
    if not ok:
        raise Refused("invalid_emoji", "A reaction is one emoji, such as 👍.")
    return text
