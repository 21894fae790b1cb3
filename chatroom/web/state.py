"""What the app's doors share, typed: the settings, the templates, htmx's files, and the hub and the accounts
once started."""

from __future__ import annotations

from starlette.requests import HTTPConnection
from starlette.templating import Jinja2Templates

from chatroom.accounts.service import Accounts
from chatroom.rooms.hub import Hub
from chatroom.settings import Settings
from chatroom.web.assets import Htmx


class AppState:
    def __init__(self, settings: Settings, templates: Jinja2Templates, htmx: Htmx) -> None:
        self.settings = settings
        self.templates = templates
        self.htmx = htmx
        self._hub: Hub | None = None
        self._accounts: Accounts | None = None

    @property
    def hub(self) -> Hub:
        if self._hub is None:
            raise RuntimeError("the app has not started: its lifespan opens the store and the bus")
        return self._hub

    @hub.setter
    def hub(self, hub: Hub) -> None:
        self._hub = hub

    @property
    def accounts(self) -> Accounts:
        if self._accounts is None:
            raise RuntimeError("the app has not started: its lifespan opens the store and the bus")
        return self._accounts

    @accounts.setter
    def accounts(self, accounts: Accounts) -> None:
        self._accounts = accounts


def state_of(connection: HTTPConnection) -> AppState:
    """The app's state, from a request or a WebSocket."""
    state = connection.app.state.chat
    assert isinstance(state, AppState)
    return state
