"""Passwords: 8 to 1024 characters, kept as argon2id hashes, hashed off the event loop a few at a time."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Callable
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from chatroom.errors import RateLimited, Refused

T = TypeVar("T")

MIN_LENGTH = 8
MAX_LENGTH = 1024
# argon2-cffi's default: argon2id with RFC 9106's low-memory parameters (64 MiB, 3 passes, 4 lanes),
# about 0.1 s of one core. Tests swap in a cheaper hasher.
HASHER = PasswordHasher()
AT_ONCE = 2  # hashes computed together: each takes 64 MiB and most of a core
MAX_WAITING = 32  # beyond this, a sign-in is told to come back rather than queue


def password(raw: object) -> str:
    """The password as typed, checked against the rules (before any hashing: a long one costs nothing)."""
    text = raw if isinstance(raw, str) else ""
    if len(text) < MIN_LENGTH:
        raise Refused("invalid_password", f"A password has at least {MIN_LENGTH} characters.")
    if len(text) > MAX_LENGTH:
        raise Refused("invalid_password", f"A password has at most {MAX_LENGTH} characters.")
    return text


def new_secret() -> str:
    """A token for a link or a header: 192 random bits, URL-safe."""
    return secrets.token_urlsafe(24)


def digest(secret: str) -> str:
    """What the store keeps of a secret token: guessing is hopeless, so a fast hash is enough."""
    return hashlib.sha256(secret.encode()).hexdigest()


class Hashing:
    """argon2id on worker threads, `AT_ONCE` at a time, so a burst of sign-ins cannot stall every room."""

    def __init__(self) -> None:
        self._slots = asyncio.Semaphore(AT_ONCE)
        self._waiting = 0
        self._decoy: str | None = None

    async def hash(self, text: str) -> str:
        return await self._run(HASHER.hash, text)

    async def verify(self, hashed: str, text: str) -> bool:
        """Whether `text` is the password of `hashed`; with no hash (no such account), the same work is done
        against a decoy, so the answer's timing does not tell whether the name exists."""
        if not hashed:
            if self._decoy is None:
                self._decoy = await self._run(HASHER.hash, new_secret())
            hashed = self._decoy
        try:
            return await self._run(HASHER.verify, hashed, text)
        except (VerificationError, InvalidHashError):
            return False

    async def _run(self, work: Callable[..., T], *args: str) -> T:
        if self._waiting >= MAX_WAITING:
            raise RateLimited("Too many people are signing in right now; try again in a moment.")
        self._waiting += 1
        try:
            async with self._slots:
                return await asyncio.to_thread(work, *args)
        finally:
            self._waiting -= 1
