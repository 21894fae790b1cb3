"""The rules of a person's name: what it may contain, and when two names are one."""

from __future__ import annotations

import re

import pytest

from chatroom.errors import Refused
from chatroom.names import chosen_name, display_name, first_clash, guest_name


def refusal(raw: str) -> Refused:
    with pytest.raises(Refused) as caught:
        chosen_name(raw)
    return caught.value


def test_a_name_is_stored_nfkc_normalised_trimmed_and_single_spaced() -> None:
    assert display_name("  \uff21\uff4c\uff49\uff43\uff45   Liddell ") == "Alice Liddell"


@pytest.mark.parametrize("other", ["alice", "ALICE", "\uff21\uff4c\uff49\uff43\uff45"])
def test_names_that_differ_only_in_case_or_width_are_one_name(other: str) -> None:
    assert first_clash(display_name(other), ["Alice"]) == "Alice"


@pytest.mark.parametrize(
    "other",
    [
        "\u0430lice",  # Cyrillic a
        "\u0410lice",  # Cyrillic capital A
        "AIice",  # capital I for l
        "A1ice",  # digit one for l
        "\u0391l\u0456c\u0435",  # Greek Alpha, Cyrillic i and e
    ],
)
def test_a_look_alike_is_the_same_name(other: str) -> None:
    assert first_clash(display_name(other), ["Bob", "Alice"]) == "Alice"


def test_capitals_that_look_alike_are_the_same_name() -> None:
    assert first_clash("ALlCE", ["ALICE"]) == "ALICE"


@pytest.mark.parametrize("other", ["Alicia", "Alic", "Zoë", "Bob"])
def test_names_that_look_different_are_free(other: str) -> None:
    assert first_clash(other, ["Alice", "Zoe"]) is None


@pytest.mark.parametrize(
    "raw",
    [
        "\u200b",  # zero-width space
        "\u3164",  # Hangul filler
        "\uffa0",  # halfwidth Hangul filler
        "\u2800",  # blank Braille pattern
        "\u115f\u1160",
        "Ali\u200bce",
        "\u202eAlice",  # right-to-left override
        "Alice\u2067",  # right-to-left isolate
        "Alice\u200f",  # right-to-left mark
        "Al\u00adice",  # soft hyphen
        "Ali\u2028ce",  # line separator
        "Alice\ue000",  # private use
    ],
)
def test_a_name_with_an_invisible_control_or_format_character_is_refused(raw: str) -> None:
    error = refusal(raw)
    assert (error.code, error.detail) == (
        "invalid_name",
        "A display name cannot contain control, formatting, invisible or blank characters.",
    )


def test_a_name_with_more_than_four_marks_on_a_letter_is_refused() -> None:
    assert chosen_name("Zo\u0350\u0351\u0352\u0357") == "Zo\u0350\u0351\u0352\u0357"
    error = refusal("Zo\u0351\u0352\u0353\u0354\u0355")
    assert (error.code, error.detail) == (
        "invalid_name",
        "A display name can have at most 4 accents or marks on a letter.",
    )


def test_a_name_cannot_start_with_a_mark() -> None:
    assert refusal("\u0301Alice").detail == "A display name cannot start with an accent or a mark."


def test_a_right_to_left_name_is_a_name() -> None:
    assert chosen_name("\u05d0\u05dc\u05d9\u05e1") == "\u05d0\u05dc\u05d9\u05e1"


@pytest.mark.parametrize("raw", ["guest-1234", "Guest 42", "gue\u0455t-7", "guest"])
def test_a_name_in_the_form_of_a_guest_name_is_not_chosen(raw: str) -> None:
    error = refusal(raw)
    assert (error.code, error.detail) == (
        "invalid_name",
        "Names starting with “guest” are given to guests, not chosen.",
    )


def test_a_guest_may_keep_the_name_they_were_given() -> None:
    given = guest_name()
    assert re.fullmatch(r"guest-[1-9]\d{5}", given)
    assert chosen_name(given, current=given) == given
