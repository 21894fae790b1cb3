"""The client address that limits use, with the Procfile's flags run as the platform runs them (by a shell):
X-Forwarded-For is believed only from a trusted proxy, and then only the entry that proxy appended."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.servers import ROOT, AppServer

# One message per address, and the next only 100 s later: a second acceptance means a second address.
ENV = {"SECRET_KEY": "forwarded-secret", "RATE_LIMIT_PER_ADDRESS": "0.01", "FORWARDED_ALLOW_IPS": ""}


class ProcfileServer(AppServer):
    """The Procfile's web: line through `sh -c`, so its `$PORT` and `${FORWARDED_ALLOW_IPS:-…}` expand."""

    def launch(self) -> None:
        line = (ROOT / "Procfile").read_text().split("web:", 1)[1].strip().replace("0.0.0.0", "127.0.0.1")
        self.env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{self.env.get('PATH', '')}"  # our uvicorn
        if not self.env.get("FORWARDED_ALLOW_IPS"):
            self.env.pop("FORWARDED_ALLOW_IPS", None)  # unset: the Procfile's default applies
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                ["sh", "-c", f"exec {line}"], env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
            )


def serve(tmp_path: Path, **env: str) -> Iterator[ProcfileServer]:
    app = ProcfileServer({**ENV, "DATA_DIR": str(tmp_path), **env}, tmp_path)
    app.start()
    yield app
    app.stop()


@pytest.fixture
def platform_app(tmp_path: Path) -> Iterator[ProcfileServer]:
    yield from serve(tmp_path)


@pytest.fixture
def behind_local_proxy(tmp_path: Path) -> Iterator[ProcfileServer]:
    yield from serve(tmp_path, FORWARDED_ALLOW_IPS="127.0.0.1")


def cookieless_post(app: AppServer, forwarded_for: str) -> int:
    """A form post from 127.0.0.1 with no cookie and the given X-Forwarded-For; its status (no redirect followed)."""
    connection = http.client.HTTPConnection("127.0.0.1", app.port, timeout=10)
    try:
        headers = {"content-type": "application/x-www-form-urlencoded", "x-forwarded-for": forwarded_for}
        connection.request("POST", "/rooms/lobby/messages", body="message=hello", headers=headers)
        return connection.getresponse().status
    finally:
        connection.close()


def test_a_client_that_is_not_a_trusted_proxy_cannot_choose_its_address_by_forging_forwarded_for(
    platform_app: ProcfileServer,
) -> None:
    assert cookieless_post(platform_app, "203.0.113.1") == 303
    assert cookieless_post(platform_app, "203.0.113.2") == 429, "still 127.0.0.1, whose one message is spent"


def test_behind_a_trusted_proxy_the_address_is_the_entry_the_proxy_appended(behind_local_proxy: ProcfileServer) -> None:
    assert cookieless_post(behind_local_proxy, "198.51.100.9, 203.0.113.1") == 303
    assert cookieless_post(behind_local_proxy, "198.51.100.9, 203.0.113.2") == 303, "another client"
    assert cookieless_post(behind_local_proxy, "192.0.2.50, 203.0.113.1") == 429, "only the appended entry counts"
