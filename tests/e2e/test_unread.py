"""Unread counts in Chromium: the tab's title and the room list follow messages elsewhere live, and clear when
the room is opened in another tab; screenshots of the list, the new-messages line and the browse page."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Locator, expect

from tests.e2e.conftest import LiveServer, Person

PASSWORD = "correct horse battery"
PHONE = {"width": 390, "height": 760}


def account(people: Callable[..., Person], name: str, **context: object) -> Person:
    """A person signed in as `name` (made on first use) in a browser context of their own."""
    person = people(None, **context)
    url = person.server.url
    made = person.page.context.request.post(f"{url}/signup", form={"name": name, "password": PASSWORD})
    if "taken" in made.text():
        made = person.page.context.request.post(f"{url}/signin", form={"name": name, "password": PASSWORD})
    assert made.ok, made.status
    return person


def post(person: Person, room: str, text: str) -> None:
    sent = person.page.context.request.post(f"{person.server.url}/rooms/{room}/messages", form={"message": text})
    assert sent.ok, sent.status


def make_rooms(person: Person, *rooms: str) -> None:
    """Join or create each room with the form, as a person does: a place is kept only in a room that exists."""
    for room in rooms:
        made = person.page.context.request.post(f"{person.server.url}/rooms", form={"name": room})
        assert made.ok, made.status


def line(person: Person, room: str) -> Locator:
    return person.page.locator(f'#room-list li[data-room="{room}"]')


def test_the_title_counts_messages_in_other_rooms_live_and_clears_when_one_is_read(
    people: Callable[..., Person], live_server: LiveServer
) -> None:
    alice = account(people, "alice")
    bob = account(people, "bob")
    make_rooms(alice, "dev", "design")
    alice.page.goto(f"{live_server.url}/rooms/dev")
    alice.page.goto(f"{live_server.url}/rooms/design")
    alice.enter("lobby")
    expect(alice.page).to_have_title("#lobby · chatroom")

    post(bob, "dev", "the build is green")
    post(bob, "dev", "@alice can you review?")
    post(bob, "design", "new mock-ups")
    expect(alice.page).to_have_title("(3) #lobby · chatroom")
    expect(line(alice, "dev").locator(".count")).to_have_text(re.compile(r"^2"))
    expect(line(alice, "dev").locator(".mentioned")).to_be_visible()
    expect(line(alice, "design").locator(".count")).to_have_text(re.compile(r"^1"))
    alice.screenshot("40-unread-counts")

    other_tab = alice.page.context.new_page()
    other_tab.goto(f"{live_server.url}/rooms/dev")
    expect(other_tab).to_have_title("(1) #dev · chatroom")
    expect(other_tab.locator("#msg-1")).to_be_visible()
    expect(alice.page).to_have_title("(1) #lobby · chatroom")
    expect(line(alice, "dev").locator(".count")).to_have_count(0)
    assert alice.errors == []


def test_the_title_is_kept_current_over_server_sent_events_too(
    people: Callable[..., Person], live_server: LiveServer
) -> None:
    dana = account(people, "dana")
    bob = account(people, "bob")
    make_rooms(dana, "sse-news")
    dana.enter("lobby", transport="sse")
    post(bob, "sse-news", "one")
    expect(dana.page).to_have_title("(1) #lobby · chatroom")
    expect(line(dana, "sse-news").locator(".count")).to_have_text(re.compile(r"^1"))
    assert dana.errors == []


def test_screenshots_of_the_room_list_the_new_messages_line_and_browsing(
    people: Callable[..., Person], live_server: LiveServer
) -> None:
    bob = account(people, "bob")
    for room in ("ops", "random", "support"):
        post(bob, room, f"welcome to #{room}")
    for scheme, size, suffix in (
        ("light", None, "desktop-light"),
        ("dark", None, "desktop-dark"),
        ("light", PHONE, "phone-light"),
        ("dark", PHONE, "phone-dark"),
    ):
        context: dict[str, object] = {"color_scheme": scheme}
        if size:
            context["viewport"] = size
        carol = account(people, "carol", **context)
        carol.page.goto(f"{live_server.url}/rooms/ops")
        carol.page.goto(f"{live_server.url}/rooms/support")
        post(bob, "ops", "@carol the deploy is at three")
        post(bob, "ops", "and it needs a review")
        carol.page.goto(f"{live_server.url}/rooms/support")
        if size:
            carol.page.locator(".rooms > summary").click()
        expect(line(carol, "ops").locator(".count")).to_have_text(re.compile(r"^2"))
        carol.screenshot(f"41-room-list-{suffix}")
        carol.page.goto(f"{live_server.url}/rooms/ops")
        expect(carol.page.locator("#messages")).to_contain_text("needs a review")
        carol.screenshot(f"42-new-messages-line-{suffix}")
        carol.page.goto(f"{live_server.url}/rooms")
        expect(carol.page.locator("table.browse")).to_contain_text("#ops")
        carol.screenshot(f"43-browse-{suffix}")
        assert carol.errors == []
