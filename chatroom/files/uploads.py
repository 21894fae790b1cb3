"""An upload's files, checked and prepared for the store: counted, sized, named, and images drawn again."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Sequence

from chatroom.errors import Refused, TooLarge
from chatroom.files.images import drawn_again
from chatroom.files.names import safe_name
from chatroom.settings import Settings
from chatroom.store import Attachment, NewFile

DOWNLOAD = "application/octet-stream"  # what every file that is not an image is served as
IMAGE_WORKERS = 1  # images decoded at once per process: each may hold ~100 MB while it is drawn


class Uploads:
    def __init__(self, settings: Settings) -> None:
        self.max_bytes = settings.max_upload_bytes
        self.max_files = settings.max_files_per_message
        self._drawing = asyncio.Semaphore(IMAGE_WORKERS)

    async def prepare(self, files: Sequence[tuple[str, bytes]]) -> list[NewFile]:
        """(name as uploaded, bytes) → files to store. Refused (nothing is kept) for too many files, an empty
        one, more than `max_bytes` in all (TooLarge), a damaged image or one with too many pixels."""
        if len(files) > self.max_files:
            raise Refused(
                "too_many_files", f"A message can have at most {self.max_files} files; this one has {len(files)}."
            )
        if sum(len(data) for _, data in files) > self.max_bytes:
            raise TooLarge(self.max_bytes)
        prepared = []
        for raw_name, data in files:
            name = safe_name(raw_name)
            if not data:
                raise Refused("empty_file", f"{name} is empty; an empty file is not sent.")
            async with self._drawing:
                image = await asyncio.to_thread(drawn_again, data)
            file_id = secrets.token_urlsafe(16)
            if image is None:
                prepared.append(NewFile(Attachment(file_id, name, DOWNLOAD, len(data)), data))
            else:
                attachment = Attachment(file_id, name, image.type, len(image.data), image.width, image.height)
                prepared.append(NewFile(attachment, image.data, image.thumbnail))
        return prepared
