"""A labelled message box, a skip link to it, sending by keyboard alone, and no sideways scroll at 375 px."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import expect

from tests.e2e.conftest import WAIT, Person

PHONE = {"width": 375, "height": 740}
LONG_ROOM = "a-room-with-a-rather-long-name-that-goes-on-and-on"
UNBROKEN = "https://example.invalid/" + "very-long-path-without-spaces/" * 8
FOCUSABLE = "a[href], button, input, textarea, select, summary, [tabindex]"


def test_the_room_is_usable_by_keyboard_and_on_a_narrow_phone(people: Callable[..., Person]) -> None:
    bart = people("Bartholomew Featherstonehaugh-Jr", viewport=PHONE)
    bart.enter(LONG_ROOM)
    page = bart.page

    box = page.get_by_role("textbox", name="Message", exact=True)
    expect(box).to_have_id("msg-input")
    expect(page.locator("#heard")).to_have_attribute("aria-live", "polite")
    expect(page.locator("#messages")).not_to_have_attribute("aria-live", "polite")  # a snapshot is not news

    # From the top of the page: the first Tab stop is the skip link, and it leads to the message box.
    first = page.evaluate(
        f"() => [...document.querySelectorAll({FOCUSABLE!r})].find(e => e.offsetParent !== null"
        " || getComputedStyle(e).position === 'absolute').className"
    )
    assert first == "skip-link"
    page.locator(".skip-link").focus()
    expect(page.locator(".skip-link")).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(box).to_be_focused()
    for text in ("Typed with the keyboard alone.\nAnd a second line.", UNBROKEN):
        page.keyboard.type(text.split("\n")[0])
        if "\n" in text:
            page.keyboard.press("Enter")  # Enter makes a new line; Send sends
            page.keyboard.type(text.split("\n")[1])
        page.keyboard.press("Tab")
        expect(bart.send_button).to_be_focused()
        page.keyboard.press("Enter")
        bart.sees(text.split("\n")[0])
        expect(box).to_have_value("", timeout=WAIT)
        expect(box).to_be_focused()
    expect(bart.page.locator("#messages .text").first).to_have_text(
        "Typed with the keyboard alone.\nAnd a second line."
    )

    widths = page.evaluate("""() => ({
      page: document.documentElement.scrollWidth,
      list: document.querySelector('.scroller').scrollWidth - document.querySelector('.scroller').clientWidth,
    })""")
    assert widths["page"] <= PHONE["width"], widths
    assert widths["list"] <= 0, widths
    page.locator(".rooms > summary").click()  # the room list folds on a phone
    send, files = "#send-form button:visible:not(.upload)", "#send-form input[type=file]"
    for element in ("#msg-input", send, files, "#send-form .upload", "#display-name", "#room-name", "#search-q"):
        box_of = page.locator(element).bounding_box()
        assert box_of is not None and box_of["x"] >= 0 and box_of["x"] + box_of["width"] <= PHONE["width"], element
    bart.screenshot("10-phone-375px")
    assert bart.errors == []
