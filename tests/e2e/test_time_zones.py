"""A person chooses their time zone in Chromium, and reads the room's times in it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from playwright.sync_api import expect

from tests.e2e.conftest import WAIT, LiveServer, Person


def test_choose_a_time_zone_and_read_times_in_it(people: Callable[..., Person], live_server: LiveServer) -> None:
    live_server.say("zones", "What time is it there?", name="Dave")
    erin = people("Erin")
    erin.enter("zones")
    zone_link = erin.page.locator(".room-head .zone a")
    expect(zone_link).to_have_text("UTC")
    time = erin.page.locator("#messages li.msg .permalink time")
    sent_at = datetime.fromisoformat(str(time.get_attribute("datetime")).replace("Z", "+00:00"))
    expect(time).to_have_text(sent_at.strftime("%H:%M"))

    with erin.page.expect_navigation(timeout=WAIT):
        zone_link.click()
    erin.page.get_by_label("Time zone").select_option("Asia/Tokyo")
    erin.screenshot("50-choosing-a-time-zone")
    with erin.page.expect_navigation(timeout=WAIT):
        erin.page.locator("#main").get_by_role("button", name="Save").click()
    assert erin.page.url.endswith("/rooms/zones")
    expect(zone_link).to_have_text("Asia/Tokyo")
    expect(time).to_have_text((sent_at + timedelta(hours=9)).strftime("%H:%M"))
    erin.say("It is morning here")  # live: the new message's time is in Tokyo's too
    mine = erin.page.locator("#messages li.msg", has_text="It is morning here").locator(".permalink time")
    mine_at = datetime.fromisoformat(str(mine.get_attribute("datetime")).replace("Z", "+00:00"))
    expect(mine).to_have_text((mine_at + timedelta(hours=9)).strftime("%H:%M"))
    erin.screenshot("51-times-in-tokyo")
    assert erin.errors == []
