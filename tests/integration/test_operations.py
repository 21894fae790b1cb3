"""The operator's commands against a running server: a backup while five people post, restored and compared."""

from __future__ import annotations

import asyncio
import html
import os
import re
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.integration.conftest import AppFactory, stored
from tests.integration.servers import ROOT
from tests.integration.viewer import Viewer

pytestmark = pytest.mark.anyio

POSTERS = 5
TEXT = re.compile(r'<li id="msg-\d+".*?<div class="text" dir="auto"><p>(.*?)</p>', re.DOTALL)


def page_texts(url: str) -> list[str]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return [html.unescape(text) for text in TEXT.findall(response.read().decode())]


async def chatroom(*args: str, env: dict[str, str]) -> tuple[int, str]:
    """`python -m chatroom args…` in a process of its own, as an operator would run it beside the server."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "chatroom",
        *args,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, output.decode()


async def test_a_backup_taken_while_five_people_post_restores_to_a_consistent_room(
    tmp_path: Path, room: str, start_apps: AppFactory
) -> None:
    database = f"sqlite:///{tmp_path / 'chat.sqlite3'}"
    [app] = start_apps(1, DATABASE_URL=database)
    posters = [await Viewer([app.ws_url], room).open() for _ in range(POSTERS)]
    posting = True

    async def post(number: int, viewer: Viewer) -> int:
        # Each waits for the acceptance, then a moment: flat out, five sockets from one address pass the limit
        # per address (a refusal the test is not about) once the server answers fast enough.
        sent = 0
        while posting:
            await viewer.send(f"poster {number} message {sent}")
            sent += 1
            await asyncio.sleep(0.01)
        return sent

    tasks = [asyncio.create_task(post(n, viewer)) for n, viewer in enumerate(posters)]
    await asyncio.sleep(1.0)
    status, output = await chatroom("backup", str(tmp_path / "backup.sqlite3"), env={"DATABASE_URL": database})
    await asyncio.sleep(0.5)
    posting = False
    sent = sum(await asyncio.gather(*tasks))
    for viewer in posters:
        await viewer.close()
    assert status == 0, output

    original = await stored(database, room)
    backup = await stored(f"sqlite:///{tmp_path / 'backup.sqlite3'}", room)
    assert len(original) == sent, "every acknowledged message is in the live store"
    assert 0 < len(backup) < sent, "the backup was taken while people posted"
    assert backup == original[: len(backup)], "the backup is the room as it was at one moment: a prefix, gapless"

    [restored] = start_apps(1, DATABASE_URL=f"sqlite:///{tmp_path / 'backup.sqlite3'}", HISTORY_LIMIT="50")
    assert page_texts(f"{restored.url}/rooms/{room}") == [m.text for m in backup[-50:]]
    newcomer = await Viewer([restored.ws_url], room).open()
    await newcomer.send("after the restore")
    assert (await stored(f"sqlite:///{tmp_path / 'backup.sqlite3'}", room))[-1].seq == len(backup) + 1
    await newcomer.close()


async def test_backing_up_postgres_says_to_use_pg_dump(database_url: str) -> None:
    status, output = await chatroom("backup", "/tmp/never-written.sqlite3", env={"DATABASE_URL": database_url})
    assert status == 1
    assert "pg_dump" in output and "Traceback" not in output
