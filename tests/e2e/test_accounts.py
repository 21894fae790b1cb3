"""Accounts in Chromium: the first administrator from the setup link, an invite accepted in a second browser
with JavaScript off, signing out and in again; on a members-only chat."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import expect

from tests.e2e.conftest import WAIT, LiveServer, Person

SERVER_ENV = {"ACCESS": "members"}
PASSWORD = "correct horse battery"


def setup_link(server: LiveServer) -> str:
    server.wait_for_log(r"/setup/\S+", 1)
    found = re.search(r"/setup/(\S+)", server.log())
    assert found is not None
    return f"{server.url}/setup/{found.group(1)}"


def fill_and_send(person: Person, fields: dict[str, str], button: str) -> None:
    for label, value in fields.items():
        person.page.get_by_label(label, exact=True).fill(value)
    with person.page.expect_navigation(timeout=WAIT):
        person.page.get_by_role("button", name=button).click()


def test_an_invited_person_joins_without_javascript_and_is_known_by_name(
    people: Callable[..., Person], live_server: LiveServer
) -> None:
    ada = people(None)
    ada.page.goto(f"{live_server.url}/")
    expect(ada.page).to_have_url(re.compile(r"/signin\?next=/$"))  # members only: nothing without signing in
    ada.screenshot("20-sign-in")

    ada.page.goto(setup_link(live_server))
    fill_and_send(ada, {"Name": "Ada", "Password (8 or more characters)": PASSWORD}, "Make the administrator")
    expect(ada.page.locator("header .account")).to_contain_text("Ada")

    ada.page.goto(f"{live_server.url}/admin")
    ada.page.get_by_role("button", name="Make an invite link").click()
    link = ada.page.locator("input.secret").input_value()
    assert "/join/" in link
    ada.screenshot("21-admin", full_page=True)

    eve = people(None, java_script_enabled=False)
    eve.page.goto(link)
    expect(eve.page.get_by_label("Invite", exact=True)).not_to_have_value("")
    eve.screenshot("22-join")
    fill_and_send(eve, {"Name": "Eve", "Password (8 or more characters)": PASSWORD}, "Make my account")
    expect(eve.page.locator("header .account")).to_contain_text("Eve")

    ada.enter("lobby")
    eve.input.fill("Hello, I was invited.")
    with eve.page.expect_navigation(timeout=WAIT):
        eve.send()  # the message box is a textarea: Enter makes a new line
    ada.sees("Hello, I was invited.")
    said = ada.page.locator("#messages li", has_text="Hello, I was invited.")
    expect(said.locator(".author")).to_have_text("Eve")
    expect(said.locator(".guest")).to_have_count(0)
    expect(said.locator(".avatar")).to_have_text("EV")
    ada.screenshot("23-room-signed-in")

    with eve.page.expect_navigation(timeout=WAIT):
        eve.page.get_by_role("button", name="Sign out").click()
    expect(eve.page).to_have_url(re.compile(r"/signin"))
    fill_and_send(eve, {"Name": "eve", "Password": "not the password"}, "Sign in")
    expect(eve.page.locator("#form-error")).to_contain_text("do not match")
    fill_and_send(eve, {"Name": "eve", "Password": PASSWORD}, "Sign in")
    expect(eve.page.locator("header .account")).to_contain_text("Eve")
    assert ada.errors == []
    assert [e for e in eve.errors if "status of 401" not in e] == []  # the wrong password's answer, logged


def test_the_pages_at_phone_width(people: Callable[..., Person], live_server: LiveServer) -> None:
    phone = people(None, viewport={"width": 360, "height": 740})
    phone.page.goto(f"{live_server.url}/signin")
    expect(phone.page.get_by_role("button", name="Sign in")).to_be_visible()
    width = phone.page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the sign-in page scrolls sideways on a phone: {width}px"
    phone.screenshot("24-sign-in-phone")
