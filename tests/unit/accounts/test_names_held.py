"""An account's name is held everywhere: nobody else, guest or account, posts under it or a look-alike."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.people import PASSWORD, page, say, session, sign_up
from tests.wire import recv, recv_json

LOOK_ALIKES = [
    "Alice",
    "ALICE",
    "alice",
    "\uff21\uff4c\uff49\uff43\uff45",  # fullwidth
    "\u0410lice",  # Cyrillic capital A
    "A\u217cice",  # small roman numeral fifty for l
    "Alice ",
]


@pytest.mark.parametrize("name", LOOK_ALIKES)
def test_nobody_can_make_an_account_with_a_held_name_or_a_look_alike(client: TestClient, name: str) -> None:
    sign_up(client, "Alice")
    client.cookies.clear()
    refused = client.post("/signup", data={"name": name, "password": PASSWORD})
    assert refused.status_code == 422 and "taken" in refused.text


@pytest.mark.parametrize("name", LOOK_ALIKES)
def test_a_guest_cannot_take_an_accounts_name(client: TestClient, name: str) -> None:
    sign_up(client, "Alice")
    client.cookies.clear()
    refused = client.post("/profile", data={"name": name})
    assert refused.status_code == 422 and "belongs to an account" in refused.text


def test_a_json_client_cannot_post_under_an_accounts_name(client: TestClient) -> None:
    sign_up(client, "Alice")
    client.cookies.clear()
    with client.websocket_connect("/ws/rooms/lobby/") as ws:
        recv(ws)
        ws.send_json({"message": "it's me", "name": "ALICE"})
        assert recv_json(ws)["error"] == "name_taken"


def test_a_guest_who_chose_a_name_before_the_account_was_made_cannot_post_under_it(client: TestClient) -> None:
    early = session(client, "Alice")  # a guest called Alice, before anyone signed up as her
    say(client, "first", who=early)  # the name was free: the process remembers so for a while
    sign_up(client, "alice")
    client.cookies.clear()
    refused = client.post("/rooms/lobby/messages", data={"message": "hi"}, headers=early, follow_redirects=False)
    assert refused.status_code == 422 and "belongs to an account" in refused.text
    assert 'id="msg-2"' not in page(client, "/", early)


def test_a_signed_in_person_speaks_under_their_account_name_only(client: TestClient) -> None:
    alice = sign_up(client, "Alice")
    with client.websocket_connect("/ws/rooms/lobby/", headers=alice) as ws:
        recv(ws)
        ws.send_json({"message": "hello", "name": "Mallory"})
        assert recv_json(ws)["error"] == "invalid_name"
        ws.send_json({"message": "hello", "name": "Alice"})
        assert recv_json(ws)["author"] == "Alice"


def test_an_account_can_change_its_name_and_frees_the_old_one(client: TestClient) -> None:
    alice = sign_up(client, "Alice")
    sign_up(client, "Bob")
    taken = client.post("/account", data={"name": "BOB"}, headers=alice)
    assert taken.status_code == 422
    renamed = client.post("/account", data={"name": "Alicia"}, headers=alice)
    assert renamed.status_code == 200 and ">Alicia</bdi>" in renamed.text
    client.cookies.clear()
    sign_up(client, "Alice")  # free again
