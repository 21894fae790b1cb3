"""Personal answers are never cached; a request for another host name (DNS rebinding) is refused."""

from __future__ import annotations

from starlette.testclient import TestClient

NO_STORE = "private, no-store"
HX = {"hx-request": "true"}


def test_pages_fragments_and_form_answers_may_not_be_stored_but_static_files_may(client: TestClient) -> None:
    answers = [
        client.get("/"),
        client.get("/rooms/lobby?transport=sse"),
        client.get("/rooms/lobby/messages?before=5"),
        client.post("/rooms/lobby/messages", data={"message": "hi"}, headers=HX),
        client.post("/profile", data={"name": ""}),
        client.get("/rooms/Not-A-Room"),
        client.get("/healthz"),
    ]
    assert [a.headers.get("cache-control") for a in answers] == [NO_STORE] * len(answers)
    redirect = client.post("/profile", data={"name": "ann"}, follow_redirects=False)
    assert redirect.status_code == 303 and redirect.headers["cache-control"] == NO_STORE
    htmx = next(line.split('"')[1] for line in answers[0].text.splitlines() if "htmx.min.js" in line)
    assert client.get(htmx).headers["cache-control"] == "public, max-age=31536000, immutable"
    assert "cache-control" not in client.get("/static/chat.css").headers
