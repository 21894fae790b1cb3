"""Messages worth reading, in Chromium: a formatted message with a highlighted code block, an image shared with
the file input (with JavaScript and without), and a search that leads back to the message.

`UPDATE_DOCS=1` also copies the screenshots of the formatted room and of the search to docs/ for the README.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import expect

from tests.e2e.conftest import WAIT, Person
from tests.images import photo
from tests.integration.servers import ROOT

CODE = '```python\ndef greet(name: str) -> str:\n    return f"hello {name}"  # friendly\n```'


def document(shot: Path, name: str) -> None:
    if os.environ.get("UPDATE_DOCS"):
        (ROOT / "docs").mkdir(exist_ok=True)
        shutil.copyfile(shot, ROOT / "docs" / name)


def test_format_share_an_image_and_find_it_again(people: Callable[..., Person], tmp_path: Path) -> None:
    alice, bob = people("Alice"), people("Bob", viewport={"width": 900, "height": 760})
    alice.enter("fmt")
    bob.enter("fmt")

    alice.say("**Deploy** is _done_ :tada: see https://example.com/notes and `make ship`")
    text = bob.page.locator("#messages .text", has_text="is done")
    expect(text.locator("strong")).to_have_text("Deploy")
    expect(text.locator("em")).to_have_text("done")
    expect(text.locator("code")).to_have_text("make ship")
    expect(text).to_contain_text("🎉")
    link = text.locator("a")
    expect(link).to_have_attribute("href", "https://example.com/notes")
    expect(link).to_have_attribute("rel", "nofollow noopener noreferrer ugc")

    alice.server.say("fmt", CODE, name="Carol")  # several lines, from a bot on the JSON socket
    block = bob.page.locator("#messages pre.code")
    expect(block).to_contain_text('return f"hello {name}"')
    keyword = block.locator(".tok-k").first
    expect(keyword).to_have_text("def")
    plain = bob.page.locator("#messages .author").first.evaluate("e => getComputedStyle(e).color")
    assert keyword.evaluate("e => getComputedStyle(e).color") != plain, "the code block is coloured by code.css"

    picture = tmp_path / "sunset.jpg"
    picture.write_bytes(photo(1200, 800))
    alice.page.set_input_files("#send-form input[type=file]", str(picture))
    alice.page.get_by_role("button", name="Send files").click()
    for person in (alice, bob):
        thumbnail = person.page.locator("#messages .files img[alt='sunset.jpg']")
        expect(thumbnail).to_have_count(1)
        expect(thumbnail).to_have_js_property("complete", True)
        assert thumbnail.evaluate("img => img.naturalWidth") == 320
    expect(alice.page.locator("#send-form input[type=file]")).to_have_value("")
    full = bob.page.locator("#messages .files a.image").get_attribute("href") or ""
    opened = bob.page.request.get(bob.server.url + full)
    assert opened.status == 200 and opened.headers["content-type"] == "image/jpeg"
    document(bob.screenshot("20-formatted-room"), "formatting.png")

    bob.page.fill("#search-q", "deploy done")
    bob.page.press("#search-q", "Enter")
    results = bob.page.locator("#search-results .result")
    expect(results).to_have_count(1)
    expect(results.first.locator(".room-link")).to_have_text("#fmt")
    expect(results.first.locator(".author")).to_have_text("Alice")
    expect(results.first.locator("strong")).to_have_text("Deploy")
    document(bob.screenshot("21-search"), "search.png")
    results.first.locator("a.permalink").click()
    expect(bob.page.locator(".msg:target")).to_contain_text("is done", timeout=WAIT)
    assert alice.errors == [] and bob.errors == []


def test_files_and_search_work_without_javascript(people: Callable[..., Person], tmp_path: Path) -> None:
    alice = people("Alice", java_script_enabled=False)
    alice.page.goto(f"{alice.server.url}/rooms/plainfiles")
    picture = tmp_path / "plain.jpg"
    picture.write_bytes(photo(400, 300))
    alice.page.set_input_files("#send-form input[type=file]", str(picture))
    alice.page.fill("#msg-input", "an **unscripted** picture")
    with alice.page.expect_navigation(timeout=WAIT):
        alice.page.get_by_role("button", name="Send files").click()
    assert alice.page.url == f"{alice.server.url}/rooms/plainfiles"
    expect(alice.page.locator("#messages .files img[alt='plain.jpg']")).to_have_count(1)
    expect(alice.page.locator("#messages strong")).to_have_text("unscripted")

    alice.page.fill("#search-q", "unscripted room:plainfiles")
    with alice.page.expect_navigation(timeout=WAIT):
        alice.page.press("#search-q", "Enter")
    expect(alice.page.locator("#search-results .result")).to_have_count(1)
    expect(alice.page.locator("#search-results .result img")).to_have_count(1)
    alice.screenshot("22-files-and-search-without-javascript", full_page=True)
    assert alice.errors == []
