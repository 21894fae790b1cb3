"""Scripts: only htmx runs, and only the pinned version's files are served."""

from __future__ import annotations

import json
import re
from pathlib import Path

from starlette.testclient import TestClient

from chatroom.web.paths import HTMX_PACKAGE

ROOT = Path(__file__).resolve().parents[3]


def test_only_htmx_runs_and_it_is_the_pinned_version(client: TestClient) -> None:
    pinned = json.loads((ROOT / "package-lock.json").read_text())["packages"]["node_modules/htmx.org"]["version"]
    for path in ("/", "/rooms/lobby?transport=sse"):
        html = client.get(path).text
        scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
        assert scripts and all(body == "" for _, body in scripts), "no inline script"
        for attrs, _ in scripts:
            src = re.fullmatch(r' src="(/static/htmx/[^"]+)"', attrs)
            assert src and src.group(1).startswith(f"/static/htmx/{pinned}/"), attrs
            served = client.get(src.group(1))
            assert served.status_code == 200 and "immutable" in served.headers["cache-control"]
            name = src.group(1).removeprefix(f"/static/htmx/{pinned}/")
            assert served.content == (HTMX_PACKAGE / "dist" / name).read_bytes()
        assert not re.search(r"\son[a-z]+\s*=", html, re.I), "no on* handler attributes"
        assert "hx-on" not in html


def test_only_the_pinned_htmx_files_are_served(client: TestClient) -> None:
    assert client.get("/static/htmx/0.0.1/htmx.min.js").status_code == 404
    version = json.loads((HTMX_PACKAGE / "package.json").read_text())["version"]
    assert client.get(f"/static/htmx/{version}/scripts/upgrade-check.py").status_code == 404
