"""What one client address may cost, whatever its cookies and connections: cookies and sockets are free
to an attacker, its addresses are not.

Each limit is a token bucket keyed by the address (`chatroom.addresses.client_address`); those that
also follow a person are keyed by their session too. Defaults leave room for an office or a
classroom behind one address. Everything here is per process.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from types import TracebackType

from chatroom.errors import RateLimited, TooManyConnections
from chatroom.rooms.ratelimit import RateLimiter
from chatroom.settings import Settings

NEW_SESSIONS_PER_MINUTE = 60  # guests one address may become; a school's first lesson, not a script's loop
ROOMS_PER_MINUTE_PER_SESSION = 6
ROOMS_PER_MINUTE_PER_ADDRESS = 30
HISTORY_PAGES_PER_SECOND = 10  # "load older", ?before/?around pages and replays that read the store
HISTORY_BURST = 30
# Browsers send one typing event per 2 s (hx-trigger throttle); more than this is not a browser.
TYPING_PER_PERSON_PER_SECOND = 1.0
TYPING_PER_PERSON_BURST = 3
# Enough for a classroom or an office behind one NAT, typing at a browser's pace.
TYPING_PER_ADDRESS_PER_SECOND = 20.0
TYPING_PER_ADDRESS_BURST = 40
# Private rooms: opening a direct conversation writes to the store; adding someone tells every process.
DIRECT_PER_PERSON_PER_MINUTE = 30
DIRECT_PER_ADDRESS_PER_MINUTE = 60
MEMBER_ADDS_PER_PERSON_PER_MINUTE = 20
MEMBER_ADDS_PER_ADDRESS_PER_MINUTE = 60
# A search reads the index and renders a page of results: a person searching, not a script paging through all.
SEARCHES_PER_PERSON_PER_SECOND = 1.0
SEARCHES_PER_PERSON_BURST = 5
SEARCHES_PER_ADDRESS_PER_SECOND = 5.0
SEARCHES_PER_ADDRESS_BURST = 20
# An upload is parsed, stored and (an image) decoded: a few a minute is sharing, not filling the database.
UPLOADS_PER_PERSON_PER_MINUTE = 20
UPLOADS_PER_PERSON_BURST = 10
UPLOADS_PER_ADDRESS_PER_MINUTE = 60
UPLOADS_PER_ADDRESS_BURST = 30
# The "browse rooms" pages read the store: a person paging through hundreds of rooms, not a script reading all.
BROWSE_PAGES_PER_ADDRESS_PER_SECOND = 5.0
BROWSE_PAGES_PER_ADDRESS_BURST = 20
# A room's unread choice is a write: a person changing their mind, not a loop.
NOTIFY_PER_PERSON_PER_MINUTE = 30
NOTIFY_PER_ADDRESS_PER_MINUTE = 120


class AddressLimits:
    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic) -> None:
        per_address = settings.rate_limit_per_address
        # At most one second's worth at once: a whole classroom pressing Enter together.
        self.messages = RateLimiter(per_address, max(1, math.ceil(per_address)), clock)
        self.sessions = RateLimiter(NEW_SESSIONS_PER_MINUTE / 60, NEW_SESSIONS_PER_MINUTE, clock)
        self.rooms_by_session = RateLimiter(ROOMS_PER_MINUTE_PER_SESSION / 60, ROOMS_PER_MINUTE_PER_SESSION, clock)
        self.rooms = RateLimiter(ROOMS_PER_MINUTE_PER_ADDRESS / 60, ROOMS_PER_MINUTE_PER_ADDRESS, clock)
        self.history = RateLimiter(HISTORY_PAGES_PER_SECOND, HISTORY_BURST, clock)
        self.typing_by_person = RateLimiter(TYPING_PER_PERSON_PER_SECOND, TYPING_PER_PERSON_BURST, clock)
        self.typing = RateLimiter(TYPING_PER_ADDRESS_PER_SECOND, TYPING_PER_ADDRESS_BURST, clock)
        self.searches_by_person = RateLimiter(SEARCHES_PER_PERSON_PER_SECOND, SEARCHES_PER_PERSON_BURST, clock)
        self.searches = RateLimiter(SEARCHES_PER_ADDRESS_PER_SECOND, SEARCHES_PER_ADDRESS_BURST, clock)
        self.uploads_by_person = RateLimiter(UPLOADS_PER_PERSON_PER_MINUTE / 60, UPLOADS_PER_PERSON_BURST, clock)
        self.uploads = RateLimiter(UPLOADS_PER_ADDRESS_PER_MINUTE / 60, UPLOADS_PER_ADDRESS_BURST, clock)
        self.browse_pages = RateLimiter(BROWSE_PAGES_PER_ADDRESS_PER_SECOND, BROWSE_PAGES_PER_ADDRESS_BURST, clock)
        self.notify_by_person = RateLimiter(NOTIFY_PER_PERSON_PER_MINUTE / 60, NOTIFY_PER_PERSON_PER_MINUTE, clock)
        self.notify = RateLimiter(NOTIFY_PER_ADDRESS_PER_MINUTE / 60, NOTIFY_PER_ADDRESS_PER_MINUTE, clock)
        self.direct_by_person = RateLimiter(DIRECT_PER_PERSON_PER_MINUTE / 60, DIRECT_PER_PERSON_PER_MINUTE, clock)
        self.direct_opens = RateLimiter(DIRECT_PER_ADDRESS_PER_MINUTE / 60, DIRECT_PER_ADDRESS_PER_MINUTE, clock)
        self.adds_by_person = RateLimiter(
            MEMBER_ADDS_PER_PERSON_PER_MINUTE / 60, MEMBER_ADDS_PER_PERSON_PER_MINUTE, clock
        )
        self.adds = RateLimiter(MEMBER_ADDS_PER_ADDRESS_PER_MINUTE / 60, MEMBER_ADDS_PER_ADDRESS_PER_MINUTE, clock)
        self.connections = Connections(settings.max_connections_per_address)

    def message(self, address: str) -> None:
        if not self.messages.allow(address):
            raise RateLimited("Too many messages from your network right now; wait a moment and send again.")

    def new_session(self, address: str | None) -> bool:
        """Whether a visitor without a session may be made a guest now."""
        return address is None or self.sessions.allow(address)

    def room(self, address: str, uid: str | None) -> None:
        if (uid is not None and not self.rooms_by_session.allow(uid)) or not self.rooms.allow(address):
            raise RateLimited("You are creating rooms too fast; wait a minute and try again.")

    def direct(self, uid: str, address: str) -> None:
        """A direct conversation opened by person `uid` from `address`."""
        if not self.direct_by_person.allow(uid) or not self.direct_opens.allow(address):
            raise RateLimited("You are opening conversations too fast; wait a minute and try again.")

    def member(self, uid: str, address: str) -> None:
        """Someone added to (or removed from) a private room by person `uid` from `address`."""
        if not self.adds_by_person.allow(uid) or not self.adds.allow(address):
            raise RateLimited("You are adding or removing people too fast; wait a minute and try again.")

    def typing_event(self, uid: str, address: str | None) -> bool:
        """Whether a typing event of person `uid` is shown: one bucket per person (all their sockets and the
        SSE page), one per address. Refused events are dropped, not answered: typing is best effort."""
        return self.typing_by_person.allow(uid) and (address is None or self.typing.allow(address))

    def search(self, uid: str | None, address: str | None) -> None:
        """A search by person `uid` (None: no session) from `address` (None: not from the network)."""
        by_person = uid is None or self.searches_by_person.allow(uid)
        if not by_person or (address is not None and not self.searches.allow(address)):
            raise RateLimited("You are searching too fast; wait a moment and try again.")

    def upload(self, uid: str, address: str | None) -> None:
        """An upload by person `uid` from `address` (None: not from the network)."""
        if not self.uploads_by_person.allow(uid) or (address is not None and not self.uploads.allow(address)):
            raise RateLimited("You are sending files too fast; wait a minute and try again.")

    def browse(self, address: str) -> None:
        if not self.browse_pages.allow(address):
            raise RateLimited("You are browsing rooms too fast; wait a moment and try again.")

    def notify_choice(self, uid: str, address: str | None) -> None:
        if not self.notify_by_person.allow(uid) or (address is not None and not self.notify.allow(address)):
            raise RateLimited("You are changing what counts as unread too fast; wait a minute and try again.")

    def history_page(self, address: str) -> None:
        if not self.history.allow(address):
            raise RateLimited("You are loading older messages too fast; wait a moment and try again.")


class Connections:
    """Open WebSocket and SSE connections per address in this process; an address with none is forgotten."""

    def __init__(self, per_address: int) -> None:
        self.per_address = per_address
        self._open: dict[str, int] = {}

    def take(self, address: str | None) -> Slot:
        """A slot for one connection, held until it is released; raises TooManyConnections at the cap."""
        if address is None:
            return Slot(None, "")
        held = self._open.get(address, 0)
        if held >= self.per_address:
            raise TooManyConnections
        self._open[address] = held + 1
        return Slot(self, address)

    def count(self, address: str) -> int:
        return self._open.get(address, 0)

    def _release(self, address: str) -> None:
        held = self._open.pop(address) - 1
        if held:
            self._open[address] = held


class Slot:
    def __init__(self, connections: Connections | None, address: str) -> None:
        self._connections: Connections | None = connections
        self.address = address

    def release(self) -> None:
        """Free the slot; releasing it again does nothing."""
        if self._connections is not None:
            self._connections._release(self.address)
            self._connections = None

    def __enter__(self) -> Slot:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.release()
