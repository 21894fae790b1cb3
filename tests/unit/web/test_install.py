"""The chat can be installed on a phone's home screen: every page links a manifest whose icons are served."""

from __future__ import annotations

import json
import re

from starlette.testclient import TestClient


def test_every_page_links_a_manifest_whose_start_and_icons_are_served(client: TestClient) -> None:
    for path in ("/", "/rooms/lobby?transport=sse", "/rooms/No_Such!"):
        html = client.get(path).text
        assert '<link rel="manifest" href="/static/manifest.webmanifest">' in html, path
        assert re.search(r'<link rel="icon" href="/static/icon\.svg"', html), path
    manifest = client.get("/static/manifest.webmanifest")
    assert manifest.status_code == 200
    data = json.loads(manifest.text)
    assert data["name"] and data["display"] == "standalone" and data["start_url"] == "/"
    assert client.get(data["start_url"]).status_code == 200
    for icon in data["icons"]:
        served = client.get(icon["src"])
        assert served.status_code == 200 and served.headers["content-type"].startswith(icon["type"])
