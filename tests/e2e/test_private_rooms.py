"""Private rooms and direct messages in Chromium: two people talk directly and a third cannot find it; a private
room is made, shared and read with JavaScript off."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import expect

from tests.e2e.conftest import WAIT, LiveServer, Person
from tests.e2e.test_first_day import AXE
from tests.people import PASSWORD

PHONE = {"width": 390, "height": 844}


def account(people: Callable[..., Person], name: str, **context_args: object) -> Person:
    person = people(None, **context_args)
    made = person.page.context.request.post(
        person.server.url + "/signup", form={"name": name, "password": PASSWORD}, max_redirects=0
    )
    assert made.status == 303, made.text()
    return person


def test_two_people_talk_directly_and_a_third_cannot_see_it(
    people: Callable[..., Person], live_server: LiveServer
) -> None:
    alice, bob = account(people, "Alice"), account(people, "Bob", color_scheme="dark")
    carol = account(people, "Carol", viewport=PHONE)
    before = live_server.count(r"\bconnect transport=htmx room=_")
    alice.page.goto(f"{live_server.url}/dm/Bob")
    room = alice.page.url.split("/rooms/", 1)[1]
    assert room.startswith("_")
    live_server.wait_for_log(r"\bconnect transport=htmx room=_", before + 1)
    bob.enter("lobby")
    alice.say("Just between us, Bob.")
    alice.sees("Just between us, Bob.")
    mine = bob.page.locator(f'#conversations li[data-room="{room}"]')
    expect(mine).to_contain_text("Alice", timeout=WAIT)  # live, in the lobby: his list, not the public one
    expect(bob.page.locator(f'#room-list li[data-room="{room}"]')).to_have_count(0)
    mine.locator("a").click()
    expect(bob.page).to_have_url(f"{live_server.url}/rooms/{room}")
    bob.sees("Just between us, Bob.")
    expect(bob.page.locator("h1")).to_have_text("@Alice")
    bob.say("Agreed.")
    alice.sees("Agreed.")

    answer = carol.page.goto(f"{live_server.url}/rooms/{room}")
    assert answer is not None and answer.status == 404
    expect(carol.page.locator("h1")).to_have_text("Not found")
    carol.screenshot("62-direct-message-not-found-phone")
    carol.page.goto(f"{live_server.url}/rooms/lobby")
    expect(carol.page.locator(f'[data-room="{room}"]')).to_have_count(0)
    expect(carol.page.locator("#conversations")).to_contain_text("No private rooms")
    carol.page.goto(f"{live_server.url}/search?q=between")
    expect(carol.page.get_by_text("Just between us")).to_have_count(0)

    alice.screenshot("60-direct-message")
    bob.screenshot("61-direct-message-dark")
    carol.screenshot("63-search-without-it-phone")
    assert alice.errors == [] and bob.errors == []
    assert [e for e in carol.errors if f"404 (Not Found) at {live_server.url}/rooms/{room}" not in e] == []


def test_a_private_room_is_made_shared_and_read_with_javascript_off(
    people: Callable[..., Person], live_server: LiveServer
) -> None:
    alice = account(people, "Ann", java_script_enabled=False)
    bob = account(people, "Ben", java_script_enabled=False, viewport=PHONE, color_scheme="dark")
    alice.page.goto(f"{live_server.url}/rooms/lobby")
    alice.page.locator("#room-name").fill("plans")
    alice.page.locator("input[name=private]").check()
    with alice.page.expect_navigation(timeout=WAIT):
        alice.page.locator(".new-room button", has_text="Go").click()
    room = alice.page.url.split("/rooms/", 1)[1]
    assert room.startswith("_") and alice.page.title() == "plans · chatroom"

    alice.page.locator("#member-name").fill("nobody")
    with alice.page.expect_navigation(timeout=WAIT):
        alice.page.locator(".add-member button").click()
    expect(alice.page.locator("#member-error")).to_have_text("Nobody has an account called nobody.")
    alice.page.locator("#member-name").fill("Ben")
    with alice.page.expect_navigation(timeout=WAIT):
        alice.page.locator(".add-member button").click()
    expect(alice.page.locator(".room-members")).to_contain_text("Ben")

    alice.input.fill("The plan, in private.")
    with alice.page.expect_navigation(timeout=WAIT):
        alice.send()
    alice.sees("The plan, in private.")
    alice.screenshot("64-private-room-no-javascript", full_page=True)

    bob.page.goto(f"{live_server.url}/rooms/lobby")
    bob.page.locator("summary", has_text="Rooms").click()
    bob.page.locator(f'#conversations a[href="/rooms/{room}"]').click()
    bob.sees("The plan, in private.")
    bob.screenshot("65-private-room-phone-dark")

    with bob.page.expect_navigation(timeout=WAIT):
        bob.page.locator(".leave-room button").click()
    answer = bob.page.goto(f"{live_server.url}/rooms/{room}")
    assert answer is not None and answer.status == 404
    # The refusals this test asked for (a name nobody has, a room left) are the browser's only complaints.
    assert [e for e in alice.errors if "422 (Unprocessable Entity)" not in e] == []
    assert [e for e in bob.errors if "404 (Not Found)" not in e] == []


def test_a_private_room_page_has_no_serious_accessibility_violations(
    people: Callable[..., Person], live_server: LiveServer
) -> None:
    for scheme in ("light", "dark"):
        account(people, f"Peer{scheme}")
        owner = account(people, f"Axe{scheme}", color_scheme=scheme, bypass_csp=True)
        owner.page.goto(f"{live_server.url}/dm/Peer{scheme}")  # a direct conversation in the list, then a private room
        owner.page.goto(f"{live_server.url}/rooms/lobby")
        owner.page.locator("#room-name").fill("checked")
        owner.page.locator("input[name=private]").check()
        with owner.page.expect_navigation(timeout=WAIT):
            owner.page.locator(".new-room button", has_text="Go").click()
        owner.say("checked by axe-core")
        owner.sees("checked by axe-core")
        owner.page.add_script_tag(path=str(AXE))
        results = owner.page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        serious = [
            (v["id"], [n["target"] for n in v["nodes"]][:3])
            for v in results["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert serious == [], serious
