"""`chatroom` / `python -m chatroom`: serve the app with the settings from the environment and `.env`;
`chatroom user add NAME --role admin` makes an account (`chatroom.accounts.cli`)."""

from __future__ import annotations

import sys

import uvicorn

from chatroom.app import create_app
from chatroom.errors import StartupError
from chatroom.settings import Settings
from chatroom.transports.socket import MAX_FRAME_BYTES
from chatroom.web.http_protocol import BoundedHeadProtocol


def main() -> None:
    if sys.argv[1:2] == ["user"]:
        from chatroom.accounts import cli

        sys.exit(cli.main(sys.argv[2:]))
    try:
        settings = Settings.from_env()
        app = create_app(settings)
    except StartupError as exc:
        sys.exit(f"chatroom: {exc}")
    print(f"chatroom: serving on http://{settings.host}:{settings.port}", file=sys.stderr)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        http=BoundedHeadProtocol,
        proxy_headers=True,
        timeout_graceful_shutdown=20,
        ws_per_message_deflate=settings.ws_per_message_deflate,
        # The server refuses a bigger frame at its header, before buffering it (the app checks again).
        ws_max_size=MAX_FRAME_BYTES,
        server_header=False,
    )


if __name__ == "__main__":
    main()
