"""`ACCESS=members`: nothing is readable without signing in, and accounts come only through invites."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tests.people import PASSWORD, page, sign_up
from tests.unit.accounts.helpers import admin
from tests.unit.conftest import MakeClient

LINK = re.compile(r'value="(http://testserver/(join|reset)/[^"]+)"')


@pytest.fixture
def members(make_client: MakeClient) -> TestClient:
    return make_client(access="members")


def invite_link(client: TestClient, who: dict[str, str], uses: str = "1", role: str = "member") -> str:
    made = client.post("/admin/invites", data={"role": role, "uses": uses, "days": "7"}, headers=who)
    client.cookies.clear()
    assert made.status_code == 200, made.text
    found = LINK.search(made.text)
    assert found is not None
    return found.group(1).removeprefix("http://testserver")


@pytest.mark.parametrize("path", ["/", "/rooms/lobby", "/rooms/lobby?around=1", "/rooms/lobby/messages?before=5"])
def test_every_page_sends_a_visitor_to_sign_in(members: TestClient, path: str) -> None:
    answer = members.get(path, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/signin?next=/")


@pytest.mark.parametrize(
    ("path", "data"),
    [("/rooms/lobby/messages", {"message": "hi"}), ("/rooms", {"name": "new"}), ("/profile", {"name": "x"})],
)
def test_every_form_is_refused_to_a_visitor(members: TestClient, path: str, data: dict[str, str]) -> None:
    assert members.post(path, data=data, follow_redirects=False).status_code == 403


def test_the_event_stream_is_refused_to_a_visitor(members: TestClient) -> None:
    assert members.get("/rooms/lobby/events").status_code == 403


@pytest.mark.parametrize("path", ["/rooms/lobby/ws", "/ws/rooms/lobby/", "/ws/socket-server/"])
def test_every_websocket_handshake_is_refused_to_a_visitor(members: TestClient, path: str) -> None:
    with pytest.raises(WebSocketDisconnect) as refused, members.websocket_connect(path):
        pass
    assert refused.value.code == 1008


def test_signing_up_needs_an_invite(members: TestClient) -> None:
    refused = members.post("/signup", data={"name": "Eve", "password": PASSWORD})
    assert refused.status_code == 403
    bad = members.post("/signup", data={"name": "Eve", "password": PASSWORD, "invite": "made-up"})
    assert bad.status_code == 422 and "expired, was revoked or was used" in bad.text
    assert members.get("/join/made-up").status_code == 404


def test_an_invite_link_makes_one_account_and_then_stops(members: TestClient) -> None:
    ada = admin(members)
    link = invite_link(members, ada)
    form = members.get(link)
    assert form.status_code == 200 and 'name="invite"' in form.text
    token = link.rsplit("/", 1)[1]
    eve = sign_up(members, "Eve", invite=token)
    assert "Sign out" in page(members, "/", eve)
    members.cookies.clear()
    again = members.post("/signup", data={"name": "Mallory", "password": PASSWORD, "invite": token})
    assert again.status_code == 422
    assert members.get(link).status_code == 404


def test_a_revoked_invite_is_a_404_page(members: TestClient) -> None:
    ada = admin(members)
    link = invite_link(members, ada, uses="5")
    listed = members.get("/admin", headers=ada).text
    members.cookies.clear()
    invite_id = re.search(r"/admin/invites/([0-9a-f]+)/revoke", listed)
    assert invite_id is not None
    members.post(f"/admin/invites/{invite_id.group(1)}/revoke", headers=ada)
    members.cookies.clear()
    assert members.get(link).status_code == 404
    token = link.rsplit("/", 1)[1]
    assert members.post("/signup", data={"name": "Eve", "password": PASSWORD, "invite": token}).status_code == 422


def test_a_signed_in_member_reads_and_posts(members: TestClient) -> None:
    ada = admin(members)
    sent = members.post("/rooms/lobby/messages", data={"message": "members only"}, headers=ada, follow_redirects=False)
    assert sent.status_code == 303
    assert "members only" in page(members, "/", ada)
    with members.websocket_connect("/ws/rooms/lobby/", headers=ada) as ws:
        assert "connection_established" in ws.receive_text()


def test_sign_in_and_static_files_stay_open(members: TestClient) -> None:
    assert members.get("/signin").status_code == 200
    assert members.get("/static/base.css").status_code == 200
    assert members.get("/healthz").status_code == 200
