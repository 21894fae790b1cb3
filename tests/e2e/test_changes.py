"""Edit, delete and react in Chromium, live for another person, and the same with JavaScript off."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import expect

from tests.e2e.conftest import WAIT, LiveServer, Person

PASSWORD = "correct horse battery"


def signed_up(person: Person, name: str) -> None:
    answer = person.page.context.request.post(
        person.server.url + "/signup", form={"name": name, "password": PASSWORD}, max_redirects=0
    )
    assert answer.status == 303, answer.text()


def message(person: Person, text: str) -> object:
    return person.page.locator("#messages li.msg", has_text=text)


def test_edit_react_and_delete_live_with_javascript(people: Callable[..., Person], live_server: LiveServer) -> None:
    alice, bob = people(None), people("Bob")
    signed_up(alice, "Alice")
    alice.enter("changes")
    bob.enter("changes")
    alice.say("Helo everyone")
    bob.sees("Helo everyone")

    item = alice.page.locator("#messages li.msg", has_text="Helo everyone")
    item.get_by_label("React, edit or delete").click()
    item.get_by_role("button", name="React with 🎉").click()
    expect(bob.page.locator("#messages li.msg", has_text="Helo everyone").locator(".reactions")).to_contain_text("🎉 1")

    item.get_by_label("React, edit or delete").click()  # the reaction replaced the item, and closed its menu
    with alice.page.expect_navigation(timeout=WAIT):
        item.get_by_role("link", name="Edit", exact=True).click()
    alice.page.get_by_label("Message").fill("Hello everyone")
    with alice.page.expect_navigation(timeout=WAIT):
        alice.page.get_by_role("button", name="Save").click()
    changed = bob.page.locator("#messages li.msg", has_text="Hello everyone")
    expect(changed).to_contain_text("(edited)")
    expect(changed.locator(".reactions")).to_contain_text("🎉 1")
    bob.screenshot("30-edited-and-reacted")

    alice.page.goto(f"{live_server.url}/rooms/changes")
    again = alice.page.locator("#messages li.msg", has_text="Hello everyone")
    again.get_by_label("React, edit or delete").click()
    again.get_by_role("button", name="Delete", exact=True).click()
    expect(bob.page.locator("#messages li.msg.deleted")).to_contain_text("This message was deleted.")
    expect(bob.page.locator("#messages", has_text="Hello everyone")).to_have_count(0)
    assert alice.errors == [] and bob.errors == []


def test_edit_react_and_delete_without_javascript(people: Callable[..., Person], live_server: LiveServer) -> None:
    carol = people(None, java_script_enabled=False)
    signed_up(carol, "Carol")
    carol.page.goto(f"{live_server.url}/rooms/plain-changes")
    carol.input.fill("Typo here")
    with carol.page.expect_navigation(timeout=WAIT):
        carol.send()  # the message box is a textarea: Enter makes a new line
    carol.page.locator("#messages li.msg", has_text="Typo here").get_by_label("React, edit or delete").click()
    with carol.page.expect_navigation(timeout=WAIT):
        carol.page.get_by_role("button", name="React with 👍").click()
    expect(carol.page.locator("#messages li.msg", has_text="Typo here").locator(".reactions")).to_contain_text("👍 1")

    carol.page.locator("#messages li.msg", has_text="Typo here").get_by_label("React, edit or delete").click()
    with carol.page.expect_navigation(timeout=WAIT):
        carol.page.get_by_role("link", name="Edit", exact=True).click()
    carol.page.get_by_label("Message").fill("No typo here")
    with carol.page.expect_navigation(timeout=WAIT):
        carol.page.get_by_role("button", name="Save").click()
    expect(carol.page.locator("#messages li.msg", has_text="No typo here")).to_contain_text("(edited)")

    carol.page.locator("#messages li.msg", has_text="No typo here").get_by_label("React, edit or delete").click()
    with carol.page.expect_navigation(timeout=WAIT):
        carol.page.get_by_role("button", name="Delete", exact=True).click()
    expect(carol.page.locator("#messages li.msg.deleted")).to_contain_text("This message was deleted.")
    carol.screenshot("31-deleted-no-javascript")
    assert carol.errors == []
