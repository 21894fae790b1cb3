"""What a person's room list and title show of their counts, by what they chose to count in each room."""

from __future__ import annotations

from chatroom.rooms.counts import CAP, Count, badges, total
from chatroom.rooms.render import Badge


def test_every_message_counts_and_a_mention_marks_the_room() -> None:
    assert Count(0, 9, unread=4, mentions=1).badge == Badge(4, True)


def test_only_mentions_count_when_chosen() -> None:
    assert Count(0, 9, unread=4, mentions=1, notify="mentions").badge == Badge(1, True)
    assert Count(0, 9, unread=4, mentions=0, notify="mentions").badge == Badge(0, False)


def test_a_muted_room_shows_nothing_and_adds_nothing_to_the_title() -> None:
    counts = {"dev": Count(0, 9, unread=4, mentions=1, notify="mute"), "ops": Count(0, 9, unread=2)}
    assert counts["dev"].badge == Badge(0, False, True)
    assert total(counts, "lobby") == 2


def test_the_title_leaves_out_the_room_open_in_the_tab_and_its_line_shows_nothing() -> None:
    counts = {"dev": Count(0, 9, unread=4), "ops": Count(0, 9, unread=2)}
    assert total(counts, "dev") == 2
    assert badges(counts, "dev") == {"dev": Badge(), "ops": Badge(2)}


def test_a_count_shows_at_most_the_cap() -> None:
    assert Count(0, 9, unread=CAP * 3).badge.unread == CAP


def test_reading_to_the_end_clears_the_count_and_a_place_never_moves_back() -> None:
    count = Count(5, 9, unread=4, mentions=1)
    count.read(3)
    assert (count.seq, count.last, count.unread, count.mentions) == (5, 9, 4, 1)
    count.read(7)
    assert (count.seq, count.unread) == (7, 4), "part of what is counted: the store says how much is left"
    count.read(9)
    assert (count.seq, count.last, count.unread, count.mentions) == (9, 9, 0, 0)
