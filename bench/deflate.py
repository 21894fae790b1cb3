"""permessage-deflate (RFC 7692) for the generator's clients, offered exactly as Chromium offers it.

picows's core leaves extensions to its user, so each client keeps its own compressor and
inflater here, honouring whatever window sizes and context takeover the server answered.
"""

from __future__ import annotations

import zlib

DEFLATE_OFFER = "permessage-deflate; client_max_window_bits"  # Chromium's offer, verbatim
DEFLATE_TAIL = b"\x00\x00\xff\xff"


class Deflate:
    """permessage-deflate (RFC 7692) state of one connection, as the server answered it."""

    __slots__ = ("client_bits", "client_reset", "decoder", "encoder", "server_bits", "server_reset")

    def __init__(self, params: dict[str, str | None]) -> None:
        self.server_reset = "server_no_context_takeover" in params
        self.client_reset = "client_no_context_takeover" in params
        self.server_bits = -int(params.get("server_max_window_bits") or 15)
        self.client_bits = -int(params.get("client_max_window_bits") or 15)
        self.decoder = zlib.decompressobj(wbits=self.server_bits)
        self.encoder = zlib.compressobj(wbits=self.client_bits)

    @classmethod
    def negotiated(cls, header: str | None) -> Deflate | None:
        if not header:
            return None
        name, *raw = (part.strip() for part in header.split(",", 1)[0].split(";"))
        if name != "permessage-deflate":
            return None
        params: dict[str, str | None] = {}
        for item in filter(None, raw):
            key, _, value = item.partition("=")
            params[key.strip()] = value.strip().strip('"') or None
        return cls(params)

    def decompress(self, data: bytes) -> bytes:
        # One decoder serves even with server_no_context_takeover: a message made by a fresh
        # compressor never refers back to older bytes, and each ends on a block boundary.
        out = self.decoder.decompress(data + DEFLATE_TAIL)
        if self.decoder.eof:  # the sender closed its stream (BFINAL): the next message starts a new one
            self.decoder = zlib.decompressobj(wbits=self.server_bits)
        return out

    def compress(self, data: bytes) -> bytes:
        if self.client_reset:
            self.encoder = zlib.compressobj(wbits=self.client_bits)
        out = self.encoder.compress(data) + self.encoder.flush(zlib.Z_SYNC_FLUSH)
        return out[:-4] if out.endswith(DEFLATE_TAIL) else out
