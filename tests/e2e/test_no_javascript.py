"""With JavaScript turned off the room still works, by plain form posts and redirects."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import expect

from tests.e2e.conftest import WAIT, Person


def test_sending_works_without_javascript(people: Callable[..., Person]) -> None:
    alice = people("Alice", java_script_enabled=False)
    bob = people("Bob")
    bob.enter("plain")
    room_url = f"{alice.server.url}/rooms/plain"
    alice.page.goto(room_url)

    for text in ("Posting the old-fashioned way.", "Still works."):
        alice.input.fill(text)
        with (
            alice.page.expect_navigation(timeout=WAIT),
            alice.page.expect_response(lambda r: r.request.method == "POST") as posted,
        ):
            alice.send()
        assert posted.value.status == 303
        assert alice.page.url == room_url
        alice.sees(text)
        bob.sees(text)
        expect(alice.input).to_have_value("")

    assert alice.texts() == bob.texts() == ["Posting the old-fashioned way.", "Still works."]
    alice.screenshot("07-no-javascript")
    assert alice.errors == [] and bob.errors == []
