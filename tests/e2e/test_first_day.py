"""A first day without surprises: the connection says what it is, nothing typed is lost, a reconnect keeps
what was loaded, and the page fits at every size in both colour schemes."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from playwright.sync_api import WebSocketRoute, expect

from tests.e2e.conftest import WAIT, LiveServer, Person, connects
from tests.integration.servers import ROOT

SERVER_ENV = {"HISTORY_LIMIT": "5"}
# The four window sizes, and 1280 x 800 at 200 % zoom (640 x 400 CSS pixels).
SIZES = [(360, 740), (768, 1024), (1280, 800), (1920, 1080), (640, 400)]
OUTAGE = re.compile(r"net::ERR_CONNECTION_REFUSED|htmx:ws:error")


class HeldSocket:
    """Stands between the page and the server's htmx socket; while `hold`, the server's frames wait here.

    Test-only: it makes the server's reply arrive late, as on a slow network, without slowing the server.
    """

    def __init__(self) -> None:
        self.hold = False
        self.held: list[str | bytes] = []
        self.page_side: WebSocketRoute | None = None

    def route(self, ws: WebSocketRoute) -> None:
        self.page_side = ws
        server = ws.connect_to_server()
        ws.on_message(server.send)
        server.on_message(self._from_server)

    def _from_server(self, frame: str | bytes) -> None:
        if self.hold:
            self.held.append(frame)
        elif self.page_side is not None:
            self.page_side.send(frame)

    def release(self) -> None:
        self.hold = False
        assert self.page_side is not None
        for frame in self.held:
            self.page_side.send(frame)
        self.held.clear()


def test_keystrokes_typed_right_after_sending_are_kept(people: Callable[..., Person]) -> None:
    alice = people("Alice")
    held = HeldSocket()
    alice.page.route_web_socket(re.compile(r"/rooms/keys/ws"), held.route)
    alice.enter("keys")
    expect(alice.page.locator("#connection")).to_have_text("Live")

    for n in range(3):
        held.hold = True  # the server's echo and its reply to the sender arrive after the next keystrokes
        alice.input.fill(f"sent {n}\nwith a second line")
        alice.send()
        expect(alice.input).to_be_focused()  # the page takes the box back at once, without the server
        expect(alice.input).to_have_value("")
        alice.page.keyboard.type(f"typed right after {n}")
        deadline = time.monotonic() + WAIT / 1000  # on a loaded machine the reply may come after the typing
        while not held.held and time.monotonic() < deadline:
            alice.page.wait_for_timeout(50)
        assert held.held, "the reply was held back until after the typing"
        held.release()
        alice.sees(f"sent {n}")
        expect(alice.page.locator("#errors")).to_have_text("")
        expect(alice.input).to_have_value(f"typed right after {n}")  # the reply did not take it away
        alice.input.fill("")
    expect(alice.page.locator("#messages .text").last).to_have_text("sent 2\nwith a second line")
    assert alice.errors == []


def test_an_outage_shows_at_once_keeps_what_is_sent_and_is_over_soon_after(
    people: Callable[..., Person], own_server: LiveServer
) -> None:
    alice, bob = people("Alice", own_server), people("Bob", own_server)
    alice.enter("outage")
    bob.enter("outage")
    connection = alice.page.locator("#connection")
    expect(connection).to_have_text("Live")
    expect(alice.page.locator("#members li")).to_have_count(2)

    own_server.stop()
    expect(connection).to_have_class(re.compile(r"\boffline\b"), timeout=1_000)
    expect(connection).to_contain_text("reconnecting")
    expect(alice.page.locator("#members")).to_be_hidden()  # not a list of people who may have gone
    expect(alice.page.locator(".people-unknown")).to_be_visible()
    alice.screenshot("40-outage")
    alice.say("written while the server was down")
    expect(alice.input).to_have_value("")  # it waits in htmx's queue, and the line above says so
    time.sleep(3)  # a few seconds down: htmx's own backoff would be at 4 s by now

    own_server.start()
    back = time.monotonic()
    expect(connection).to_have_text("Live", timeout=5_000)
    took = time.monotonic() - back
    assert took < 2.5, f"live again {took:.2f} s after the server was back"
    for person in (alice, bob):
        person.sees("written while the server was down")
    expect(alice.page.locator("#members li")).to_have_count(2, timeout=WAIT)
    unexpected = [e for e in alice.errors if not OUTAGE.search(e)]
    assert unexpected == []


def test_the_sse_page_shows_an_outage_and_says_when_a_send_failed(
    people: Callable[..., Person], own_server: LiveServer
) -> None:
    alice = people("Alice", own_server)
    alice.enter("outage-sse", transport="sse")
    connection = alice.page.locator("#connection")
    expect(connection).to_have_text("Live")
    own_server.stop()
    expect(connection).to_have_class(re.compile(r"\boffline\b"), timeout=WAIT)
    alice.say("not delivered")
    expect(alice.page.locator("#errors")).to_contain_text("Not sent")
    expect(alice.input).to_have_value("not delivered")  # the text stays, to send again
    own_server.start()
    expect(connection).to_have_text("Live", timeout=5_000)
    alice.send()
    alice.sees("not delivered")
    expect(alice.page.locator("#errors")).to_have_text("")


def test_a_reconnect_keeps_the_older_pages_a_reader_loaded(
    people: Callable[..., Person], own_server: LiveServer
) -> None:
    said = [f"history {n:02}" for n in range(1, 16)]
    own_server.say("keeps", *said, name="Carol")
    alice = people("Alice", own_server, viewport={"width": 900, "height": 600})
    alice.enter("keeps")
    expect(alice.messages).to_have_count(5)
    alice.page.locator(".history li.older a").click()
    expect(alice.messages).to_have_count(10)
    alice.page.locator(".history li.older a").click()
    expect(alice.messages).to_have_count(15)

    own_server.restart()  # every socket closes with 1012, and htmx reconnects
    own_server.say("keeps", "while it restarted", name="Carol")
    own_server.wait_for_log(connects("htmx", "keeps"), 2, timeout=20)
    alice.sees("while it restarted")
    assert alice.texts() == [*said, "while it restarted"], "the pages loaded before the reconnect are still there"
    ids = alice.message_ids()
    assert ids == [f"msg-{n}" for n in range(1, 17)]
    assert alice.errors == [] or all(OUTAGE.search(e) for e in alice.errors)


def test_a_permalink_page_has_no_composer(people: Callable[..., Person], live_server: LiveServer) -> None:
    seqs = live_server.say("linked", *[f"linked {n}" for n in range(1, 9)], name="Carol")
    alice = people("Alice")
    alice.page.goto(f"{live_server.url}/rooms/linked?around={seqs[3]}#msg-{seqs[3]}")
    expect(alice.page.locator(f"#msg-{seqs[3]}")).to_be_in_viewport()
    expect(alice.page.locator("#send-form")).to_have_count(0)
    expect(alice.page.locator("#msg-input")).to_have_count(0)
    expect(alice.page.get_by_role("link", name="Back to the latest")).to_be_visible()
    expect(alice.page.locator(".skip-link")).to_have_attribute("href", "#messages")
    alice.screenshot("41-permalink")


def test_a_refused_room_name_is_shown_and_focused_beside_its_field(
    people: Callable[..., Person], live_server: LiveServer
) -> None:
    for n in range(30):
        live_server.say(f"room-{n:02}", "hello", name="Carol")
    alice = people("Alice", viewport={"width": 1280, "height": 800})
    alice.enter("lobby")
    room_name = alice.page.locator("#room-name")
    room_name.fill("Design Team")
    with alice.page.expect_response(lambda r: r.request.method == "POST") as posted:
        room_name.press("Enter")
    assert posted.value.status == 422
    reason = alice.page.locator("#room-error")
    expect(reason).to_be_in_viewport(ratio=1)
    expect(room_name).to_be_focused()
    expect(room_name).to_have_attribute("aria-describedby", "room-error")
    expect(alice.input).not_to_be_focused()
    _fits(alice, 1280, 800)
    alice.screenshot("42-room-name-refused")


def test_the_room_fits_every_size_in_light_and_dark(people: Callable[..., Person], live_server: LiveServer) -> None:
    live_server.say("sizes", *[f"line {n}\nwith a second line" for n in range(1, 30)], name="Carol")
    for n in range(30):
        live_server.say(f"team-{n:02}", "hi", name="Carol")
    for scheme in ("light", "dark"):
        for width, height in SIZES:
            person = people(None, viewport={"width": width, "height": height}, color_scheme=scheme)
            person.enter("sizes")
            expect(person.page.locator("#connection")).to_have_text("Live")
            _fits(person, width, height)
            rooms = person.page.locator(".rooms")
            if width <= 640:  # phones and 200 % zoom: the list is folded, the conversation first
                expect(rooms).not_to_have_attribute("open", "")
                expect(person.page.locator("#room-list")).to_be_hidden()
            else:
                expect(person.page.locator("#room-list")).to_be_visible()
                scroll = person.page.locator(".room-list-scroll")
                assert scroll.evaluate("s => s.scrollHeight > s.clientHeight"), "30 rooms scroll in their own box"
                expect(person.page.locator("#room-name")).to_be_in_viewport(ratio=1)
            person.screenshot(f"43-room-{scheme}-{width}x{height}")
            assert person.errors == []


def test_error_pages_follow_the_colour_scheme(people: Callable[..., Person], live_server: LiveServer) -> None:
    for scheme in ("light", "dark"):
        person = people(None, color_scheme=scheme)
        person.page.goto(f"{live_server.url}/rooms/No_Such!")
        background = person.page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == ("rgb(246, 247, 249)" if scheme == "light" else "rgb(18, 21, 27)")
        expect(person.page.locator(".skip-link")).to_have_attribute("href", "#main")
        person.screenshot(f"44-error-{scheme}")


def _fits(person: Person, width: int, height: int) -> None:
    """Nothing scrolls but the conversation and the room list: the page itself fits the window."""
    page = person.page
    sizes: dict[str, Any] = page.evaluate("""() => ({
      width: document.documentElement.scrollWidth, height: document.documentElement.scrollHeight,
      scrolled: document.scrollingElement.scrollTop + document.body.scrollTop,
    })""")
    assert sizes["width"] <= width and sizes["height"] <= height and sizes["scrolled"] == 0, sizes
    expect(person.input).to_be_in_viewport(ratio=1)
    expect(person.send_button).to_be_in_viewport(ratio=1)
    expect(person.page.locator("#connection")).to_be_in_viewport()


AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"  # from npm (devDependencies), for tests only


def test_no_serious_accessibility_violations_in_either_scheme(people: Callable[..., Person]) -> None:
    for scheme in ("light", "dark"):
        # The page's CSP admits no inline script; the test's own checker is let in by the browser context alone.
        alice = people("Alice", color_scheme=scheme, bypass_csp=True)
        alice.enter(f"axe-{scheme}")
        alice.say("checked by axe-core")
        alice.sees("checked by axe-core")
        alice.page.add_script_tag(path=str(AXE))
        results = alice.page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        serious = [
            (v["id"], [n["target"] for n in v["nodes"]][:3])
            for v in results["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert serious == [], serious


def test_muted_text_and_focus_rings_meet_wcag_contrast_in_both_schemes(people: Callable[..., Person]) -> None:
    for scheme in ("light", "dark"):
        alice = people("Alice", color_scheme=scheme)
        alice.enter("contrast")
        colours: dict[str, str] = alice.page.evaluate(
            "() => Object.fromEntries(['muted', 'panel', 'bg', 'mine-bg', 'target-bg', 'mention-bg', 'focus', 'line',"
            " 'ink', 'accent', 'error', 'error-bg'].map(n => [n,"
            " getComputedStyle(document.documentElement).getPropertyValue('--' + n).trim()]))"
        )
        for text, on, least in [
            ("muted", "panel", 4.5),
            ("muted", "bg", 4.5),
            ("muted", "mine-bg", 4.5),
            ("muted", "target-bg", 4.5),
            ("ink", "mention-bg", 4.5),
            ("accent", "panel", 4.5),
            ("accent", "mine-bg", 4.5),
            ("error", "bg", 4.5),
            ("error", "error-bg", 4.5),
            ("focus", "panel", 3),
            ("focus", "bg", 3),
            ("focus", "mine-bg", 3),
        ]:
            ratio = _contrast(colours[text], colours[on])
            assert ratio >= least, f"{scheme}: --{text} on --{on} is {ratio:.2f}:1, needs {least}:1"


def _contrast(a: str, b: str) -> float:
    def luminance(colour: str) -> float:
        hex_ = colour.lstrip("#")
        hex_ = "".join(c * 2 for c in hex_) if len(hex_) == 3 else hex_
        channels = [int(hex_[i : i + 2], 16) / 255 for i in (0, 2, 4)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)
