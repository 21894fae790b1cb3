"""Two people talk in one room, over WebSocket and over SSE.

`UPDATE_DOCS=1` also copies the WebSocket conversation's screenshot to docs/room.png, the README's picture.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import WAIT, Person
from tests.integration.servers import ROOT

CONVERSATION = [
    ("alice", "Morning! Is the deploy still on for three?"),
    ("bob", "Yes. Database migration first, then the app."),
    ("alice", "Great, I will watch the error rate."),
    ("bob", "Redis restarted at noon and every client reconnected on its own."),
    ("alice", "Nobody even noticed."),
    ("bob", "That is the snapshot on reconnect doing its job."),
    ("alice", "Let us keep the release notes short this time."),
    ("bob", "Drafting them now; I will post the link here."),
    ("alice", "Thanks!"),
    ("bob", "See you at three."),
]
HOSTILE = [
    "<img src=x onerror=\"document.title='pwned'\">",
    "<script>alert('xss')</script>",
    '"><svg onload=alert(1)>',
]


@pytest.mark.parametrize("transport", ["ws", "sse"])
def test_two_people_see_one_conversation_in_the_same_order(people: Callable[..., Person], transport: str) -> None:
    room = "lobby" if transport == "ws" else "lobby-sse"  # the WebSocket one is the README's picture of #lobby
    alice, bob = people("Alice"), people("Bob")
    alice.enter(room, transport)
    bob.enter(room, transport)
    by_name = {"alice": alice, "bob": bob}

    for who, text in CONVERSATION:
        speaker = by_name[who]
        speaker.say(text)
        for person in (alice, bob):
            person.sees(text)
        expect(speaker.input).to_have_value("", timeout=WAIT)
        expect(speaker.input).to_be_focused(timeout=WAIT)

    expected = [text for _, text in CONVERSATION]
    assert alice.texts() == bob.texts() == expected
    assert alice.message_ids() == bob.message_ids()
    authors = alice.page.locator("#messages li[id^=msg-] .author").all_inner_texts()
    assert authors == [who.capitalize() for who, _ in CONVERSATION]
    for person in (alice, bob):
        scroller = person.page.locator(".scroller")
        assert scroller.evaluate("s => s.scrollHeight > s.clientHeight"), "the conversation should overflow the list"
        expect(person.messages.last).to_be_in_viewport(ratio=1)
        expect(person.messages.first).not_to_be_in_viewport()
        assert person.errors == []

    alice.screenshot(f"01-conversation-{transport}-alice")
    shot = bob.screenshot(f"01-conversation-{transport}-bob")
    if transport == "ws" and os.environ.get("UPDATE_DOCS"):
        (ROOT / "docs").mkdir(exist_ok=True)
        shutil.copyfile(shot, ROOT / "docs" / "room.png")


def test_hostile_text_is_shown_as_text_and_never_run(people: Callable[..., Person]) -> None:
    mallory, bob = people("<i>Mallory</i>"), people("Bob")
    mallory.enter("hostile")
    bob.enter("hostile", "sse")
    titles = {person: person.page.title() for person in (mallory, bob)}

    for text in HOSTILE:
        mallory.say(text)
        bob.sees(text)

    for person in (mallory, bob):
        expect(person.messages).to_have_count(len(HOSTILE), timeout=WAIT)
        assert person.texts() == HOSTILE
        assert set(person.page.locator("#messages .author").all_inner_texts()) == {"<i>Mallory</i>"}
        for tag in ("img", "script", "svg", "i"):
            expect(person.page.locator(f"#messages {tag}")).to_have_count(0)
        assert person.page.title() == titles[person]
        assert person.dialogs == []
        assert person.errors == []  # a handler that got into the DOM would also show up as a CSP refusal here
    mallory.screenshot("02-hostile-text")
