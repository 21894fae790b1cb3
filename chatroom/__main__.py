"""`chatroom` / `python -m chatroom`: serve the app, or run an operator's command, with the settings from
the environment and `.env`.

    chatroom                         serve (the Procfile runs uvicorn directly, to the same effect)
    chatroom --check                 check the settings, htmx, the store and its migration level, the bus
    chatroom backup PATH             a consistent copy of the SQLite store while it runs
    chatroom export [--room R] PATH  rooms and messages as JSON Lines
    chatroom import PATH             the same, into this store, keeping each room's seq
    chatroom user add NAME --role R  an account, its password from standard input (`chatroom.accounts.cli`)

Commands come from the functions in `COMMANDS`, one per module, each `add_commands(subparsers)`. A
command is `chatroom.commands.add_command(subparsers, "name", run)` plus its arguments, where `run` is
an `async def run(settings, args) -> int` (the exit status) whose docstring is the command's help. A
`chatroom.errors.ChatError` it raises is printed as one sentence, exit status 1.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

import uvicorn

from chatroom import commands, logs
from chatroom.app import create_app
from chatroom.errors import ChatError, StartupError
from chatroom.settings import Settings
from chatroom.transports.socket import MAX_FRAME_BYTES
from chatroom.web.http_protocol import BoundedHeadProtocol
from chatroom.web.ws_protocol import LeanWebSocketProtocol


def add_user_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`user …` in the list of commands; `main` hands its whole line to the accounts' own parser."""
    subparsers.add_parser("user", help="manage accounts: user add NAME --role admin", add_help=False)


def _user(rest: list[str]) -> int:
    from chatroom.accounts import cli  # only when asked for: serving does not need it at start-up

    return cli.main(rest)


COMMANDS = (commands.add_commands, add_user_command)


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chatroom",
        description="Serve the chat (with no command), or run an operator's command. Settings come from the "
        "environment and .env, as for the server.",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="check the settings, htmx's files, the store (and its migration level) and the bus, then exit: "
        "0 when all are fine, 1 otherwise",
    )
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for add_commands in COMMANDS:
        add_commands(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["user"]:
        sys.exit(_user(argv[1:]))
    args = parser().parse_args(argv)
    run = commands.check if args.check else getattr(args, "run", None)
    if args.check and getattr(args, "run", None) is not None:
        parser().error("--check runs alone, without a command")
    try:
        settings = Settings.from_env()
        if run is None:
            serve(settings)
            return
        status = asyncio.run(run(settings, args))
    except ChatError as exc:
        sys.exit(f"chatroom: {exc}")
    sys.exit(status)


def serve(settings: Settings) -> None:
    try:
        app = create_app(settings)
    except StartupError as exc:
        sys.exit(f"chatroom: {exc}")
    print(f"chatroom: serving on http://{settings.host}:{settings.port}", file=sys.stderr)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        http=BoundedHeadProtocol,
        ws=LeanWebSocketProtocol,
        proxy_headers=True,
        timeout_graceful_shutdown=20,
        ws_per_message_deflate=settings.ws_per_message_deflate,
        # The server refuses a bigger frame at its header, before buffering it (the app checks again).
        ws_max_size=MAX_FRAME_BYTES,
        server_header=False,
        log_config=logs.server_logging(settings.log_format),
    )


if __name__ == "__main__":
    main()
