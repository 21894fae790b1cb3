"""The application: routes, middleware and the lifespan that opens the store and the bus."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import Match, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.websockets import WebSocket

from chatroom import logs, metrics
from chatroom.accounts.service import Accounts
from chatroom.bus import Bus
from chatroom.collector import Collector
from chatroom.commands import redacted
from chatroom.errors import ChatError, SignInFirst, StartupError, StoreUnavailable
from chatroom.identity import SESSION_COOKIE, SESSION_MAX_AGE
from chatroom.logs import RequestIds
from chatroom.rooms.hub import Hub
from chatroom.rooms.render import Fragments
from chatroom.settings import Settings
from chatroom.store import open_store
from chatroom.transports.htmx_ws import htmx_socket
from chatroom.transports.seed_ws import seed_socket
from chatroom.validation import LOBBY
from chatroom.web import (
    account_pages,
    admin,
    api,
    files,
    health,
    message_pages,
    moderation,
    pages,
    private_pages,
    search,
    time_zones,
)
from chatroom.web import metrics as web_metrics
from chatroom.web.access import Visitors
from chatroom.web.assets import Htmx
from chatroom.web.error_pages import chat_error, http_error
from chatroom.web.hosts import host_allowed, refuse_host
from chatroom.web.paths import STATIC
from chatroom.web.private_doors import PrivateRoomDoors
from chatroom.web.security_headers import SecurityHeaders
from chatroom.web.state import AppState
from chatroom.web.templating import template_environment

log = logging.getLogger("chatroom")


def create_app(settings: Settings | None = None) -> ChatApp:
    settings = settings or Settings.from_env()
    logs.configure(settings.log_format)
    env = template_environment()
    htmx = Htmx()
    state = AppState(settings, Jinja2Templates(env=env), htmx)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        _warn_if_split(settings)
        store = open_store(settings.database_url)
        try:
            await store.open()
        except StoreUnavailable as exc:  # one sentence, not a traceback (see ChatApp.__call__)
            raise StartupError(f"DATABASE_URL ({redacted(settings.database_url)}) does not answer: {exc}") from None
        bus = Bus(settings.broadcast_url)
        await bus.connect()
        state.accounts = accounts = Accounts(store, bus, settings)
        state.hub = hub = Hub(store, bus, Fragments(env), settings, accounts)
        await hub.create_room(LOBBY)  # the seed's one room is always listed
        hub.start()
        await accounts.start()
        collector = Collector()
        collector.start()
        log.info("started store=%s bus=%s access=%s", settings.database_url.split("://")[0], bus.kind, settings.access)
        try:
            yield
        finally:
            await collector.close()
            await accounts.close()
            await hub.close()
            await bus.disconnect()
            await store.close()
            metrics.process_stopped()
            log.info("stopped")

    routes = [
        Route("/", pages.lobby),
        Route("/rooms", pages.create_room, methods=["POST"]),
        Route("/rooms", pages.browse, methods=["GET"]),
        Route("/rooms/", pages.no_room, methods=["GET"]),
        Route("/rooms/{room}", pages.room),
        Route("/rooms/{room}/messages", pages.older_messages, methods=["GET"]),
        Route("/rooms/{room}/messages", pages.post_message, methods=["POST"]),
        Route("/rooms/{room}/typing", pages.typing, methods=["POST"]),
        Route("/rooms/{room}/notify", pages.notify, methods=["POST"]),
        Route("/rooms/{room}/messages/{id}/actions", message_pages.actions, methods=["GET"]),
        Route("/rooms/{room}/messages/{id}/reply", message_pages.reply_page, methods=["GET"]),
        Route("/rooms/{room}/messages/{id}/edit", message_pages.edit_page, methods=["GET"]),
        Route("/rooms/{room}/messages/{id}/edit", message_pages.edit, methods=["POST"]),
        Route("/rooms/{room}/messages/{id}/delete", message_pages.delete, methods=["POST"]),
        Route("/rooms/{room}/messages/{id}/reactions", message_pages.react, methods=["POST"]),
        Route("/rooms/{room}/events", pages.events),
        Route("/rooms/{room}/members", private_pages.add_member, methods=["POST"]),
        Route("/rooms/{room}/members/remove", private_pages.remove_member, methods=["POST"]),
        Route("/rooms/{room}/leave", private_pages.leave, methods=["POST"]),
        Route("/dm", private_pages.direct_form, methods=["GET"]),
        Route("/dm/{name}", private_pages.direct, methods=["GET"]),
        Route("/profile", pages.profile, methods=["POST"]),
        Route("/profile/time-zone", time_zones.time_zone_page, methods=["GET"]),
        Route("/profile/time-zone", time_zones.set_time_zone, methods=["POST"]),
        Route("/signin", account_pages.signin_page, methods=["GET"]),
        Route("/signin", account_pages.signin, methods=["POST"]),
        Route("/signup", account_pages.signup_page, methods=["GET"]),
        Route("/signup", account_pages.signup, methods=["POST"]),
        Route("/signout", account_pages.signout, methods=["POST"]),
        Route("/join/{token}", account_pages.join, methods=["GET"]),
        Route("/setup/{token}", account_pages.setup_page, methods=["GET"]),
        Route("/setup/{token}", account_pages.setup, methods=["POST"]),
        Route("/reset/{token}", account_pages.reset_page, methods=["GET"]),
        Route("/reset/{token}", account_pages.reset, methods=["POST"]),
        Route("/account", account_pages.account_page, methods=["GET"]),
        Route("/account", account_pages.account, methods=["POST"]),
        Route("/admin", admin.admin_page, methods=["GET"]),
        Route("/admin/invites", admin.create_invite, methods=["POST"]),
        Route("/admin/invites/{id}/revoke", admin.revoke_invite, methods=["POST"]),
        Route("/admin/people/{id}/role", admin.set_role, methods=["POST"]),
        Route("/admin/people/{id}/active", admin.set_active, methods=["POST"]),
        Route("/admin/people/{id}/reset", admin.reset_link, methods=["POST"]),
        Route("/admin/bots", admin.create_bot, methods=["POST"]),
        Route("/admin/retention", admin.set_retention, methods=["POST"]),
        Route("/admin/people/{name}/ban", moderation.ban, methods=["POST"]),
        Route("/admin/people/{name}/unban", moderation.unban, methods=["POST"]),
        Route("/moderation", moderation.moderation_page, methods=["GET"]),
        Route("/admin/bots/{id}/token", admin.bot_token, methods=["POST"]),
        Route("/api/rooms/{room}/messages", api.post_message, methods=["POST"]),
        Route("/search", search.search),
        Route("/rooms/{room}/files", files.upload, methods=["POST"]),
        Route("/files/thumbnails/{id}", files.thumbnail),
        Route("/files/{id}/{name}", files.serve),
        Route("/healthz", health.healthz),
        Route("/metrics", web_metrics.scrape),
        Route("/static/htmx/{version}/{name:path}", htmx.serve),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    middleware = [
        Middleware(
            SessionMiddleware,
            secret_key=settings.secret_key,
            session_cookie=SESSION_COOKIE,
            max_age=SESSION_MAX_AGE,
            same_site="lax",
            https_only=settings.https_only,
        ),
        Middleware(Visitors),  # who is signed in; the gate when the chat is for members
        Middleware(PrivateRoomDoors),  # a private room's pages and forms: its members' only
    ]
    handlers: Any = {HTTPException: http_error, ChatError: chat_error, SignInFirst: account_pages.sign_in_first}
    sockets = [
        WebSocketRoute("/rooms/{room}/ws", htmx_socket),
        WebSocketRoute("/ws/socket-server/", seed_socket),
        WebSocketRoute("/ws/rooms/{room}/", seed_socket),
    ]
    app = ChatApp(
        sockets,
        settings.allowed_hosts,
        routes=routes,
        middleware=middleware,
        exception_handlers=handlers,
        lifespan=lifespan,
    )
    app.state.chat = state
    return app


class ChatApp(Starlette):
    """Starlette, with the WebSocket routes taken before the middleware that only HTTP needs.

    Every layer a connection passes through keeps a coroutine frame (and its closures) for as
    long as the connection lives: the session, error and routing layers cost about 6 KB a socket,
    a fifth of what an idle one cost in all. A socket reads the session cookie itself, and its
    handler is called directly.
    """

    def __init__(self, sockets: list[WebSocketRoute], allowed_hosts: tuple[str, ...], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sockets = sockets
        self.allowed_hosts = allowed_hosts

    def build_middleware_stack(self) -> Any:
        # Outside Starlette's own error layer, so its bare 500 carries the security headers too.
        return RequestIds(SecurityHeaders(super().build_middleware_stack()))

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await super().__call__(scope, receive, _startup_in_one_sentence(send))
            return
        if scope["type"] in ("http", "websocket") and not host_allowed(scope, self.allowed_hosts):
            await SecurityHeaders(refuse_host)(scope, receive, send)
            return
        if scope["type"] == "websocket":
            for route in self.sockets:
                match, child_scope = route.matches(scope)
                if match is Match.FULL:
                    scope.update(child_scope)
                    scope["app"] = self
                    await route.endpoint(WebSocket(scope, receive, send))
                    return
        await super().__call__(scope, receive, send)


def _startup_in_one_sentence(send: Any) -> Any:
    """The server logs why the app could not start: for a `StartupError` (a setting to fix, a database that does
    not answer) that is its sentence, not the traceback Starlette sends."""

    async def sending(message: Any) -> None:
        if message["type"] == "lifespan.startup.failed":
            last = str(message.get("message", "")).strip().splitlines()[-1:]
            kind, _, sentence = last[0].partition(": ") if last else ("", "", "")
            if kind.rsplit(".", 1)[-1] in STARTUP_ERRORS and sentence:
                message = {**message, "message": f"chatroom: {sentence}"}
        await send(message)

    return sending


_STARTUP_CLASSES: list[type[StartupError]] = [StartupError, *StartupError.__subclasses__()]
STARTUP_ERRORS = {cls.__name__ for cls in _STARTUP_CLASSES}


def _warn_if_split(settings: Settings) -> None:
    if settings.broadcast_url.startswith("memory") and settings.workers > 1:
        log.warning(
            "%d worker processes with the memory:// bus: each process sees only its own clients, so rooms "
            "are split. Set REDIS_URL (or BROADCAST_URL) to share rooms between processes.",
            settings.workers,
        )


def __getattr__(name: str) -> ChatApp:
    """`chatroom.app:app` for uvicorn and Procfiles: built on first access, from the environment."""
    if name == "app":
        app = create_app()
        globals()["app"] = app
        return app
    raise AttributeError(name)
