"""Every error a person or the system can cause, and what it becomes on each wire.

Each class carries its answers, so a door chooses by type, never by comparing strings:
`status` (HTTP), `code` (the JSON protocol's `"error"` field), `close` (a WebSocket close code,
when the error ends a connection) and `detail` (the sentence shown to people). On the htmx
wires, a refusal is `detail` in the sender's `#errors`.

    ChatError
    ├── Refused              a person's input broke a rule: they are told why, and may try again
    │   │                    422 · JSON error frame, the socket stays open · htmx #errors
    │   ├── RateLimited      429 with Retry-After · "rate_limited" · per person, or per client address
    │   │   └── TooManyConnections  429 with Retry-After · close 1013 · an address's connections at the cap
    │   ├── NotFound         404 · the page says why (an invalid room name in a URL)
    │   ├── Forbidden        403 · close 1008 · another site's form or handshake; a role or membership missing
    │   ├── WrongPassword    401 · a sign-in that failed, in one sentence whether or not the name exists
    │   ├── TooLarge         413 · an upload over MAX_UPLOAD_BYTES
    │   └── FrameTooBig      close 1009 · a WebSocket frame over the app's limit
    ├── Unavailable          a part of the system does not answer; nothing happened, try again
    │   │                    503 with Retry-After · close 1013
    │   ├── StoreUnavailable the database did not answer; nothing was stored
    │   │   └── NotStored    a message the store refused: told to its sender · "store_unavailable"
    │   ├── BusUnavailable   the broadcast backend is down; the store is still the truth
    │   └── FeedUnavailable  a room's feed could not load its history in time
    ├── OutboxOverflow       a connection did not read fast enough · close 1013, it resyncs
    ├── SignedOut            the connection's session ended · close 1008
    ├── SignInFirst          a page for signed-in people: 303 to /signin, and back after
    ├── StartupError         the app cannot start; the sentence names what to fix
    │   ├── SettingsError    a setting is invalid (names the variable)
    │   └── MissingAssets    htmx is not installed (`npm ci`)
    └── CommandError         a console command (backup, export, import) cannot do what was asked; says why

Errors of the system are logged where they are caught, with the technical reason (`str(error)`);
people see `detail`, which never carries it.
"""

from __future__ import annotations

from typing import ClassVar

import orjson


class ChatError(Exception):
    status: ClassVar[int] = 500
    close: ClassVar[int] = 1011
    title: ClassVar[str] = "Error"
    default_code: ClassVar[str] = "error"
    default_detail: ClassVar[str] = "Something went wrong."
    retry_after: ClassVar[int | None] = None  # seconds, sent as Retry-After on HTTP

    def __init__(self, reason: str = "", *, code: str = "", detail: str = "") -> None:
        """`reason` is for the log (the technical cause); `detail` for people, `code` for machines."""
        super().__init__(reason or detail or self.default_detail)
        self.code = code or self.default_code
        self.detail = detail or self.default_detail

    def json_frame(self) -> str:
        """The seed JSON protocol's answer, to the one client that caused it."""
        return orjson.dumps({"type": "error", "error": self.code, "detail": self.detail}).decode()


class Refused(ChatError):
    """A person's input broke a rule: `code` says which, `detail` says why in a sentence."""

    status = 422
    close = 1008
    title = "Not understood"

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(code=code, detail=detail)


class RateLimited(Refused):
    status = 429
    title = "Too fast"
    retry_after = 1

    def __init__(self, detail: str = "You are sending messages too fast; wait a moment and send again.") -> None:
        super().__init__("rate_limited", detail)


class TooManyConnections(RateLimited):
    close = 1013  # "try again later": htmx reconnects, with its backoff
    retry_after = 10

    def __init__(self) -> None:
        Refused.__init__(
            self,
            "too_many_connections",
            "Too many open connections from your network; close some tabs or try again in a moment.",
        )


class NotFound(Refused):
    status = 404
    title = "Not found"

    def __init__(self, detail: str) -> None:
        super().__init__("not_found", detail)


class Forbidden(Refused):
    status = 403
    title = "Not allowed"

    def __init__(self, detail: str) -> None:
        super().__init__("forbidden", detail)


class WrongPassword(Refused):
    status = 401
    title = "Not signed in"

    def __init__(self, detail: str = "That name and password do not match an account.") -> None:
        super().__init__("wrong_password", detail)


class SignedOut(ChatError):
    """The session of a connection ended (signed out, deactivated, a bot's token replaced): it is closed."""

    status = 401
    close = 1008
    default_code = "signed_out"
    default_detail = "Your session ended; sign in again."


class SignInFirst(ChatError):
    status = 303
    default_code = "sign_in_first"
    default_detail = "Sign in first."

    def __init__(self, back: str) -> None:
        super().__init__()
        self.back = back  # the page to return to


class TooLarge(Refused):
    status = 413
    title = "Too large"

    def __init__(self, limit: int) -> None:
        super().__init__("upload_too_large", f"An upload can be at most {limit:,} bytes in all.")


class FrameTooBig(Refused):
    status = 413
    close = 1009

    def __init__(self, limit: int) -> None:
        super().__init__("frame_too_big", f"A frame can be at most {limit} bytes.")


class Unavailable(ChatError):
    status = 503
    close = 1013
    title = "Temporarily unavailable"
    retry_after = 5
    default_code = "unavailable"
    default_detail = "A part of the chat is not answering right now. Nothing was lost; try again in a moment."


class StoreUnavailable(Unavailable):
    default_code = "store_unavailable"
    default_detail = "The message store is not answering right now. Nothing was lost; try again in a moment."


class NotStored(StoreUnavailable):
    default_detail = "Your message could not be saved, so it was not sent. Try again in a moment."


class BusUnavailable(Unavailable):
    default_code = "bus_unavailable"


class FeedUnavailable(Unavailable):
    default_code = "feed_unavailable"


class OutboxOverflow(ChatError):
    close = 1013
    default_code = "slow_reader"
    default_detail = "The connection fell behind the room; it reconnects and starts from the latest messages."


class StartupError(ChatError):
    """Raised before serving; `str(error)` is the whole sentence, printed as the app exits."""


class SettingsError(StartupError, ValueError):
    pass


class MissingAssets(StartupError):
    pass


class CommandError(ChatError):
    """An operator's console command cannot be done as asked: the sentence says why and what to do instead."""
