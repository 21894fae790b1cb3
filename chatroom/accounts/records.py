"""What the store keeps about people with accounts: the account, a session, a token (invite, setup, reset, bot).

Plain records with no behaviour, shared by the store that writes them and the accounts that read them.
"""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("admin", "moderator", "member")
# A token's kind: what its link or header lets its holder do.
INVITE, SETUP, RESET, BOT = "invite", "setup", "reset", "bot"


@dataclass(frozen=True, slots=True)
class Account:
    id: str  # "a…" for a person, "b…" for a bot; never the 12 hex digits of a guest's uid
    name: str
    role: str  # one of ROLES
    active: bool = True
    password_hash: str = ""  # empty for a bot, which has a token instead
    created_at: int = 0  # microseconds since the epoch

    @property
    def bot(self) -> bool:
        return self.id.startswith("b")


@dataclass(frozen=True, slots=True)
class Token:
    id: str  # public: names the token in forms (revoke); the secret itself is never stored
    kind: str  # INVITE, SETUP, RESET or BOT
    account: str | None  # whose password a reset sets; the bot a bot token speaks for
    role: str  # the role an invite or setup gives
    uses_left: int | None  # None: unlimited (a bot's)
    created_by: str | None
    created_at: int
    expires_at: int | None  # None: never
