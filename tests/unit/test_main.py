"""The console script: serve with no arguments, `--check`, and the operator's backup, export and import."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from chatroom.__main__ import main
from chatroom.store import Message, open_store
from chatroom.store.sql import MIGRATIONS


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory to run the command in, with no settings but its own data directory."""
    monkeypatch.chdir(tmp_path)
    for name in ("DATABASE_URL", "REDIS_URL", "BROADCAST_URL", "PORT", "LOG_FORMAT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def run(*argv: str) -> int | str | None:
    """The exit status (or sentence) of `chatroom argv…`."""
    with pytest.raises(SystemExit) as exited:
        main(list(argv))
    code: int | str | None = exited.value.code
    return code


def chat(url: str, room: str = "lobby", count: int = 3) -> list[Message]:
    async def go() -> list[Message]:
        store = open_store(url)
        await store.open()
        try:
            for number in range(count):
                await store.append(room, "ada", "uid-ada", f"message {number}")
            return await store.after(room, 0, 1000)
        finally:
            await store.close()

    return asyncio.run(go())


def read(url: str, room: str = "lobby") -> list[Message]:
    return chat(url, room, count=0)


def test_no_arguments_serves(here: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    served: dict[str, Any] = {}
    monkeypatch.setattr("uvicorn.run", lambda app, **options: served.update(options))
    main([])
    assert (served["host"], served["port"]) == ("127.0.0.1", 8000)
    assert served["log_config"]["formatters"]["default"]["()"] == "uvicorn.logging.DefaultFormatter"


def test_a_bad_setting_is_one_sentence(here: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "99999")
    assert run("--check") == "chatroom: PORT must be at most 65535, not '99999'"


def test_check_reports_each_part(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("--check") == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "settings: ok (read)"
    assert "store: ok (no database yet at" in out and "bus: ok (memory://)" in out and "htmx: ok" in out
    chat(f"sqlite:///{here / 'data' / 'chat.sqlite3'}")
    assert run("--check") == 0
    assert f"migration {len(MIGRATIONS)} of {len(MIGRATIONS)})" in capsys.readouterr().out


def test_check_reports_the_migrations_the_start_will_run(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    database = here / "data" / "chat.sqlite3"
    chat(f"sqlite:///{database}")
    with sqlite3.connect(database) as db:
        db.execute("PRAGMA user_version = 2")
    assert run("--check") == 0
    assert f"migration 2 of {len(MIGRATIONS)}; the server's start runs the other" in capsys.readouterr().out
    with sqlite3.connect(database) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (2,), "a check changes nothing"
        db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    assert run("--check") == 1
    assert "store: FAILED" in capsys.readouterr().out


def test_check_fails_when_the_store_cannot_be_opened(
    here: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (here / "a-directory").mkdir()
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{here / 'a-directory'}")
    assert run("--check") == 1
    assert "store: FAILED (DATABASE_URL sqlite:///" in capsys.readouterr().out


def test_check_runs_alone(here: Path) -> None:
    assert run("--check", "backup", "x.sqlite3") == 2


def test_a_backup_is_a_copy_that_opens_as_a_store(here: Path) -> None:
    url = f"sqlite:///{here / 'data' / 'chat.sqlite3'}"
    sent = chat(url)
    assert run("backup", "copy.sqlite3") == 0
    assert read(f"sqlite:///{here / 'copy.sqlite3'}") == sent
    assert not list(here.glob(".*partial")), "no partial file is left behind"


def test_a_backup_never_overwrites_a_file(here: Path) -> None:
    chat(f"sqlite:///{here / 'data' / 'chat.sqlite3'}")
    (here / "copy.sqlite3").write_text("an older backup")
    assert (
        run("backup", "copy.sqlite3")
        == "chatroom: copy.sqlite3 exists already: back up to a new file, so no backup is overwritten"
    )
    assert (here / "copy.sqlite3").read_text() == "an older backup"


def test_a_backup_of_no_store_makes_none(here: Path) -> None:
    assert "There is no SQLite store at" in str(run("backup", "copy.sqlite3"))
    assert not (here / "data" / "chat.sqlite3").exists()
    assert not (here / "copy.sqlite3").exists()


def test_export_then_import_into_another_store(
    here: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sent = chat(f"sqlite:///{here / 'data' / 'chat.sqlite3'}") + chat(
        f"sqlite:///{here / 'data' / 'chat.sqlite3'}", room="dev", count=2
    )
    assert run("export", "all.jsonl") == 0
    assert run("export", "--room", "dev", "dev.jsonl") == 0
    assert "exported accounts=0 rooms=1 messages=2" in capsys.readouterr().err
    assert run("export", "all.jsonl") == "chatroom: all.jsonl exists already: export to a new file"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{here / 'moved.sqlite3'}")
    assert run("import", "all.jsonl") == 0
    assert "imported accounts=0 rooms=2 messages=5 changes=0 reactions=0 already_there=0" in capsys.readouterr().err
    assert run("import", "all.jsonl") == 0
    assert "messages=0 changes=0 reactions=0 already_there=5" in capsys.readouterr().err
    moved = f"sqlite:///{here / 'moved.sqlite3'}"
    assert read(moved) + read(moved, "dev") == sent


def test_export_refuses_a_bad_room_name(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("export", "--room", "Not a room!", "out.jsonl") == 2
    assert "is not a room name" in capsys.readouterr().err


def test_import_of_a_file_that_is_not_an_export_is_one_sentence(here: Path) -> None:
    (here / "notes.txt").write_text("shopping list\n")
    assert run("import", "notes.txt") == "chatroom: notes.txt line 1: not a JSON object (each line of an export is one)"


def test_user_goes_to_the_accounts_own_parser(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("user", "--help") == 0
    assert capsys.readouterr().out.startswith("usage: chatroom user")
    assert run("--help") == 0
    assert "user" in capsys.readouterr().out, "listed with the other commands"
