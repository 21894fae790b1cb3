"""Who's here and who's typing, in two browsers: live, one entry per person, cleared by the server."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Locator, expect

from tests.e2e.conftest import Person


def members(person: Person) -> Locator:
    """The names in the list of people here (each in its <bdi>, beside a "guest" badge for guests)."""
    return person.page.locator("#members li bdi")


def test_people_arriving_and_leaving_are_seen_by_everyone(people: Callable[..., Person]) -> None:
    alice, bob = people("Alice"), people("Bob")
    assert alice.page.context.request.post(alice.server.url + "/rooms", form={"name": "here"}).ok  # listed
    alice.enter("here")
    expect(members(alice)).to_have_text(["Alice"])
    bob.enter("here")
    expect(members(alice)).to_have_text(["Alice", "Bob"])
    expect(members(bob)).to_have_text(["Alice", "Bob"])
    expect(bob.page.locator("#room-list li[data-room=here] .online")).to_have_text("2")
    alice.screenshot("presence-two-people")
    bob.page.goto(bob.server.url + "/rooms/elsewhere")
    expect(members(alice)).to_have_text(["Alice"])
    assert alice.errors == [] and bob.errors == []


def test_a_second_tab_is_not_a_second_person(people: Callable[..., Person]) -> None:
    alice, bob = people("Alice"), people("Bob")
    bob.enter("tabs")
    alice.enter("tabs")
    second = Person(alice.page.context.new_page(), alice.server)
    second.enter("tabs")
    expect(members(bob)).to_have_text(["Alice", "Bob"])
    second.page.close()
    expect(members(bob)).to_have_text(["Alice", "Bob"])


def test_the_others_see_who_is_typing_until_the_message_is_sent(people: Callable[..., Person]) -> None:
    alice, bob = people("Alice"), people("Bob")
    alice.enter("typing")
    bob.enter("typing")
    expect(members(alice)).to_have_text(["Alice", "Bob"])
    bob.input.press_sequentially("hello there", delay=30)
    expect(alice.page.locator("#typing")).to_have_text("Bob is typing…")
    expect(bob.page.locator("#typing")).to_have_text("")
    alice.screenshot("typing")
    bob.send()
    alice.sees("hello there")
    expect(alice.page.locator("#typing")).to_have_text("")
    bob.input.press_sequentially("and again", delay=30)  # the fresh input the server sent types too
    expect(alice.page.locator("#typing")).to_have_text("Bob is typing…")
    assert alice.errors == [] and bob.errors == []


def test_the_indicator_goes_away_by_itself_when_typing_stops(people: Callable[..., Person]) -> None:
    alice, bob = people("Alice"), people("Bob")
    alice.enter("quiet")
    bob.enter("quiet")
    expect(members(alice)).to_have_text(["Alice", "Bob"])
    bob.input.press_sequentially("thinking", delay=30)
    expect(alice.page.locator("#typing")).to_have_text("Bob is typing…")
    expect(alice.page.locator("#typing")).to_have_text("", timeout=9_000)  # ~5 s after the last event


def test_my_mention_stands_out_for_me(people: Callable[..., Person]) -> None:
    alice, bob = people("Alice"), people("Bob")
    alice.enter("mentions")
    bob.enter("mentions")
    alice.say("ping @Bob")
    bob.sees("ping @Bob")
    mark = "#messages mark.mention"
    mine = bob.page.locator(mark).evaluate("m => getComputedStyle(m).backgroundColor")
    theirs = alice.page.locator(mark).evaluate("m => getComputedStyle(m).backgroundColor")
    assert mine != theirs, "the same fragment, highlighted more strongly for the person named"


def test_typing_on_the_sse_page_is_seen_too(people: Callable[..., Person]) -> None:
    alice, bob = people("Alice"), people("Bob")
    alice.enter("typing-sse")
    bob.enter("typing-sse", transport="sse")
    expect(members(alice)).to_have_text(["Alice", "Bob"])
    bob.input.press_sequentially("over http", delay=30)
    expect(alice.page.locator("#typing")).to_have_text("Bob is typing…")
    bob.send()
    alice.sees("over http")
    expect(alice.page.locator("#typing")).to_have_text("")
    expect(bob.input).to_have_value("")
    assert bob.errors == []
