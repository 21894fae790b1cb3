"""Log lines as JSON (`LOG_FORMAT=json`): the text line's fields, a request id on HTTP, never a message's text."""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from starlette.testclient import TestClient

from chatroom import logs
from chatroom.errors import SettingsError, StoreUnavailable
from chatroom.settings import Settings
from tests.inprocess import hub_of
from tests.people import Session


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """What the chat's logger writes, as JSON lines, while the test runs."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonLines())
    log = logging.getLogger("chatroom")
    level = log.level
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    yield stream
    log.removeHandler(handler)
    log.setLevel(level)


def parsed(stream: io.StringIO) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in stream.getvalue().splitlines()]


def test_a_json_line_has_the_text_lines_fields() -> None:
    log = logging.getLogger("chatroom.rooms.hub")
    record = log.makeRecord(log.name, logging.WARNING, __file__, 1, "store failed room=%s", ("dev",), None)
    record.created = 1764579600.25
    line = orjson.loads(logs.JsonLines().format(record))
    assert line == {
        "time": "2025-12-01T09:00:00.250000Z",
        "level": "WARNING",
        "logger": "chatroom.rooms.hub",
        "message": "store failed room=dev",
    }


def test_an_exception_is_one_line_with_its_traceback() -> None:
    try:
        raise StoreUnavailable("sqlite: disk I/O error")
    except StoreUnavailable:
        record = logging.getLogger("chatroom").makeRecord("chatroom", logging.ERROR, __file__, 1, "failed", (), None)
        record.exc_info = sys.exc_info()
    text = logs.JsonLines().format(record)
    assert "\n" not in text
    assert "disk I/O error" in str(orjson.loads(text)["exception"])


def test_every_http_answer_carries_a_request_id(client: TestClient) -> None:
    first, second = client.get("/healthz"), client.get("/")
    assert len(first.headers["x-request-id"]) == 32
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


def test_a_routers_request_id_is_kept_and_a_strange_one_replaced(client: TestClient) -> None:
    given = "5ba5f3a6-7d7b-4f0e-9a57-3e41d6b0c2aa"
    assert client.get("/healthz", headers={"x-request-id": given}).headers["x-request-id"] == given
    for strange in ("short", "a" * 201, "two words here", 'quote"injected-into-logs'):
        assert client.get("/healthz", headers={"x-request-id": strange}).headers["x-request-id"] != strange


def test_a_line_logged_while_answering_names_the_request_and_not_the_text(
    client: TestClient, alice: Session, json_lines: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def down(*args: object, **kwargs: object) -> None:
        raise StoreUnavailable("database is gone")

    monkeypatch.setattr(hub_of(client).store, "append", down)
    answer = client.post(
        "/rooms/lobby/messages", data={"message": "my secret plans"}, headers={**alice, "hx-request": "true"}
    )
    assert answer.status_code == 503
    [line] = [line for line in parsed(json_lines) if "store failed" in str(line["message"])]
    assert line["request_id"] == answer.headers["x-request-id"]
    assert line["level"] == "ERROR" and "who=alice" in str(line["message"])
    assert "secret plans" not in json_lines.getvalue()


def test_a_socket_line_has_no_request_id(client: TestClient, json_lines: io.StringIO) -> None:
    with client.websocket_connect("/ws/rooms/lobby/") as ws:
        ws.receive_json()
    connects = [line for line in parsed(json_lines) if str(line["message"]).startswith("connect transport=json")]
    assert connects and "request_id" not in connects[0]


def test_the_log_format_is_text_or_json(tmp_path: Path) -> None:
    assert Settings.from_env({"DATA_DIR": str(tmp_path)}).log_format == "text"
    assert Settings.from_env({"DATA_DIR": str(tmp_path), "LOG_FORMAT": "JSON"}).log_format == "json"
    with pytest.raises(SettingsError, match="LOG_FORMAT must be text or json"):
        Settings.from_env({"DATA_DIR": str(tmp_path), "LOG_FORMAT": "yaml"})


def test_json_logging_covers_the_servers_own_lines() -> None:
    server = logging.getLogger("uvicorn.error")
    handler = logging.StreamHandler(io.StringIO())
    server.addHandler(handler)
    try:
        logs.configure("json")
        assert isinstance(handler.formatter, logs.JsonLines)
    finally:
        server.removeHandler(handler)
        logs.configure("text")


def access_line(path: str) -> str:
    """uvicorn's access line for `path`, through the filter the app puts on its logger."""
    record = logging.getLogger("uvicorn.access").makeRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("1.2.3.4:5", "GET", path, "1.1", 200),
        None,
    )
    assert logs.HiddenTokens().filter(record)
    return record.getMessage()


def test_a_links_secret_is_left_out_of_the_servers_access_lines() -> None:
    for path in ("/join/Zq3-secret_token", "/setup/Zq3-secret_token?next=/", "/reset/Zq3-secret_token"):
        line = access_line(path)
        assert "Zq3-secret_token" not in line and "…" in line
    assert access_line("/join/Zq3-secret_token?next=/rooms/dev").endswith('"GET /join/…?next=/rooms/dev HTTP/1.1" 200')
    assert access_line("/rooms/join?before=3") == '1.2.3.4:5 - "GET /rooms/join?before=3 HTTP/1.1" 200'


def test_the_app_filters_the_servers_access_lines_once(client: TestClient) -> None:
    logs.configure("text")
    access = logging.getLogger("uvicorn.access")
    assert sum(isinstance(f, logs.HiddenTokens) for f in access.filters) == 1


def test_the_console_script_gives_the_server_its_format() -> None:
    text, json = logs.server_logging("text"), logs.server_logging("json")
    assert text["formatters"]["default"]["()"] == "uvicorn.logging.DefaultFormatter"
    assert {formatter["()"] for formatter in json["formatters"].values()} == {logs.JsonLines}
    assert json["loggers"] == text["loggers"], "only the format changes"
