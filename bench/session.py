"""What every scenario shares: its settings, and a session of one server with its users."""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.accounts import guest_cookies, signed_in_cookies
from bench.client import Endpoint, User
from bench.loadgen import Generator
from bench.servers import Server
from bench.targets import ServerSpec, Target

PAD = "the quick brown fox jumps over the lazy dog"
HISTORY = 50  # messages in the room before a storm, so every snapshot is a full one
_rooms = itertools.count()


@dataclass
class Settings:
    fanout_clients: tuple[int, ...] = (100, 1000, 2000, 5000)
    fanout_rate: float = 5.0  # messages/s in total, whatever the room size
    senders: int = 5
    duration: float = 8.0
    drain: float = 5.0
    ramp_clients: int = 1000
    ramp_start: float = 2.0
    ramp_max: float = 1000.0
    ramp_min: float = 0.25
    ramp_refine: int = 3
    ramp_duration: float = 4.0
    p99_limit_ms: float = 250.0
    idle_levels: tuple[int, ...] = (1000, 5000, 10000)
    storm_clients: int = 2000
    reconnect_clients: int = 2000
    many_rooms: int = 2000  # the many-rooms scenario: rooms, each with its own viewers and its own sender
    room_viewers: int = 5
    room_rate: float = 1.0  # messages/s in each room
    origin: bool = False
    deflate: bool = True
    connect_timeout: float = 60.0


QUICK = Settings(
    fanout_clients=(100, 500),
    duration=2.0,
    drain=2.0,
    ramp_clients=200,
    ramp_start=5.0,
    ramp_refine=2,
    ramp_min=1.0,
    ramp_duration=1.5,
    ramp_max=2000.0,
    idle_levels=(200, 1000),
    storm_clients=300,
    reconnect_clients=300,
    many_rooms=100,
    connect_timeout=20.0,
)


def room_path(target: Target) -> str:
    return target.path.format(room=f"bench{os.getpid()}x{next(_rooms)}")


class Session:
    """One server plus the generator's users for one target, torn down on exit."""

    def __init__(self, spec: ServerSpec, target: Target, settings: Settings) -> None:
        self.spec, self.target, self.settings = spec, target, settings
        self.server = Server(spec)
        self.gen = Generator()
        self.users: list[User] = []

    async def __aenter__(self) -> Session:
        self.server.start()
        await self.server.ready()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        try:
            await self.gen.close(self.users)
        finally:
            await self.server.stop()
            self.server.cleanup()

    def endpoint(self, path: str | None = None) -> Endpoint:
        return Endpoint(
            "127.0.0.1",
            self.server.port,
            path or room_path(self.target),
            self.target.protocol,
            origin=self.settings.origin,
            deflate=self.settings.deflate,
        )

    def add_users(self, endpoint: Endpoint, n: int) -> list[User]:
        users = self.gen.users(endpoint, n, first=len(self.users))
        self.users += users
        return users

    async def sign_in(self, users: list[User]) -> None:
        """Give each user the target's session cookie: a named guest's, or an account's (made in the server's
        store) for a signed-in target."""
        if self.target.session == "guest":
            cookies = guest_cookies(len(users))
        elif self.target.session == "account":
            cookies = await signed_in_cookies(f"sqlite:///{Path(self.server.data.name) / 'chat.sqlite3'}", len(users))
        else:
            return
        for user, cookie in zip(users, cookies, strict=True):
            user.headers.append(("Cookie", cookie))

    async def drop_users(self) -> None:
        await self.gen.close(self.users)
        self.users = []

    async def seed(self, endpoint: Endpoint, n: int = HISTORY) -> None:
        """Fill the room's history so snapshots carry HISTORY messages."""
        (writer,) = self.add_users(endpoint, 1)
        await self.gen.connect([writer], timeout=10)
        await self.gen.send_phase([writer], 1, rate=200, duration=n / 200, drain=2, pad=PAD)
        await self.drop_users()
