"""Who a message mentions, as stored with it: whole account names, compared as names are."""

from __future__ import annotations

from chatroom.mentions import mention_key, mentioned
from chatroom.rooms.conversation import MENTIONS_MARKED


def test_a_mention_is_the_whole_name_case_folded_and_width_folded() -> None:
    assert mentioned("@Alice, @ALICE and @\uff21\uff4c\uff49\uff43\uff45") == ("alice",)


def test_a_shorter_or_longer_name_is_another_name() -> None:
    assert mentioned("@al and @alicex") == ("al", "alicex")


def test_a_look_alike_is_not_the_name() -> None:
    assert mentioned("@\u0430lice") != ("alice",)


def test_addresses_and_trailing_punctuation_are_not_part_of_a_mention() -> None:
    assert mentioned("mail alice@example.org, ask @bob.") == ("bob",)


def test_only_the_mentions_the_page_marks_are_stored() -> None:
    text = " ".join(f"@p{n}" for n in range(MENTIONS_MARKED + 5))
    assert mentioned(text) == tuple(f"p{n}" for n in range(MENTIONS_MARKED))


def test_a_name_is_looked_up_as_it_is_stored() -> None:
    assert mention_key("\uff21lice") == mention_key("ALICE") == "alice"
