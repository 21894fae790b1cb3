"""The door to accounts: who a visitor is, and every change to accounts, sessions and tokens.

Web pages and transports ask `Accounts` who is behind a cookie or a bearer token (`person`), and call it
to sign up, sign in and out, and for the administrators' work. It keeps names unique (`claim`), the
costly parts bounded (password hashing, sign-in attempts per name and per client address, sign-ups per
address), and every process's view of sessions current through the bus.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from typing import Any

from chatroom import metrics
from chatroom.accounts.passwords import Hashing, digest, new_secret, password
from chatroom.accounts.records import INVITE, RESET, ROLES, SETUP, Account, Token
from chatroom.accounts.sessions import Sessions
from chatroom.bus import Bus
from chatroom.errors import Forbidden, NotFound, RateLimited, Refused, StoreUnavailable, WrongPassword
from chatroom.identity import ACCOUNT, Person
from chatroom.identity import BOT as BOT_KIND
from chatroom.names import GUEST_PREFIX, chosen_name, display_name, key
from chatroom.rooms.ratelimit import RateLimiter
from chatroom.settings import Settings
from chatroom.store import MessageStore, NameKeys, now_us

log = logging.getLogger(__name__)

DAY_US = 86_400 * 1_000_000
SESSION_DAYS = 365  # as long as the cookie
NEVER = 253_402_300_799_000_000  # a bot's session: 9999-12-31, until revoked
SETUP_DAYS = 1
RESET_DAYS = 1
INVITE_DAYS = (1, 7, 30)
INVITE_USES = (1, 5, 25, 100)
# Sign-in attempts, counted before the password is checked: a person who mistypes gets several tries, a
# script gets one a minute per name (a name is attacked from many addresses) and a few a minute per address.
SIGN_INS_PER_NAME = (1 / 60, 10)
SIGN_INS_PER_ADDRESS = (1 / 10, 30)
SIGN_UPS_PER_ADDRESS = (20 / 3600, 20)  # accounts one address may make: a classroom's first lesson
# Invite, setup and reset links opened: a read each. A class opening one invite together, not a script guessing.
LINKS_PER_ADDRESS = (1, 60)
NAME_CACHE_SECONDS = 30.0
TAKEN = "{name} is taken (or looks like a name that is); choose another."
NAME_CACHE_SIZE = 10_000


class Accounts:
    def __init__(self, store: MessageStore, bus: Bus, settings: Settings) -> None:
        self.store = store
        self.bus = bus
        self.settings = settings
        self.hashing = Hashing()
        self.sessions = Sessions(lambda ids: self.store.sessions(ids, now_us()))
        self.by_name = RateLimiter(*SIGN_INS_PER_NAME)
        self.by_address = RateLimiter(*SIGN_INS_PER_ADDRESS)
        self.sign_ups = RateLimiter(*SIGN_UPS_PER_ADDRESS)
        self.links = RateLimiter(*LINKS_PER_ADDRESS)
        self._holders: dict[str, tuple[str | None, float]] = {}  # name -> (its account's id, until)
        self._task: asyncio.Task[None] | None = None

    @property
    def members_only(self) -> bool:
        return self.settings.access == "members"

    async def start(self) -> None:
        """Follow the bus; while no administrator exists, log a link that makes the first one."""
        self._task = asyncio.create_task(self._follow())
        if await self.store.count_admins() == 0:
            secret = await self._new_token(SETUP, role="admin", uses=1, days=SETUP_DAYS)
            where = f"http://{self.settings.host}:{self.settings.port}"
            log.warning(
                "no administrator yet: open %s/setup/%s within %d day to make one "
                "(or run: python -m chatroom user add NAME --role admin)",
                where,
                secret,
                SETUP_DAYS,
            )

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    # Who is this?

    async def person(self, session: dict[str, Any] | None, bearer: str | None = None) -> Person | None:
        """The account's person (or bot) behind a live session token, in the cookie's `session` or a bearer
        header; None when there is none, or it ended. Looks up the store at most once a minute per session."""
        session_id = _session_id(session, bearer)
        if session_id is None:
            return None
        account = await self.sessions.account(session_id)
        return _person(account) if account is not None else None

    def watch(
        self, session: dict[str, Any] | None, person: Person, end: Callable[[], object], bearer: str | None = None
    ) -> AbstractContextManager[None]:
        """While inside, `end` is called when the session of `person` (a signed-in one) ends anywhere."""
        session_id = _session_id(session, bearer)
        if not person.signed_in or session_id is None:
            return _UNWATCHED
        return self.sessions.watch(session_id, person.uid, end)

    # Names: an account holds its name everywhere.

    async def holder(self, name: str) -> str | None:
        """The id of the account whose name is `name` or looks like it (kept for a while per process)."""
        if name.startswith(f"{GUEST_PREFIX}-"):
            return None  # generated guest names are never an account's
        loop = asyncio.get_running_loop()
        cached = self._holders.get(name)
        if cached is not None and cached[1] > loop.time():
            return cached[0]
        held = await self.store.name_holder(_keys(name))
        if len(self._holders) >= NAME_CACHE_SIZE:
            self._holders.clear()
        self._holders[name] = (held[0] if held else None, loop.time() + NAME_CACHE_SECONDS)
        return held[0] if held else None

    async def claim(self, person: Person, name: str) -> None:
        """Refused (`name_taken`) when an account other than `person`'s holds `name` or a look-alike."""
        holder = await self.holder(name)
        if holder is not None and holder != person.uid:
            raise Refused("name_taken", f"{name} belongs to an account; choose another name.")

    async def rename(self, person: Person, name: str) -> Person:
        """An account's new name, held from now on."""
        if not await self.store.rename_account(person.uid, name, _keys(name)):
            raise Refused("name_taken", f"{name} belongs to another account; choose another name.")
        await self._announce("account", person.uid)
        return replace(person, name=name)

    # Signing up, in and out.

    async def sign_up(
        self, raw_name: object, raw_password: object, address: str | None, *, invite: str = "", setup: str = ""
    ) -> tuple[Person, str]:
        """A new account, signed in: its person and the session's token. With `ACCESS=members` an `invite`
        is needed; a `setup` token makes the first administrator."""
        name = chosen_name(raw_name)
        secret = password(raw_password)
        if address is not None and not self.sign_ups.allow(address):
            raise RateLimited("Too many new accounts from your network; try again later.")
        if await self.holder(name) is not None:
            raise Refused("name_taken", TAKEN.format(name=name))
        kind, token = (SETUP, setup) if setup else (INVITE, invite)
        grant: Token | None = None
        if token:
            grant = await self.store.use_token(digest(token), kind, now_us())
            if grant is None:
                raise Refused("invalid_invite", "This link has expired, was revoked or was used already.")
        elif self.members_only:
            raise Forbidden("New accounts need an invite from an administrator.")
        hashed = await self.hashing.hash(secret)
        account = Account(_new_id("a"), name, grant.role if grant else "member", True, hashed, now_us())
        try:
            await self._create(account)
        except Refused:
            if grant is not None:
                await self.store.give_back_token(digest(token))
            raise
        log.info("account created id=%s role=%s via=%s", account.id, account.role, kind if grant else "open")
        return _person(account), await self._new_session(account.id)

    async def sign_in(self, raw_name: object, raw_password: object, address: str | None) -> tuple[Person, str]:
        """The account's person and a new session's token. WrongPassword (one sentence, whether the name
        exists or not) or RateLimited (too many attempts for the name or from the address)."""
        name = raw_name.strip() if isinstance(raw_name, str) else ""
        text = raw_password if isinstance(raw_password, str) else ""
        if not name or not text or len(name) > 64 or len(text) > 1024:
            raise WrongPassword
        try:
            folded = key(display_name(name)).folded
        except Refused:  # not a name anyone could have
            raise WrongPassword from None
        if not self.by_name.allow(folded) or (address is not None and not self.by_address.allow(address)):
            log.info("sign-in throttled address=%s", address)
            raise RateLimited("Too many sign-in attempts; wait a few minutes and try again.")
        account = await self.store.account_by_name(folded)
        hashed = account.password_hash if account is not None and account.active else ""
        if not await self.hashing.verify(hashed, text) or account is None:
            log.info("sign-in failed address=%s", address)
            metrics.SIGNIN_FAILURES.inc()
            raise WrongPassword
        log.info("signed in id=%s address=%s", account.id, address)
        return _person(account), await self._new_session(account.id)

    async def sign_out(self, session: dict[str, Any], everywhere: bool = False) -> None:
        """End the session (or all of its account's): every process forgets it and closes its connections."""
        session_id = _session_id(session)
        person = await self.person(session)
        if session_id is None or person is None:
            return
        if everywhere:
            await self.end_all(person.uid)
            return
        await self.store.end_session(session_id)
        await self._end([session_id], person.uid)

    async def change_password(self, person: Person, session: dict[str, Any], current: object, new: object) -> str:
        """Set a new password after checking the current one; every other session ends. The session's new token."""
        secret = password(new)
        account = await self.store.account(person.uid)
        if account is None or not await self.hashing.verify(account.password_hash, str(current or "")):
            raise WrongPassword("The current password is not right.")
        await self.store.set_password(person.uid, await self.hashing.hash(secret))
        await self.end_all(person.uid)
        log.info("password changed id=%s", person.uid)
        return await self._new_session(person.uid)

    async def reset_password(self, token: str, new: object) -> tuple[Person, str]:
        """Set a password with a one-time reset link; every session of the account ends, a new one starts."""
        secret = password(new)
        grant = await self.store.use_token(digest(token), RESET, now_us())
        account = await self.store.account(grant.account) if grant and grant.account else None
        if account is None or not account.active:
            raise NotFound("This link has expired or was used already; ask an administrator for a new one.")
        await self.store.set_password(account.id, await self.hashing.hash(secret))
        await self.end_all(account.id)
        log.info("password reset id=%s", account.id)
        return _person(account), await self._new_session(account.id)

    async def token(self, kind: str, token: str, address: str | None) -> Token | None:
        """The usable token of `kind` behind a link, for the page that shows its form; RateLimited when
        `address` (None: not from the network) opens links too fast."""
        if address is not None and not self.links.allow(address):
            raise RateLimited("Too many links opened from your network; wait a minute and try again.")
        found = await self.store.token(digest(token), now_us())
        return found if found is not None and found.kind == kind and found.uses_left != 0 else None

    async def end_all(self, account: str) -> None:
        await self.store.end_sessions(account)
        await self._end([], account)

    # The administrators' work. `by` is the administrator; each refuses what would lock everyone out.

    async def people(self) -> list[Account]:
        return await self.store.accounts(1000)

    async def invites(self) -> list[Token]:
        return await self.store.tokens(INVITE, now_us(), 200)

    async def invite(self, by: Person, role: object, uses: object, days: object) -> str:
        """A new invite link's secret (shown once)."""
        chosen_role = _role(role)
        count = _choice(uses, INVITE_USES, "uses")
        lasting = _choice(days, INVITE_DAYS, "days")
        secret = await self._new_token(INVITE, role=chosen_role, uses=count, days=lasting, by=by.uid)
        log.info("invite created by=%s role=%s uses=%d days=%d", by.uid, chosen_role, count, lasting)
        return secret

    async def revoke_invite(self, by: Person, id: str) -> None:
        if not await self.store.revoke_token(id, INVITE):
            raise NotFound("There is no such invite.")
        log.info("invite revoked by=%s id=%s", by.uid, id)

    async def set_role(self, by: Person, id: str, role: object) -> None:
        chosen = _role(role)
        account = await self._someone(id)
        if account.bot:
            raise Refused("invalid_role", "A bot has no role.")
        if account.role == "admin" and chosen != "admin":
            await self._keep_an_admin(account)
        await self.store.set_role(id, chosen)
        await self._announce("account", id)
        log.info("role changed by=%s id=%s role=%s", by.uid, id, chosen)

    async def set_active(self, by: Person, id: str, active: bool) -> None:
        account = await self._someone(id)
        if not active:
            if account.id == by.uid:
                raise Refused("invalid_account", "You cannot deactivate yourself.")
            if account.role == "admin":
                await self._keep_an_admin(account)
        await self.store.set_active(id, active)
        if not active:
            await self.end_all(id)
        log.info("account %s by=%s id=%s", "activated" if active else "deactivated", by.uid, id)

    async def ban(self, by: Person, name: str, banned: bool = True) -> Account:
        """Ban (or let back) the account called `name`: banned, it is deactivated and its sessions end. A moderator
        bans members and bots; an administrator anyone but themselves."""
        try:
            account = await self.store.account_by_name(key(display_name(name)).folded)
        except Refused:
            account = None
        if account is None:
            raise NotFound("There is no account of that name.")
        if account.id == by.uid:
            raise Refused("invalid_account", "You cannot ban yourself.")
        if account.role != "member" and not by.may("admin"):
            raise Forbidden("Only an administrator can ban a moderator or an administrator.")
        if banned and account.role == "admin":
            await self._keep_an_admin(account)
        await self.store.set_active(account.id, not banned)
        if banned:
            await self.end_all(account.id)
        log.info("%s by=%s id=%s", "banned" if banned else "unbanned", by.uid, account.id)
        return account

    async def reset_link(self, by: Person, id: str) -> str:
        """A one-time link that sets the person's password (shown once); older ones stop working."""
        account = await self._someone(id)
        if account.bot:
            raise Refused("invalid_account", "A bot has a token, not a password.")
        await self.store.end_tokens(id, RESET)
        secret = await self._new_token(RESET, uses=1, days=RESET_DAYS, by=by.uid, account=id)
        log.info("reset link created by=%s id=%s", by.uid, id)
        return secret

    async def create_bot(self, by: Person, raw_name: object) -> tuple[Account, str]:
        """A bot and its token (shown once): a session of its own that does not expire."""
        name = chosen_name(raw_name)
        bot = Account(_new_id("b"), name, "member", True, "", now_us())
        await self._create(bot)
        log.info("bot created by=%s id=%s", by.uid, bot.id)
        return bot, await self._new_session(bot.id, expires_at=NEVER)

    async def new_bot_token(self, by: Person, id: str) -> str:
        """Replace a bot's token: the old one stops working at once."""
        bot = await self._someone(id)
        if not bot.bot:
            raise Refused("invalid_account", "Only a bot has a token.")
        await self.end_all(id)
        log.info("bot token replaced by=%s id=%s", by.uid, id)
        return await self._new_session(id, expires_at=NEVER)

    async def add_user(self, raw_name: object, raw_password: object, role: str) -> Account:
        """`python -m chatroom user add`: an account made at the console (an administrator, say)."""
        name = chosen_name(raw_name)
        secret = password(raw_password)
        account = Account(_new_id("a"), name, _role(role), True, await self.hashing.hash(secret), now_us())
        await self._create(account)
        log.info("account created id=%s role=%s via=console", account.id, account.role)
        return account

    # Inside.

    async def _create(self, account: Account) -> None:
        """Add the account, if nobody holds its name or a look-alike; an administrator ends the setup links."""
        name = account.name
        if await self.holder(name) is not None or not await self.store.create_account(account, _keys(name)):
            raise Refused("name_taken", TAKEN.format(name=name))
        await self._announce("account", account.id)  # every process forgets who held which name
        if account.role == "admin":
            for setup in await self.store.tokens(SETUP, now_us(), 100):
                await self.store.revoke_token(setup.id, SETUP)

    async def _someone(self, id: str) -> Account:
        account = await self.store.account(id) if isinstance(id, str) and id else None
        if account is None:
            raise NotFound("There is no such account.")
        return account

    async def _keep_an_admin(self, account: Account) -> None:
        if account.active and await self.store.count_admins() <= 1:
            raise Refused("last_admin", "The chat needs an administrator: make someone else one first.")

    async def _new_session(self, account: str, expires_at: int = 0) -> str:
        secret = new_secret()
        now = now_us()
        await self.store.create_session(digest(secret), account, now, expires_at or now + SESSION_DAYS * DAY_US)
        return secret

    async def _new_token(
        self,
        kind: str,
        *,
        role: str = "member",
        uses: int,
        days: int,
        by: str | None = None,
        account: str | None = None,
    ) -> str:
        secret = new_secret()
        now = now_us()
        token = Token(secrets.token_hex(8), kind, account, role, uses, by, now, now + days * DAY_US)
        await self.store.create_token(digest(secret), token)
        return secret

    async def _end(self, sessions: list[str], account: str) -> None:
        """Sessions ended (all of `account`'s when `sessions` is empty): here at once, elsewhere by the bus."""
        self.sessions.end(sessions, "" if sessions else account)
        await self._announce("ended", account, tuple(sessions))

    async def _announce(self, type: str, account: str, ids: tuple[str, ...] = ()) -> None:
        if type == "account":
            self.sessions.forget(account=account)
            self._holders.clear()
        try:
            await self.bus.publish_account_event(type, account, ids)
        except Exception as exc:  # other processes' caches catch up within the TTL
            log.warning("account event not announced type=%s id=%s: %r", type, account, exc)

    async def _follow(self) -> None:
        while True:
            try:
                async with self.bus.subscribe_accounts() as events:
                    async for event in events:
                        await self._apply(event.type, event.uid, event.ids)
            except Exception as exc:
                log.warning("accounts not following the bus, retrying: %r", exc)
            await asyncio.sleep(1.0)

    async def _apply(self, type: str, account: str, ids: tuple[str, ...]) -> None:
        if type == "ended":
            self.sessions.end(ids, "" if ids else account)
        elif type == "account":
            self.sessions.forget(account=account)
            self._holders.clear()
        elif type == "resync":  # events may have been lost: check every session that holds a connection here
            self.sessions.clear()
            self._holders.clear()
            watched = self.sessions.watched()
            try:
                live = await self.store.sessions(watched, now_us())
            except StoreUnavailable:
                return
            self.sessions.end([s for s in watched if s not in live])


_UNWATCHED: AbstractContextManager[None] = nullcontext()  # reusable: a guest's connections all share it


def _session_id(session: dict[str, Any] | None, bearer: str | None = None) -> str | None:
    """The store's id of the session behind a bearer token, or else the cookie's; None without either."""
    token = bearer if bearer is not None else (session or {}).get("sid")
    return digest(token) if isinstance(token, str) and token else None


def _person(account: Account) -> Person:
    return Person(account.id, account.name, BOT_KIND if account.bot else ACCOUNT, account.role)


def _keys(name: str) -> NameKeys:
    k = key(name)
    return k.folded, k.looks, k.looks_folded


def _new_id(prefix: str) -> str:
    return prefix + secrets.token_hex(8)


def _role(raw: object) -> str:
    if raw not in ROLES:
        raise Refused("invalid_role", f"A role is one of {', '.join(ROLES)}.")
    return str(raw)


def _choice(raw: object, choices: tuple[int, ...], what: str) -> int:
    number = int(raw) if isinstance(raw, str) and raw.isascii() and raw.isdigit() else None
    if number not in choices:
        raise Refused("invalid_choice", f"Choose the {what} from the list.")
    return number
