"""The operator's console commands: `--check`, `backup`, `export`, `import` and `migrate` (see `chatroom.__main__`).

Each runs with the server's settings (the environment and `.env`), so it reaches the same store.
Only `import` and `migrate` change the schema (as the server's start does); the others read it as it
is, so a backup or a check of a live database never changes it under a running older release.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit

from chatroom.bus import Bus
from chatroom.errors import ChatError, CommandError
from chatroom.portability import export, import_file
from chatroom.settings import Settings
from chatroom.store import MessageStore, open_store
from chatroom.store.sql import MIGRATIONS
from chatroom.validation import ROOM_NAME
from chatroom.web.assets import Htmx

Run = Callable[[Settings, argparse.Namespace], Awaitable[int]]


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    add_command(commands, "backup", backup).add_argument("path", metavar="PATH", help="a new file")
    export_ = add_command(commands, "export", export_rooms)
    export_.add_argument("--room", metavar="R", type=_room, help="only this room")
    export_.add_argument("path", metavar="PATH", help="a new file")
    add_command(commands, "import", import_rooms).add_argument("path", metavar="PATH", type=Path)
    add_command(commands, "migrate", migrate)


async def migrate(settings: Settings, args: argparse.Namespace) -> int:
    """run the store's migrations, once, before a deploy's servers start

    Brings DATABASE_URL's store to this release's schema and says its level: the Procfile's release
    phase, so a deploy's new processes find it ready (each server also migrates at start-up, safely).
    """
    async with _store(settings, migrate=True) as store:
        level = await store.migration_level()
    _say(f"migrated {redacted(settings.database_url)} to level {level}")
    return 0


def add_command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], name: str, run: Run
) -> argparse.ArgumentParser:
    """A command that runs `run`; its docstring is the help (the first line) and the description (all of it)."""
    doc = inspect.getdoc(run) or ""
    command = commands.add_parser(
        name, help=doc.split("\n")[0], description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    command.set_defaults(run=run)
    return command


async def check(settings: Settings, args: argparse.Namespace) -> int:
    """The settings (read already, or this would not run), htmx's files, the store and its migration level,
    and the bus: one line each; 1 if any failed."""
    results = {"settings": (None, "read"), "htmx": _check_htmx()}
    results["store"] = await _check_store(settings)
    results["bus"] = await _check_bus(settings)
    for part, (problem, detail) in results.items():
        print(f"{part}: {'ok' if problem is None else 'FAILED'} ({problem or detail})")
    return 1 if any(problem is not None for problem, _ in results.values()) else 0


Result = tuple[str | None, str]  # (what failed, or None; what was found)


def _check_htmx() -> Result:
    try:
        Htmx()
    except ChatError as exc:
        return str(exc), ""
    return None, "installed"


async def _check_store(settings: Settings) -> Result:
    url = redacted(settings.database_url)
    if missing := _missing_sqlite_file(settings.database_url):
        return None, f"no database yet at {missing}: the server's start makes it"
    try:
        async with _store(settings, migrate=False) as store:
            level = await store.migration_level()
    except ChatError as exc:
        return f"DATABASE_URL {url}: {exc}", ""
    found = f"{url}, migration {level} of {len(MIGRATIONS)}"
    if level > len(MIGRATIONS):
        return f"{found}: a newer release migrated it; this one may misread it", ""
    if level < len(MIGRATIONS):
        found += f"; the server's start runs the other {len(MIGRATIONS) - level}"
    return None, found


async def _check_bus(settings: Settings) -> Result:
    url = redacted(settings.broadcast_url)
    bus = Bus(settings.broadcast_url)
    try:
        await bus.connect()
        await bus.ping()
    except Exception as exc:
        return f"{url}: {exc}", ""
    finally:
        with contextlib.suppress(Exception):
            await bus.disconnect()
    return None, url


async def backup(settings: Settings, args: argparse.Namespace) -> int:
    """copy the SQLite store to a new file, consistently, while the server runs

    SQLite's online backup of DATABASE_URL's file to PATH, a file that does not exist yet: consistent
    while the server keeps writing. For PostgreSQL it says how to use pg_dump instead.
    """
    async with _store(settings, migrate=False) as store:
        await store.backup(args.path)
    _say(f"backed up {redacted(settings.database_url)} to {args.path}")
    return 0


async def export_rooms(settings: Settings, args: argparse.Namespace) -> int:
    """write the rooms and their messages as JSON Lines

    The rooms (or only --room R) and their messages, to PATH, a file that does not exist yet, in the
    format of chatroom/portability.py, for `chatroom import` into this or another store.
    """
    target = Path(args.path)
    partial = target.with_name(f".{target.name}.partial")
    _refuse_existing(target)
    async with _store(settings, migrate=False) as store:
        level = await store.migration_level()
        if level != len(MIGRATIONS):
            raise CommandError(
                f"The store is at migration {level} and this release at {len(MIGRATIONS)}: "
                "export with the release that runs on it"
            )
        try:
            with partial.open("w", encoding="utf-8") as out:
                counts = await export(store, out, args.room)
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)
    _say(f"exported {counts} to {target}")
    return 0


async def import_rooms(settings: Settings, args: argparse.Namespace) -> int:
    """add an export's rooms and messages to the store, keeping each room's seq

    The rooms and messages of the export at PATH, into DATABASE_URL's store (migrated first), each
    message under its own seq. Importing twice adds nothing; a different message under a seq already
    taken stops it before anything is written. Import while no server writes to that store.
    """
    async with _store(settings, migrate=True) as store:
        counts = await import_file(store, args.path)
    _say(f"imported {counts} into {redacted(settings.database_url)}")
    return 0


@contextlib.asynccontextmanager
async def _store(settings: Settings, migrate: bool) -> AsyncIterator[MessageStore]:
    store = open_store(settings.database_url)
    await store.open(migrate=migrate)
    try:
        yield store
    finally:
        await store.close()


def redacted(url: str) -> str:
    """The URL without its password, to name in a sentence."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    return parts._replace(netloc=f"{parts.username}:***@{netloc}").geturl()


def _missing_sqlite_file(url: str) -> str:
    """The path of a SQLite store whose file does not exist yet, or ""."""
    path = url.removeprefix("sqlite:///")
    return path if url.startswith("sqlite:///") and not Path(path).exists() else ""


def _refuse_existing(target: Path) -> None:
    if target.exists():
        raise CommandError(f"{target} exists already: export to a new file")


def _room(value: str) -> str:
    if not ROOM_NAME.fullmatch(value):
        raise argparse.ArgumentTypeError(f"{value!r} is not a room name (1-50 of a-z 0-9 - _)")
    return value


def _say(line: str) -> None:
    print(f"chatroom: {line}", file=sys.stderr)
