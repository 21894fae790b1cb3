"""A labelled message box, a live region, sending by keyboard alone, and no sideways scroll at 375 px."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import expect

from tests.e2e.conftest import WAIT, Person

PHONE = {"width": 375, "height": 740}
LONG_ROOM = "a-room-with-a-rather-long-name-that-goes-on-and-on"
UNBROKEN = "https://example.invalid/" + "very-long-path-without-spaces/" * 8


def test_the_room_is_usable_by_keyboard_and_on_a_narrow_phone(people: Callable[..., Person]) -> None:
    bart = people("Bartholomew Featherstonehaugh-Jr", viewport=PHONE)
    bart.enter(LONG_ROOM)
    page = bart.page

    box = page.get_by_role("textbox", name="Message", exact=True)
    expect(box).to_have_id("msg-input")
    expect(page.locator("#messages")).to_have_attribute("aria-live", "polite")

    page.evaluate("document.activeElement && document.activeElement.blur()")
    for _ in range(30):
        if page.evaluate("document.activeElement && document.activeElement.id") == "msg-input":
            break
        page.keyboard.press("Tab")
    expect(box).to_be_focused()
    for text in ("Typed with the keyboard alone.", UNBROKEN):
        page.keyboard.type(text)
        page.keyboard.press("Enter")
        bart.sees(text)
        expect(box).to_have_value("", timeout=WAIT)
        expect(box).to_be_focused()

    widths = page.evaluate("""() => ({
      page: document.documentElement.scrollWidth,
      list: document.querySelector('.scroller').scrollWidth - document.querySelector('.scroller').clientWidth,
    })""")
    assert widths["page"] <= PHONE["width"], widths
    assert widths["list"] <= 0, widths
    for element in ("#msg-input", "form#send-form button", "#display-name", "#room-name"):
        box_of = page.locator(element).bounding_box()
        assert box_of is not None and box_of["x"] >= 0 and box_of["x"] + box_of["width"] <= PHONE["width"], element
    bart.screenshot("10-phone-375px", full_page=True)
    assert bart.errors == []
