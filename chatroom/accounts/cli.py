"""`python -m chatroom user add NAME [--role admin|moderator|member]`: an account made at the console.

The password is read from standard input (the first line; typed without echo at a terminal), never from
the command line, where other users of the machine could read it. The store is the server's: the same
settings (`DATABASE_URL`, `.env`), so it works while the server runs.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from typing import TextIO

from chatroom.accounts.records import ROLES, Account
from chatroom.accounts.service import Accounts
from chatroom.bus import Bus
from chatroom.errors import ChatError, StartupError
from chatroom.settings import Settings
from chatroom.store import open_store


def parser() -> argparse.ArgumentParser:
    commands = argparse.ArgumentParser(prog="chatroom user", description="Manage accounts from the console.")
    actions = commands.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="make an account; the password is read from standard input")
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, default="member")
    return commands


def main(argv: list[str], stdin: TextIO = sys.stdin, settings: Settings | None = None) -> int:
    args = parser().parse_args(argv)
    password = getpass.getpass("Password: ") if stdin.isatty() else stdin.readline().rstrip("\r\n")
    try:
        account = asyncio.run(_add(settings or Settings.from_env(), args.name, password, args.role))
    except (ChatError, StartupError) as error:
        print(f"chatroom: {error.detail if isinstance(error, ChatError) and error.detail else error}", file=sys.stderr)
        return 1
    print(f"chatroom: made {account.role} {account.name}")
    return 0


async def _add(settings: Settings, name: str, password: str, role: str) -> Account:
    store = open_store(settings.database_url)
    await store.open()
    bus = Bus("memory://")  # nothing to tell: the servers' name caches catch up within a minute
    await bus.connect()
    try:
        return await Accounts(store, bus, settings).add_user(name, password, role)
    finally:
        await bus.disconnect()
        await store.close()
