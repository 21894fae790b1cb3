"""End-to-end fixtures: the real server (uvicorn subprocess) and people in Debian's headless Chromium.

A missing browser is a failure, never a skip: CI must not go green without having looked.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright
from websockets.sync.client import connect

from tests.integration.servers import ROOT, AppServer, procfile_flags

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
HTMX_VERSION = json.loads((ROOT / "node_modules" / "htmx.org" / "package.json").read_text())["version"]
# Rooms and people are fixed; everything else a test needs it says itself.
BASE_ENV = {
    "DATABASE_URL": "",
    "REDIS_URL": "",
    "BROADCAST_URL": "",
    "ALLOWED_ORIGINS": "",
    "SECRET_KEY": "e2e-secret",
    "RATE_LIMIT_PER_SECOND": "100",
    "RATE_LIMIT_BURST": "100",
    "RATE_LIMIT_PER_ADDRESS": "100",  # every browser comes from 127.0.0.1
}
# The conversation: older pages a reader loaded (#earlier), then the live list (#messages).
LISTS = ":is(#earlier, #messages)"
WAIT = 10_000  # ms: generous for a shared 2-core machine; a passing expectation returns at once
expect.set_options(timeout=WAIT)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install chromium` (never `playwright install`)", pytrace=False)
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": LAUNCH_ARGS}


@pytest.fixture(scope="package")
def chromium(browser_type_launch_args: dict[str, Any]) -> Iterator[Browser]:
    """One browser for the e2e tests, stopped after the last of them.

    Not pytest-playwright's session-wide `browser`: Playwright's sync API marks an asyncio loop as running in the
    main thread for as long as it lives, and every asyncio test collected after tests/e2e would then fail.
    """
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(**browser_type_launch_args)
        yield browser
        browser.close()


class LiveServer:
    """The app as the README and the Procfile run it (their uvicorn flags, the lean WebSocket protocol with them),
    plus what tests read from its log and say through the seed's JSON socket."""

    def __init__(self, env: dict[str, str], data_dir: Path) -> None:
        self.app = AppServer({**BASE_ENV, "DATA_DIR": str(data_dir), **env}, data_dir, procfile_flags())
        self.url = self.app.url
        self.ws_url = self.app.ws_url

    def start(self) -> None:
        self.app.start()

    def stop(self) -> None:
        self.app.stop()

    def restart(self) -> None:
        """SIGTERM, then a new process on the same port with the same data directory."""
        self.app.stop()
        self.app.start()

    def log(self) -> str:
        return self.app.log_path.read_text(errors="replace")

    def count(self, pattern: str) -> int:
        return len(re.findall(pattern, self.log()))

    def wait_for_log(self, pattern: str, at_least: int, timeout: float = WAIT / 1000) -> int:
        """Waits until `pattern` is in the server log `at_least` times: that count is how tests see reconnects."""
        deadline = time.monotonic() + timeout
        while (found := self.count(pattern)) < at_least:
            if time.monotonic() > deadline:
                raise AssertionError(f"{pattern!r} seen {found} times, expected {at_least}:\n{self.log()[-3000:]}")
            time.sleep(0.05)
        return found

    def say(self, room: str, *texts: str, name: str = "Bot") -> list[int]:
        """Sends through the seed's JSON socket; returns the stored messages' seqs once the room echoed them."""
        seqs: list[int] = []
        with connect(f"{self.ws_url}/ws/rooms/{room}/", open_timeout=10) as ws:
            assert json.loads(ws.recv(timeout=10))["type"] == "connection_established"
            for text in texts:
                ws.send(json.dumps({"message": text, "name": name}))
                while True:
                    frame = json.loads(ws.recv(timeout=10))
                    assert frame["type"] == "chat", frame
                    if frame["message"] == text and frame["author"] == name:
                        seqs.append(frame["id"])
                        break
        return seqs


def connects(transport: str, room: str) -> str:
    """The log line of one accepted htmx WebSocket or SSE stream in `room`."""
    return rf"\bconnect transport={transport} room={room} "


@pytest.fixture(scope="module")
def live_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server per test module; a module sets SERVER_ENV for its limits."""
    server = LiveServer(getattr(request.module, "SERVER_ENV", {}), tmp_path_factory.mktemp("data"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def own_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveServer]:
    """A server of the test's own, for tests that stop and restart it."""
    server = LiveServer(getattr(request.module, "SERVER_ENV", {}), tmp_path)
    server.start()
    yield server
    server.stop()


class Person:
    """One browser context: a person with a name, a cookie and one page; console errors are kept."""

    def __init__(self, page: Page, server: LiveServer) -> None:
        self.page = page
        self.server = server
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))
        page.on("dialog", self._dialog)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text} at {message.location.get('url')}")

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    @property
    def input(self) -> Any:
        return self.page.locator("#msg-input")

    @property
    def messages(self) -> Any:
        """Every message on screen: the older pages loaded into #earlier, then #messages (live)."""
        return self.page.locator(f"{LISTS} li[id^=msg-]")

    def name(self, name: str) -> None:
        response = self.page.context.request.post(self.server.url + "/profile", form={"name": name, "next": "/"})
        assert response.ok, f"POST /profile: {response.status}\n{self.server.log()[-3000:]}"

    def enter(self, room: str, transport: str = "ws") -> None:
        """Opens the room and waits until the server accepted this page's live connection."""
        kind = "sse" if transport == "sse" else "htmx"
        before = self.server.count(connects(kind, room))
        self.page.goto(f"{self.server.url}/rooms/{room}" + ("?transport=sse" if transport == "sse" else ""))
        self.server.wait_for_log(connects(kind, room), before + 1)

    def reload(self) -> None:
        """Reloads the page and waits until its new live connection was accepted."""
        url = self.page.url
        kind = "sse" if "transport=sse" in url else "htmx"
        room = url.split("/rooms/", 1)[1].split("?", 1)[0] if "/rooms/" in url else "lobby"
        before = self.server.count(connects(kind, room))
        self.page.reload()
        self.server.wait_for_log(connects(kind, room), before + 1)

    @property
    def send_button(self) -> Any:
        """Send (not "Send files"): the reset button with JavaScript, the plain submit button (<noscript>) without."""
        return self.page.locator("#send-form button:visible:not(.upload)")

    def send(self) -> None:
        self.send_button.click()

    def say(self, text: str) -> None:
        self.input.fill(text)
        self.send()

    def message_ids(self) -> list[str]:
        ids: list[str] = self.messages.evaluate_all("items => items.map(item => item.id)")
        return ids

    def texts(self) -> list[str]:
        texts: list[str] = self.page.locator(f"{LISTS} li[id^=msg-] .text").all_inner_texts()
        return texts

    def sees(self, text: str) -> None:
        expect(self.page.locator(f"{LISTS} .text", has_text=text)).to_have_count(1, timeout=WAIT)

    def screenshot(self, name: str, full_page: bool = False) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=path, full_page=full_page)
        return path


@pytest.fixture
def people(chromium: Browser, request: pytest.FixtureRequest) -> Iterator[Callable[..., Person]]:
    """people(name) -> a Person in a fresh browser context on the module's server (or `server`).

    `name` None keeps the guest name the site gives.
    """
    contexts = []

    def make(name: str | None, server: LiveServer | None = None, **context_args: Any) -> Person:
        server = server or request.getfixturevalue("live_server")
        context = chromium.new_context(**{"viewport": {"width": 900, "height": 600}, **context_args})
        contexts.append(context)
        person = Person(context.new_page(), server)
        if name is not None:
            person.name(name)
        return person

    yield make
    for context in contexts:
        context.close()
