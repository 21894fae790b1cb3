"""A restart and a background tab lose nothing and double nothing."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import WAIT, LiveServer, Person, connects

# What the browser and htmx log while the server is down; anything else in the console is a fault.
OUTAGE = re.compile(r"net::ERR_CONNECTION_REFUSED|net::ERR_INCOMPLETE_CHUNKED_ENCODING|htmx:(ws|sse):error")
HIDE = """hidden => {
  Object.defineProperty(document, 'hidden', {configurable: true, get: () => hidden});
  Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => hidden ? 'hidden' : 'visible'});
  document.dispatchEvent(new Event('visibilitychange'));
}"""  # test-only: Playwright keeps every page visible, so the test fakes a background tab


@pytest.mark.parametrize("transport", ["ws", "sse"])
def test_a_restart_loses_nothing_and_doubles_nothing(
    people: Callable[..., Person], own_server: LiveServer, transport: str
) -> None:
    kind = "sse" if transport == "sse" else "htmx"
    alice = people("Alice", own_server)
    alice.enter("deploys", transport)
    alice.say("before the deploy")
    alice.sees("before the deploy")
    own_server.say("deploys", "bot: deploy starting", name="Deploybot")
    alice.sees("bot: deploy starting")
    alice.page.evaluate("window.notReloaded = true")  # test-only marker: a reload would drop it

    own_server.restart()
    during = [f"bot: step {n} done" for n in range(1, 4)]
    own_server.say("deploys", *during, name="Deploybot")
    own_server.wait_for_log(connects(kind, "deploys"), 2, timeout=20)

    for text in during:
        alice.sees(text)
    alice.say("after the deploy")
    alice.sees("after the deploy")
    expected = ["before the deploy", "bot: deploy starting", *during, "after the deploy"]
    expect(alice.messages).to_have_count(len(expected), timeout=WAIT)
    assert alice.texts() == expected
    ids = alice.message_ids()
    assert len(set(ids)) == len(ids), ids
    assert alice.page.evaluate("window.notReloaded") is True
    assert own_server.count(connects(kind, "deploys")) == 2, "one connect before the restart, one after"
    if transport == "sse":
        resumed = re.findall(r"connect transport=sse room=deploys .* last-event-id='(\d*)'", own_server.log())
        assert resumed[-1] == ids[1].removeprefix("msg-"), "the stream should resume from the last message it had"
    alice.screenshot(f"04-restart-{transport}")
    unexpected = [e for e in alice.errors if not OUTAGE.search(e)]
    assert unexpected == [], "only the outage itself may show in the console"


def test_a_background_tab_catches_up_once_visible(people: Callable[..., Person], live_server: LiveServer) -> None:
    alice = people("Alice")
    alice.enter("background")
    alice.say("still here")
    alice.sees("still here")
    connected = live_server.count(connects("htmx", "background"))

    alice.page.evaluate(HIDE, True)
    live_server.wait_for_log(r"disconnect transport=htmx room=background ", 1)
    missed = [f"while you were away {n}" for n in range(1, 4)]
    live_server.say("background", *missed, name="Bob")
    assert alice.texts() == ["still here"], "a hidden tab has no connection, so it cannot have them yet"

    alice.page.evaluate(HIDE, False)
    live_server.wait_for_log(connects("htmx", "background"), connected + 1)
    for text in missed:
        alice.sees(text)
    assert alice.texts() == ["still here", *missed]
    ids = alice.message_ids()
    assert len(set(ids)) == len(ids) == 4
    assert live_server.count(connects("htmx", "background")) == connected + 1
    assert alice.errors == []
    alice.screenshot("05-background-tab-caught-up")
