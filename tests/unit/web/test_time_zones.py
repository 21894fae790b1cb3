"""Each person reads times in their own zone: a setting, the clocks and day breaks in it, over every way in."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from starlette.testclient import TestClient

from chatroom.rooms.render import RenderedMessage
from chatroom.store import Message, to_us
from chatroom.time_zones import names
from tests.people import Session, page, say, session, sign_in, sign_up
from tests.unit.changes.test_replies import sse_replay
from tests.unit.conftest import Join
from tests.wire import recv, recv_chat

pytestmark = pytest.mark.timeout(30)
LATE = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)  # Tuesday evening in UTC; New York's afternoon, Tokyo's Wednesday
AFTER_MIDNIGHT = datetime(2026, 12, 2, 0, 10, tzinfo=UTC)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[datetime]]:
    """The times the next messages are stored at, in order."""
    times: list[datetime] = []
    monkeypatch.setattr("chatroom.store.group_commit.now_us", lambda: to_us(times.pop(0)))
    yield times


def in_zone(client: TestClient, who: Session, zone: str) -> Session:
    """`who`, having chosen `zone`: the headers of their session cookie as it is now."""
    client.cookies.clear()
    chosen = client.post("/profile/time-zone", data={"zone": zone, "next": "/"}, headers=who, follow_redirects=False)
    assert chosen.status_code == 303, chosen.text
    cookie = client.cookies.get("chatroom")
    client.cookies.clear()
    return {"cookie": f"chatroom={cookie}"} if cookie else who


def days(html: str) -> list[str]:
    return re.findall(r'<p class="day" role="separator"><time datetime="([^"]+)">', html)


def clocks(html: str) -> list[str]:
    return re.findall(r'<a class="permalink"[^>]*><time [^>]*>([0-9:]+)</time>', html)


def test_a_message_near_midnight_is_on_another_day_in_another_zone(client: TestClient, clock: list[datetime]) -> None:
    alice = session(client, "alice")
    clock += [LATE, AFTER_MIDNIGHT]
    say(client, "late", who=alice)
    say(client, "later", who=alice)
    utc = page(client, "/", alice)
    assert days(utc) == ["2026-12-01", "2026-12-02"] and clocks(utc) == ["23:30", "00:10"]
    assert 'Times in <a href="/profile/time-zone?next=/"' in utc and ">UTC</a>" in utc  # the zone is named
    new_york = page(client, "/", in_zone(client, alice, "America/New_York"))
    assert days(new_york) == ["2026-12-01"] and clocks(new_york) == ["18:30", "19:10"]
    assert ">Tuesday, 1 December 2026</time>" in new_york and ">America/New_York</a>" in new_york
    tokyo = page(client, "/", in_zone(client, alice, "Asia/Tokyo"))
    assert days(tokyo) == ["2026-12-02"] and clocks(tokyo) == ["08:30", "09:10"]
    assert 'title="2026-12-02 08:30 Asia/Tokyo"' in tokyo
    assert '<time datetime="2026-12-01T23:30:00Z"' in tokyo  # machines still read UTC


def test_two_viewers_in_two_zones_each_get_their_own_times_over_the_socket(
    client: TestClient, join: Join, clock: list[datetime]
) -> None:
    clock += [LATE, AFTER_MIDNIGHT]
    say(client, "before", who=session(client, "carol"))
    tokyo = in_zone(client, session(client, "alice"), "Asia/Tokyo")
    new_york = in_zone(client, session(client, "bob"), "America/New_York")
    with (
        client.websocket_connect("/rooms/lobby/ws", headers=tokyo) as at_alice,
        client.websocket_connect("/rooms/lobby/ws", headers=new_york) as at_bob,
    ):
        assert clocks(recv(at_alice)) == ["08:30"] and clocks(recv(at_bob)) == ["18:30"]  # the snapshots
        say(client, "after midnight", who=session(client, "carol"))
        seen_by_alice, seen_by_bob = recv_chat(at_alice), recv_chat(at_bob)
    assert clocks(seen_by_alice) == ["09:10"] and days(seen_by_alice) == []  # the same day as the one before
    assert clocks(seen_by_bob) == ["19:10"] and days(seen_by_bob) == []
    with client.websocket_connect("/rooms/lobby/ws") as at_someone_in_utc:
        assert clocks(recv(at_someone_in_utc)) == ["23:30", "00:10"]


def test_the_sse_stream_and_the_older_pages_read_times_in_the_viewers_zone(
    client: TestClient, clock: list[datetime]
) -> None:
    clock += [LATE, AFTER_MIDNIGHT]
    carol = in_zone(client, session(client, "carol"), "Asia/Kolkata")
    say(client, "one", who=carol)
    say(client, "two", who=carol)
    client.cookies.clear()
    client.headers.update(carol)
    try:
        assert clocks(sse_replay(client, "0", "id: 2")) == ["05:00", "05:40"]
        assert clocks(client.get("/rooms/lobby/messages?before=3").text) == ["05:00", "05:40"]
        assert clocks(client.get("/rooms/lobby?around=1").text) == ["05:00", "05:40"]
    finally:
        del client.headers["cookie"]


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "../../etc/passwd", "utc", "", "Europe/Paris" * 10])
def test_a_zone_that_is_not_one_of_the_list_is_refused_with_the_reason(client: TestClient, zone: str) -> None:
    alice = session(client, "alice")
    answer = client.post("/profile/time-zone", data={"zone": zone}, headers=alice)
    client.cookies.clear()
    assert answer.status_code == 422
    assert "Choose a time zone from the list, such as Europe/Paris or UTC." in answer.text


def test_the_setting_is_a_select_of_every_zone_and_goes_back_only_to_this_site(client: TestClient) -> None:
    alice = session(client, "alice")
    form = page(client, "/profile/time-zone?next=/rooms/dev", alice)
    assert len(re.findall(r"<option", form)) == len(names()) > 300
    assert "<option selected>UTC</option>" in form and '<select id="zone" name="zone"' in form
    assert 'name="next" value="/rooms/dev"' in form
    chosen = client.post(
        "/profile/time-zone", data={"zone": "Europe/Paris", "next": "https://evil.example/"}, headers=alice
    )
    client.cookies.clear()
    assert chosen.status_code == 200 and chosen.url.path == "/"  # followed back home, not away


def test_an_account_keeps_its_zone_in_every_new_session(client: TestClient) -> None:
    ada = sign_up(client, "Ada")
    in_zone(client, ada, "Pacific/Auckland")
    again = sign_in(client, "Ada")
    assert ">Pacific/Auckland</a>" in page(client, "/", again)


def test_a_message_is_rendered_once_for_each_zone_its_viewers_use() -> None:
    from chatroom.rooms.render import Fragments
    from chatroom.web.templating import template_environment

    calls: list[str] = []

    class Counting(Fragments):
        def message(
            self, message: Message, previous: Message | None = None, oob: bool = False, zone: str = "UTC"
        ) -> str:
            calls.append(zone)
            return super().message(message, previous, oob, zone)

    rendered = RenderedMessage(Message("lobby", 1, "ann", "u1", "hi", LATE), Counting(template_environment()))
    frames = [rendered.html_in(zone) for zone in ("UTC", "Asia/Tokyo", "Asia/Tokyo", "UTC", "America/New_York")]
    assert calls == ["UTC", "Asia/Tokyo", "America/New_York"]
    assert frames[1] is frames[2] and "08:30" in frames[1] and "18:30" in frames[4]
