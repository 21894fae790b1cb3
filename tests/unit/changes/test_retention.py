"""RETENTION_DAYS and a room's own days: older messages are deleted as everyone sees a deletion, on a clock
the test moves."""

from __future__ import annotations

from starlette.testclient import TestClient

from chatroom.store import now_us
from tests.people import page, say, sign_up
from tests.unit.accounts.helpers import admin
from tests.unit.conftest import Join, MakeClient
from tests.wire import recv_chat

DAY = 86_400 * 1_000_000


def sweep(client: TestClient, days_later: float) -> int:
    """Run the retention sweep as it would run `days_later` from now; how many messages it deleted."""
    hub = client.app.state.chat.hub  # type: ignore[attr-defined]
    assert client.portal is not None
    return int(client.portal.call(hub.retention.sweep, now_us() + int(days_later * DAY)).messages)


def test_messages_past_retention_days_are_deleted_as_everyone_sees_a_deletion(
    make_client: MakeClient, join: Join
) -> None:
    client = make_client(retention_days=30)
    alice = sign_up(client, "Alice")
    say(client, "an old secret", who=alice)
    say(client, "also old", who=alice)
    watcher = join(client)
    assert sweep(client, 29) == 0  # not yet
    assert sweep(client, 31) == 2
    frames = [recv_chat(watcher), recv_chat(watcher)]
    assert all("This message was deleted." in f and "secret" not in f for f in frames)
    html = page(client, "/", alice)
    assert "an old secret" not in html and "also old" not in html
    assert sweep(client, 31) == 0  # deleted once


def test_a_rooms_own_days_override_retention_days(make_client: MakeClient) -> None:
    client = make_client(retention_days=30)
    ada = admin(client)
    for room, days in (("keep", "0"), ("short", "1")):
        answer = client.post("/admin/retention", data={"room": room, "days": days}, headers=ada, follow_redirects=False)
        client.cookies.clear()
        assert answer.status_code == 303
    for room in ("keep", "short", "lobby"):
        say(client, f"in {room}", room=room, who=ada)
    assert sweep(client, 2) == 1  # the short room's
    assert "in short" not in page(client, "/rooms/short", ada)
    assert sweep(client, 400) == 1  # the lobby's; the kept room keeps its message forever
    assert "in keep" in page(client, "/rooms/keep", ada)
    listed = page(client, "/admin", ada)
    assert "#keep" in listed and "forever" in listed and "retention" in listed  # and the change is logged


def test_without_retention_days_messages_stay(client: TestClient) -> None:
    alice = sign_up(client, "Alice")
    say(client, "kept", who=alice)
    assert sweep(client, 10_000) == 0


def test_bad_retention_forms_are_refused(client: TestClient) -> None:
    ada = admin(client)
    for data in ({"room": "Not A Room", "days": "3"}, {"room": "lobby", "days": "-1"}, {"room": "lobby", "days": "x"}):
        assert client.post("/admin/retention", data=data, headers=ada).status_code == 422
        client.cookies.clear()
    bob = sign_up(client, "Bob")
    assert client.post("/admin/retention", data={"room": "lobby", "days": "1"}, headers=bob).status_code == 403
