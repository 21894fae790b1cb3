"""Making people with accounts in the unit tier: an administrator made as the console makes one."""

from __future__ import annotations

from starlette.testclient import TestClient

from chatroom.accounts.service import Accounts
from tests.people import PASSWORD, Session, sign_in


def accounts_of(client: TestClient) -> Accounts:
    accounts = client.app.state.chat.accounts  # type: ignore[attr-defined]
    assert isinstance(accounts, Accounts)
    return accounts


def admin(client: TestClient, name: str = "Ada") -> Session:
    """An administrator, made as `python -m chatroom user add NAME --role admin` does; signed in."""
    assert client.portal is not None
    client.portal.call(accounts_of(client).add_user, name, PASSWORD, "admin")
    return sign_in(client, name)
