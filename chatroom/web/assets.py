"""htmx, served from what `npm ci` installed: pinned by the lockfile, never from a CDN, never committed."""

from __future__ import annotations

import json
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse

from chatroom.errors import MissingAssets, NotFound
from chatroom.web.paths import HTMX_PACKAGE

FILES = {"core": "htmx.min.js", "ws": "ext/hx-ws.min.js", "sse": "ext/hx-sse.min.js"}


class Htmx:
    def __init__(self, dist: Path = HTMX_PACKAGE / "dist") -> None:
        self.dist = dist
        try:
            self.version = json.loads((dist.parent / "package.json").read_text())["version"]
        except FileNotFoundError:
            raise MissingAssets(f"htmx is not installed in {dist.parent}: run `npm ci` (or ./scripts/setup)") from None
        for name in FILES.values():
            if not (dist / name).is_file():
                raise MissingAssets(f"{dist / name} is missing: run `npm ci` (or ./scripts/setup)")

    def scripts(self, transport: str) -> list[str]:
        return [self.url("core"), self.url(transport)]

    def url(self, part: str) -> str:
        return f"/static/htmx/{self.version}/{FILES[part]}"

    async def serve(self, request: Request) -> FileResponse:
        name = request.path_params["name"]
        if request.path_params["version"] != self.version or name not in FILES.values():
            raise NotFound("No such htmx file.")
        # The version is in the URL, so the file can be cached for good.
        headers = {"Cache-Control": "public, max-age=31536000, immutable"}
        return FileResponse(self.dist / name, media_type="text/javascript", headers=headers)
