"""`/admin`: roles, deactivation, reset links, invites, and the first administrator's setup link."""

from __future__ import annotations

import logging
import re

import pytest
from starlette.testclient import TestClient

from tests.people import PASSWORD, page, sign_in, sign_up
from tests.unit.accounts.helpers import admin
from tests.unit.conftest import Join
from tests.wire import recv

RESET = re.compile(r'value="http://testserver(/reset/[^"]+)"')


def person_id(client: TestClient, who: dict[str, str], name: str) -> str:
    html = client.get("/admin", headers=who).text
    client.cookies.clear()
    found = re.search(rf"<bdi>{name}</bdi>.*?/admin/people/([ab][0-9a-f]{{16}})/", html, re.S)
    assert found is not None, html
    return found.group(1)


def test_only_administrators_open_admin(client: TestClient) -> None:
    assert client.get("/admin", follow_redirects=False).headers["location"] == "/signin?next=/admin"
    bob = sign_up(client, "Bob")
    assert client.get("/admin", headers=bob).status_code == 403
    client.cookies.clear()
    assert (
        client.post("/admin/invites", data={"role": "admin", "uses": "1", "days": "1"}, headers=bob).status_code == 403
    )
    client.cookies.clear()
    ada = admin(client)
    listed = page(client, "/admin", ada)
    assert "<bdi>Bob</bdi>" in listed and "<bdi>Ada</bdi>" in listed


def test_the_setup_link_makes_the_first_administrator_once(
    make_client: object, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "chatroom.accounts.service")
    client = make_client()  # type: ignore[operator]
    found = re.search(r"/setup/(\S+)", caplog.text)
    assert found is not None
    link = f"/setup/{found.group(1)}"
    assert client.get(link).status_code == 200
    made = client.post(link, data={"name": "Root", "password": PASSWORD}, follow_redirects=False)
    assert made.status_code == 303
    root = {"cookie": f"chatroom={made.cookies['chatroom']}"}
    client.cookies.clear()
    assert client.get("/admin", headers=root).status_code == 200
    client.cookies.clear()
    assert client.get(link).status_code == 404
    assert client.post(link, data={"name": "Other", "password": PASSWORD}).status_code == 422


def test_roles_change_and_the_last_administrator_stays(client: TestClient) -> None:
    ada = admin(client)
    sign_up(client, "Bob")
    bob_id = person_id(client, ada, "Bob")
    ada_id = person_id(client, ada, "Ada")
    assert client.post(f"/admin/people/{bob_id}/role", data={"role": "moderator"}, headers=ada).status_code == 200
    client.cookies.clear()
    assert 'moderator" selected' in page(client, "/admin", ada).split("<bdi>Bob</bdi>")[1].split("</tr>")[0]
    refused = client.post(f"/admin/people/{ada_id}/role", data={"role": "member"}, headers=ada)
    assert refused.status_code == 422 and "needs an administrator" in refused.text
    client.cookies.clear()
    bad = client.post(f"/admin/people/{bob_id}/role", data={"role": "owner"}, headers=ada)
    assert bad.status_code == 422


def test_deactivation_ends_sessions_closes_sockets_and_refuses_sign_in(client: TestClient, join: Join) -> None:
    ada = admin(client)
    bob = sign_up(client, "Bob")
    ws = join(client, headers=bob)
    bob_id = person_id(client, ada, "Bob")
    client.post(f"/admin/people/{bob_id}/active", data={"active": "0"}, headers=ada)
    client.cookies.clear()
    with pytest.raises(Exception) as closed:
        while True:
            recv(ws)
    assert getattr(closed.value, "code", None) == 1008
    assert "Sign out" not in page(client, "/", bob)
    assert client.post("/signin", data={"name": "Bob", "password": PASSWORD}).status_code == 401
    client.cookies.clear()
    client.post(f"/admin/people/{bob_id}/active", data={"active": "1"}, headers=ada)
    sign_in(client, "Bob")
    ada_id = person_id(client, ada, "Ada")
    assert client.post(f"/admin/people/{ada_id}/active", data={"active": "0"}, headers=ada).status_code == 422


def test_a_reset_link_sets_a_password_once(client: TestClient) -> None:
    ada = admin(client)
    bob = sign_up(client, "Bob")
    made = client.post(f"/admin/people/{person_id(client, ada, 'Bob')}/reset", headers=ada)
    client.cookies.clear()
    found = RESET.search(made.text)
    assert found is not None
    link = found.group(1)
    short = client.post(link, data={"password": "short"})
    assert short.status_code == 422
    client.cookies.clear()
    done = client.post(link, data={"password": "brand new password"}, follow_redirects=False)
    assert done.status_code == 303
    client.cookies.clear()
    assert "Sign out" not in page(client, "/", bob)  # every old session ended
    sign_in(client, "Bob", "brand new password")
    assert client.get(link).status_code == 404
    assert client.post(link, data={"password": "another password"}).status_code == 404


def test_admin_forms_from_another_site_are_refused(client: TestClient) -> None:
    ada = admin(client)
    forged = client.post(
        "/admin/invites",
        data={"role": "admin", "uses": "100", "days": "30"},
        headers={**ada, "origin": "https://evil.example"},
    )
    assert forged.status_code == 403
