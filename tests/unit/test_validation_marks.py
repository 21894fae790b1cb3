"""Messages: a bound on the accents and marks stacked on one character ("Zalgo" text)."""

from __future__ import annotations

import unicodedata

import pytest

from chatroom.errors import Refused
from chatroom.validation import message_text


def test_a_message_with_one_letter_under_1999_marks_is_refused() -> None:
    with pytest.raises(Refused) as caught:
        message_text("a" + "\u0301" * 1999, 4000)
    assert (caught.value.code, caught.value.detail) == (
        "too_many_marks",
        "A message can have at most 4 accents or marks on one character.",
    )


def test_written_languages_keep_their_marks_and_a_fifth_on_one_character_is_refused() -> None:
    vietnamese = "Vie\u0323\u0302t Nam"  # decomposed: two marks on the e
    hebrew = "\u05e9\u05c1\u05b8\u05bc\u0591\u05dc\u05d5\u05b9\u05dd"  # pointed and cantillated: four
    tibetan = "\u0f56\u0f66\u0f92\u0fb2\u0f74\u0f56"  # a stack: three
    for text in (vietnamese, hebrew, tibetan, "Z\u0351\u0352\u0353\u0354 ok"):
        assert message_text(text, 2000) == text
    with pytest.raises(Refused):
        message_text("Z\u0351\u0352\u0353\u0354\u0355", 2000)


def test_a_message_with_any_control_character_but_a_line_break_or_tab_is_refused() -> None:
    """Every character Unicode calls a control (Cc) or a lone surrogate (Cs), and nothing else, is refused."""
    for point in range(0x10000):  # every Cc and Cs is in the first plane
        c = chr(point)
        refused = unicodedata.category(c) in ("Cc", "Cs") and c not in "\n\t\r"  # a return is a line break
        try:
            message_text(f"a{c}b", 100)
        except Refused as caught:
            assert refused and caught.code == "invalid_characters", hex(point)
        else:
            assert not refused, hex(point)
