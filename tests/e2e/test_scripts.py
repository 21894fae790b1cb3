"""No custom JavaScript. htmx and its extensions, served by the app, are the only scripts."""

from __future__ import annotations

import re
from collections.abc import Callable

from tests.e2e.conftest import HTMX_VERSION, LiveServer, Person
from tests.integration.servers import ROOT

HTMX = f"/static/htmx/{HTMX_VERSION}/"
SHIPPED = {
    HTMX + name: ROOT / "node_modules/htmx.org/dist" / name
    for name in ("htmx.min.js", "ext/hx-ws.min.js", "ext/hx-sse.min.js")
}
# What a page holds that could run: scripts, and attributes that make htmx or the browser run code.
RUNNABLE = """() => ({
  scripts: [...document.scripts].map(s => ({src: s.getAttribute('src'), inline: s.text.trim().length > 0})),
  handlers: [...document.querySelectorAll('*')].flatMap(el => [...el.attributes]
    .filter(a => /^on|^(data-)?hx-on/i.test(a.name) || /^\\s*javascript:/i.test(a.value))
    .map(a => `<${el.localName} ${a.name}="${a.value}">`)),
})"""


def test_the_only_scripts_are_htmx_served_by_the_app(people: Callable[..., Person], live_server: LiveServer) -> None:
    live_server.say("scripts", *(f"line {n}" for n in range(1, 4)), name="Carol")
    alice = people("Alice")
    alice.enter("scripts")
    alice.say("said from the browser")
    alice.sees("said from the browser")
    statuses = {}
    for path in ("/", "/rooms/scripts", "/rooms/scripts?transport=sse", "/rooms/scripts?before=3", "/rooms/No_Such!"):
        response = alice.page.goto(live_server.url + path)
        assert response is not None
        statuses[path] = response.status
        _only_htmx_runs(alice, path, response.headers)
    assert statuses["/rooms/No_Such!"] == 404 and set(statuses.values()) == {200, 404}
    for form, bad in (("#room-name", "Not a room!"), ("#display-name", "   ")):
        alice.page.goto(live_server.url + "/rooms/scripts")
        alice.page.locator(form).fill(bad)
        with alice.page.expect_response(lambda r: r.request.method == "POST") as posted:
            alice.page.locator(form).press("Enter")
        assert posted.value.status == 422, form
        alice.page.wait_for_load_state()
        _only_htmx_runs(alice, form, posted.value.headers)

    alice.page.goto(live_server.url + "/rooms/scripts?transport=sse")
    for url, shipped in SHIPPED.items():
        served = alice.page.request.get(live_server.url + url)
        assert served.ok and served.body() == shipped.read_bytes(), url
    alice.screenshot("09-scripts-sse-page")
    # Chromium reports a document answered with 404 or 422 as a failed load; those pages are meant to.
    meant = re.compile(r"status of (404 \(Not Found\) at .*/rooms/No_Such!|422 .* at .*/(rooms|profile))$")
    assert [e for e in alice.errors if not meant.search(e)] == []
    assert alice.dialogs == []


def _only_htmx_runs(person: Person, where: str, headers: dict[str, str]) -> None:
    assert "script-src 'self'" in headers["content-security-policy"], where
    found = person.page.evaluate(RUNNABLE)
    assert found["handlers"] == [], where
    for script in found["scripts"]:
        assert not script["inline"] and script["src"] in SHIPPED, (where, script)
