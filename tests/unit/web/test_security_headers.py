"""The headers every page carries."""

from __future__ import annotations

from starlette.testclient import TestClient


def test_pages_forbid_scripts_from_anywhere_else(client: TestClient) -> None:
    policy = client.get("/").headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
