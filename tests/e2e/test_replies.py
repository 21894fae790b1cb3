"""Replies in Chromium: from the message menu into the composer, live for another person, with JavaScript off too."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import expect

from tests.e2e.conftest import WAIT, LiveServer, Person
from tests.e2e.test_changes import signed_up


def test_reply_live_with_javascript_and_the_quote_follows_an_edit_and_a_deletion(
    people: Callable[..., Person], live_server: LiveServer
) -> None:
    alice, bob = people(None), people(None)
    signed_up(alice, "Alice")
    signed_up(bob, "Bob")
    alice.enter("replies")
    bob.enter("replies")
    alice.say("Who brings **the cake** on Friday?")
    bob.sees("Who brings")

    asked = bob.page.locator("#messages li.msg", has_text="Who brings")
    asked.get_by_label("React, edit or delete").click()
    asked.get_by_role("link", name="Reply", exact=True).click()
    composer = bob.page.locator("#replying")
    expect(composer).to_contain_text("Replying to")
    expect(composer.locator(".quote")).to_contain_text("Alice: Who brings the cake on Friday?")
    bob.screenshot("40-composing-a-reply")
    bob.input.fill("I will!")
    bob.page.get_by_role("button", name="Send", exact=True).click()  # beside the button that cancels the reply
    expect(composer).to_be_empty()  # sent: the composer is a reply no more

    answer = alice.page.locator("#messages li.msg", has_text="I will!")
    expect(answer.locator(".quote")).to_contain_text("Alice: Who brings the cake on Friday?")
    expect(answer.locator(".quote")).to_have_attribute("href", "/rooms/replies?around=1#msg-1")
    alice.screenshot("41-a-reply-live")

    asked = alice.page.locator("#msg-1")  # the quote in the reply has its words too
    asked.get_by_label("React, edit or delete").click()
    with alice.page.expect_navigation(timeout=WAIT):
        asked.get_by_role("link", name="Edit", exact=True).click()
    alice.page.get_by_label("Message").fill("Who brings the pie on Friday?")
    with alice.page.expect_navigation(timeout=WAIT):
        alice.page.get_by_role("button", name="Save").click()
    quoted = bob.page.locator("#messages li.msg", has_text="I will!").locator(".quote")
    expect(quoted).to_contain_text("Alice: Who brings the pie on Friday?")

    alice.page.goto(f"{live_server.url}/rooms/replies")
    asked = alice.page.locator("#msg-1")
    asked.get_by_label("React, edit or delete").click()
    asked.get_by_role("button", name="Delete", exact=True).click()
    expect(quoted).to_have_text("Reply to a deleted message")
    expect(bob.page.locator("body", has_text="pie")).to_have_count(0)
    bob.screenshot("42-the-quoted-message-deleted")

    # A reply begun and taken back: its cancel button empties the composer, and the next message is no reply.
    bob.page.locator("#messages li.msg", has_text="I will!").get_by_label("React, edit or delete").click()
    bob.page.locator("#messages li.msg", has_text="I will!").get_by_role("link", name="Reply", exact=True).click()
    expect(composer).to_contain_text("Bob: I will!")
    composer.get_by_role("button", name="Cancel the reply").click()
    expect(composer).to_be_empty()
    bob.say("Plain again")
    expect(alice.page.locator("#messages li.msg", has_text="Plain again").locator(".quote")).to_have_count(0)
    assert alice.errors == [] and bob.errors == []


def test_reply_without_javascript(people: Callable[..., Person], live_server: LiveServer) -> None:
    carol = people(None, java_script_enabled=False)
    signed_up(carol, "Carol")
    live_server.say("plain-replies", "Anyone seen my keys?", name="Dave")
    carol.page.goto(f"{live_server.url}/rooms/plain-replies")
    asked = carol.page.locator("#messages li.msg", has_text="Anyone seen")
    asked.get_by_label("React, edit or delete").click()
    with carol.page.expect_navigation(timeout=WAIT):
        carol.page.get_by_role("link", name="Reply", exact=True).click()
    expect(carol.page.locator("h1")).to_have_text("Reply in #plain-replies")
    expect(carol.page.locator("form .quote")).to_contain_text("Dave: Anyone seen my keys?")
    carol.page.get_by_label("Your reply").fill("On the piano")
    carol.screenshot("43-reply-page-without-javascript")
    with carol.page.expect_navigation(timeout=WAIT):
        carol.page.get_by_role("button", name="Send").click()
    answer = carol.page.locator("#messages li.msg", has_text="On the piano")
    expect(answer.locator(".quote")).to_contain_text("Dave: Anyone seen my keys?")
    with carol.page.expect_navigation(timeout=WAIT):
        answer.locator(".quote").click()
    expect(carol.page.locator("#msg-1")).to_be_visible()
    assert "around=1" in carol.page.url
    carol.screenshot("44-reply-without-javascript")
