"""A reload shows the history; "load older" brings earlier messages above without moving the reader."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Locator, expect

from tests.e2e.conftest import WAIT, LiveServer, Person

SERVER_ENV = {"HISTORY_LIMIT": "5"}


def test_reload_shows_history_and_load_older_keeps_the_place(
    people: Callable[..., Person], live_server: LiveServer
) -> None:
    earlier = [f"earlier message {n:02}" for n in range(1, 13)]
    live_server.say("history", *earlier, name="Carol")
    alice = people("Alice", viewport={"width": 900, "height": 480})
    alice.enter("history")
    alice.say("and one from Alice")
    alice.sees("and one from Alice")

    served = alice.page.request.get(alice.page.url).text()  # the page as rendered, before any live snapshot
    assert served.count('<li id="msg-') == 5 and "&lt;li" not in served
    alice.reload()
    expect(alice.messages).to_have_count(5, timeout=WAIT)
    assert alice.texts() == [*earlier[-4:], "and one from Alice"]
    expect(alice.messages.first.locator(".author")).to_be_visible()
    older = alice.page.locator(".history li.older a")
    expect(older).to_have_count(1)

    for shown in (10, 13):
        older.scroll_into_view_if_needed()
        anchor = alice.messages.first
        anchor_id, place = anchor.get_attribute("id"), _place(anchor)
        older.click()
        expect(alice.messages).to_have_count(shown, timeout=WAIT)
        kept = alice.page.locator(f"#{anchor_id}")
        # It may shift by its author line, which folds away once its group continues from above; a lost place
        # (the list scrolled by what was inserted) would move it by five messages.
        assert abs(_place(kept) - place) <= 30, "the message being read moved when older ones arrived"
        expect(kept).to_be_in_viewport()

    assert alice.texts() == [*earlier, "and one from Alice"]
    ids = alice.message_ids()
    assert ids == sorted(set(ids), key=lambda i: int(i.removeprefix("msg-")))
    expect(alice.page.locator(".history li.older")).to_have_count(0)
    alice.messages.first.scroll_into_view_if_needed()
    alice.screenshot("03-history-loaded-older")
    assert alice.errors == []


def test_without_javascript_load_older_opens_the_earlier_page(
    people: Callable[..., Person], live_server: LiveServer
) -> None:
    said = [f"archived message {n:02}" for n in range(1, 13)]
    live_server.say("archive", *said, name="Carol")
    alice = people("Alice", java_script_enabled=False)
    alice.page.goto(f"{alice.server.url}/rooms/archive")
    assert alice.texts() == said[-5:]
    alice.page.locator(".history li.older a").click()
    alice.page.wait_for_url("**/rooms/archive?before=*", timeout=WAIT)
    assert alice.texts() == said[-10:-5]
    expect(alice.messages.first.locator(".author")).to_have_text("Carol")  # a page starts by saying who talks
    expect(alice.messages.first.locator(".author")).to_be_visible()
    expect(alice.page.get_by_role("link", name="Back to the latest")).to_be_visible()
    alice.screenshot("03-history-no-javascript-archive")


def _place(message: Locator) -> float:
    """Where a message's text sits in the list's window, from its bottom edge (the edge column-reverse keeps)."""
    place: float = message.evaluate(
        "m => m.closest('.scroller').getBoundingClientRect().bottom"
        " - m.querySelector('.text').getBoundingClientRect().top"
    )
    return place
