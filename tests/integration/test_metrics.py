"""Metrics and logs of real processes: two servers' values added up in one scrape, and every log line JSON."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.conftest import AppFactory
from tests.integration.servers import ROOT, AppServer
from tests.integration.viewer import Viewer

pytestmark = pytest.mark.anyio

TOKEN = "integration-metrics-token"


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    request = urllib.request.Request(f"{url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def connections(url: str) -> float:
    return scrape(url).get(("chatroom_connections", (("transport", "htmx"),)), 0.0)


async def test_one_scrape_adds_up_every_process_and_forgets_one_that_stopped(
    tmp_path: Path, room: str, start_apps: AppFactory
) -> None:
    shared = tmp_path / "metrics"
    one, two = start_apps(
        2,
        DATABASE_URL=f"sqlite:///{tmp_path / 'chat.sqlite3'}",
        METRICS_TOKEN=TOKEN,
        PROMETHEUS_MULTIPROC_DIR=str(shared),
        LOG_FORMAT="json",
    )
    at_one = await Viewer([one.ws_url], room).open()
    at_two = await Viewer([two.ws_url], room, reconnect=False).open()
    await at_one.send("from the first process")
    with contextlib.suppress(urllib.error.HTTPError):
        urllib.request.urlopen(f"{two.url}/join/a-secret-invite-token", timeout=5).close()
    await at_two.send("from the second process")
    assert connections(one.url) == 2, "both processes' sockets, scraped from either"
    assert scrape(two.url)[("chatroom_messages_stored_total", ())] == 2
    assert two.process is not None
    pid = two.process.pid
    assert list(shared.glob(f"gauge_livesum_{pid}.db")), "its live gauges are in files of its own"
    await at_two.close()
    two.signal(signal.SIGTERM)
    await two.exited(10)
    assert connections(one.url) == 1, "a process that stopped no longer counts"
    assert not list(shared.glob(f"gauge_live*_{pid}.db")), "it removed its live gauges on its way out"
    assert scrape(one.url)[("chatroom_messages_stored_total", ())] == 2, "what it counted stays counted"
    await at_one.close()

    lines = [json.loads(line) for line in two.log_path.read_text().splitlines()]
    messages = [str(line["message"]) for line in lines]
    assert any(m.startswith("started store=sqlite bus=memory") for m in messages) and "stopped" in messages
    assert all(line["time"].endswith("Z") and line["level"] and line["logger"] for line in lines)
    scrapes = [line for line in lines if line["logger"] == "uvicorn.access" and "GET /metrics" in line["message"]]
    assert scrapes and all(len(line["request_id"]) == 32 for line in scrapes), "the server's access lines too"
    assert "from the second process" not in two.log_path.read_text()
    assert (
        "GET /join/… HTTP/1.1" in two.log_path.read_text() and "a-secret-invite-token" not in two.log_path.read_text()
    )


class ConsoleScriptServer(AppServer):
    """`python -m chatroom`, which configures the server's logging itself."""

    def launch(self) -> None:
        with open(self.log_path, "ab") as log:
            command = [sys.executable, "-m", "chatroom"]
            self.process = subprocess.Popen(command, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)


def test_the_console_script_logs_json_lines_too(tmp_path: Path) -> None:
    app = ConsoleScriptServer({"DATA_DIR": str(tmp_path), "LOG_FORMAT": "json"}, tmp_path)
    app.start()
    try:
        with contextlib.suppress(urllib.error.HTTPError):
            urllib.request.urlopen(f"{app.url}/reset/a-secret-reset-token", timeout=5).close()
    finally:
        app.stop()
    text = app.log_path.read_text()
    lines = [json.loads(line) for line in text.splitlines() if not line.startswith("chatroom: serving on")]
    assert {"uvicorn.error", "uvicorn.access", "chatroom"} <= {line["logger"] for line in lines}
    assert "GET /reset/… HTTP/1.1" in text and "a-secret-reset-token" not in text
