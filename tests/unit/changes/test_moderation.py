"""Bans: a moderator or an administrator ends someone's sessions and sockets, stops their sign-ins, and may
remove every message of theirs; each action is logged with who and when."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.people import PASSWORD, page, say, sign_in, sign_up
from tests.unit.accounts.helpers import admin
from tests.unit.conftest import Join
from tests.wire import recv, recv_chat


def ban(client: TestClient, who: dict[str, str], name: str, remove: bool = False) -> int:
    data = {"remove_messages": "on"} if remove else {}
    answer = client.post(f"/admin/people/{name}/ban", data=data, headers=who, follow_redirects=False)
    client.cookies.clear()
    return answer.status_code


def moderator(client: TestClient, ada: dict[str, str], name: str = "Mo") -> dict[str, str]:
    sign_up(client, name)
    listed = page(client, "/admin", ada)
    person = listed.split(f"<bdi>{name}</bdi>")[1].split("/role")[0].rsplit("/admin/people/", 1)[1]
    client.post(f"/admin/people/{person}/role", data={"role": "moderator"}, headers=ada)
    client.cookies.clear()
    return sign_in(client, name)


def test_a_ban_closes_sockets_stops_sign_in_and_can_remove_every_message(client: TestClient, join: Join) -> None:
    ada = admin(client)
    mo = moderator(client, ada)
    troll = sign_up(client, "Troll")
    for n in range(3):
        say(client, f"spam {n}", who=troll)
    say(client, "a real message", who=ada)
    socket = join(client, headers=troll)
    watcher = join(client, headers=ada)
    assert ban(client, mo, "troll", remove=True) == 303
    with pytest.raises(Exception) as closed:
        while True:
            recv(socket)
    assert getattr(closed.value, "code", None) == 1008
    tombstones = [recv_chat(watcher) for _ in range(3)]
    assert all("This message was deleted." in t for t in tombstones)
    html = page(client, "/", ada)
    assert "spam" not in html and "a real message" in html
    assert client.post("/signin", data={"name": "Troll", "password": PASSWORD}).status_code == 401
    client.cookies.clear()
    assert "Sign out" not in page(client, "/", troll)
    log = page(client, "/moderation", mo)
    assert "ban" in log and "<bdi>Troll</bdi>" in log and "3 messages removed" in log
    assert "3 messages removed" in page(client, "/admin", ada)


def test_who_may_ban_whom(client: TestClient) -> None:
    ada = admin(client)
    mo = moderator(client, ada)
    member = sign_up(client, "Member")
    assert ban(client, member, "Mo") == 403
    assert client.get("/moderation", headers=member).status_code == 403
    client.cookies.clear()
    assert ban(client, mo, "Ada") == 403  # a moderator does not ban an administrator
    assert ban(client, mo, "Mo") == 422  # nor themselves
    assert ban(client, mo, "nobody") == 404
    assert ban(client, ada, "Mo") == 303
    assert client.post("/admin/people/Mo/unban", headers=ada, follow_redirects=False).status_code == 303
    client.cookies.clear()
    sign_in(client, "Mo")


def test_a_moderator_deletes_anyones_message_and_it_is_logged(client: TestClient) -> None:
    ada = admin(client)
    mo = moderator(client, ada)
    bob = sign_up(client, "Bob")
    say(client, "off topic", who=bob)
    deleted = client.post("/rooms/lobby/messages/1/delete", headers=mo, follow_redirects=False)
    client.cookies.clear()
    assert deleted.status_code == 303
    log = page(client, "/moderation", mo)
    assert "delete" in log and "lobby#1" in log and "a message of Bob" in log
