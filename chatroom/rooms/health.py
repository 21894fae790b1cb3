"""Whether the store and the bus answer: each failing part's error text, logged when it starts or changes."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from chatroom.bus import Bus
from chatroom.store import MessageStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Health:
    """The store's and the bus's answers: `problems` holds each failing part's error text (never shown publicly)."""

    problems: dict[str, str]
    bus_backend: str
    connections: int

    @property
    def ok(self) -> bool:
        return not self.problems


class HealthCheck:
    def __init__(self, store: MessageStore, bus: Bus) -> None:
        self.parts: dict[str, MessageStore | Bus] = {"store": store, "bus": bus}
        self.bus_backend = bus.kind
        self._problems: dict[str, str] = {}

    async def __call__(self, connections: int) -> Health:
        problems: dict[str, str] = {}
        for part, checked in self.parts.items():
            try:
                await checked.ping()
            except Exception as exc:
                problems[part] = str(exc) or type(exc).__name__
        for part in self.parts:
            if problems.get(part) != self._problems.get(part):
                if part in problems:
                    log.warning("health: %s unavailable: %s", part, problems[part])
                else:
                    log.info("health: %s ok again", part)
        self._problems = problems
        return Health(problems, self.bus_backend, connections)
