"""Numbers in URLs and headers are ASCII digits: "²" or "①" (which str.isdigit() takes) get a 422 or a
snapshot, never a 500; and a 500 of any cause still carries the security headers."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from chatroom.rooms import hub as hub_module

UNICODE_DIGITS = ["²", "①", "٣", "\uff11"]


@pytest.mark.parametrize("digit", UNICODE_DIGITS)
@pytest.mark.parametrize("url", ["/rooms/lobby/messages?before={}", "/rooms/lobby?before={}", "/?around={}"])
def test_a_number_in_other_digits_is_refused_with_422(client: TestClient, url: str, digit: str) -> None:
    answer = client.get(url.format(digit))
    assert answer.status_code == 422 and "positive whole number" in answer.text
    assert "content-security-policy" in answer.headers


@pytest.mark.parametrize("raw", ["²".encode("latin-1"), "³".encode("latin-1"), "①".encode()])
def test_a_last_event_id_in_other_digits_gets_the_snapshot(client: TestClient, raw: bytes) -> None:
    """Header bytes are read as Latin-1, where 0xB2 is "²": a digit to str.isdigit(), not to int()."""
    client.post("/rooms/lobby/messages", data={"message": "hello"}, follow_redirects=False)
    with client.stream("GET", "/rooms/lobby/events", headers={b"last-event-id": raw}) as response:
        lines = response.iter_lines()
        first = [next(lines), next(lines)]
    assert response.status_code == 200
    assert first[0] == "id: 1" and first[1].startswith('data: <ul id="messages"')


def test_an_unexpected_error_answers_500_with_the_security_headers(
    app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("a bug")

    monkeypatch.setattr(hub_module.Hub, "room_view", broken)
    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.get("/")
    assert answer.status_code == 500
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    assert answer.headers["x-content-type-options"] == "nosniff"
