"""An over-long message is refused to its sender alone, and the typed text stays for fixing."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import WAIT, Person

SERVER_ENV = {"MAX_MESSAGE_LENGTH": "20"}
TOO_LONG = "this message is far too long for the room"


@pytest.mark.parametrize("transport", ["ws", "sse"])
def test_an_over_long_message_is_refused_to_the_sender_only(people: Callable[..., Person], transport: str) -> None:
    room = f"limits-{transport}"
    alice, bob = people("Alice"), people("Bob")
    alice.enter(room, transport)
    bob.enter(room, transport)

    alice.say(TOO_LONG)
    error = alice.page.locator("#errors")
    expect(error).to_contain_text("at most 20 characters", timeout=WAIT)
    expect(error).to_be_visible()
    expect(alice.input).to_have_value(TOO_LONG)
    alice.screenshot(f"08-too-long-{transport}")

    alice.input.fill("short enough")
    alice.send()
    for person in (alice, bob):
        person.sees("short enough")
        assert person.texts() == ["short enough"], "the refused text must not reach anyone"
    expect(error).to_have_text("", timeout=WAIT)
    expect(alice.input).to_have_value("")
    expect(bob.page.locator("#errors")).to_have_text("")
    # Chromium logs every 4xx response; the 422 that carries the refusal is the contract, not a fault.
    refusal = f"status of 422 (Unprocessable Entity) at {alice.server.url}/rooms/{room}/messages"
    assert [e for e in alice.errors if transport != "sse" or refusal not in e] == []
    assert bob.errors == []


def test_without_javascript_an_over_long_message_comes_back_with_the_reason(people: Callable[..., Person]) -> None:
    alice = people("Alice", java_script_enabled=False)
    alice.page.goto(f"{alice.server.url}/rooms/limits-plain")
    alice.input.fill(TOO_LONG)
    with alice.page.expect_response(lambda r: r.request.method == "POST") as posted:
        alice.send()
    assert posted.value.status == 422
    expect(alice.page.locator("#errors")).to_contain_text("at most 20 characters", timeout=WAIT)
    expect(alice.input).to_have_value(TOO_LONG)
    expect(alice.messages).to_have_count(0)
    alice.screenshot("08-too-long-no-javascript")
