"""POST /profile and the room page: nobody takes the name of someone present, and names cannot disguise themselves."""

from __future__ import annotations

import re
from base64 import b64encode

import orjson
import pytest
from itsdangerous import TimestampSigner
from starlette.testclient import TestClient

from tests.people import page, session
from tests.unit.conftest import Join
from tests.wire import post

HEBREW = "\u05d0\u05dc\u05d9\u05e1"


def rename(client: TestClient, who: dict[str, str], name: str, room: str = "lobby") -> tuple[int, str]:
    data = {"name": name, "next": f"/rooms/{room}"}
    response = client.post("/profile", data=data, headers=who, follow_redirects=False)
    client.cookies.clear()
    return response.status_code, response.text


@pytest.mark.parametrize("name", ["alice", "ALICE", "\uff41\uff4c\uff49\uff43\uff45", "\u0430lice", "aIice"])
def test_the_name_of_someone_present_or_a_look_alike_is_refused_with_422(
    client: TestClient, join: Join, name: str
) -> None:
    join(client, headers=session(client, "alice"))
    status, html = rename(client, session(client, "bob"), name)
    assert status == 422
    assert '<p id="profile-error" class="error banner" role="alert">Someone here is already called alice.</p>' in html


def test_the_rooms_checked_are_the_one_renamed_from_and_those_the_renamer_is_in(client: TestClient, join: Join) -> None:
    join(client, "kitchen", headers=session(client, "alice"))
    assert rename(client, session(client, "bob"), "Alice", room="lobby")[0] == 303
    carol = session(client, "carol")
    join(client, "kitchen", headers=carol)
    assert rename(client, carol, "ALICE", room="lobby")[0] == 422


def test_a_person_present_may_recase_their_own_name_but_not_take_a_look_alike(client: TestClient, join: Join) -> None:
    alice = session(client, "alice")
    join(client, headers=alice)
    join(client, headers=session(client, "bob"))
    assert rename(client, alice, "ALICE")[0] == 303
    assert rename(client, alice, "B0B")[0] == 422


def test_a_guest_name_is_not_chosen_on_the_profile_form(client: TestClient) -> None:
    status, html = rename(client, session(client, "bob"), "guest-4821")
    assert status == 422
    assert "Names starting with “guest” are given to guests, not chosen." in html


def test_a_first_visit_gets_a_six_digit_guest_name(client: TestClient) -> None:
    assert re.search(r'name="name" value="guest-[1-9]\d{5}"', client.get("/").text)


def test_a_session_name_from_before_the_rules_becomes_a_guest_name(client: TestClient) -> None:
    raw = b64encode(orjson.dumps({"uid": "0123456789ab", "name": "\u202eAlice"})).decode()
    cookie = TimestampSigner("test-secret").sign(raw).decode()
    html = page(client, "/", {"cookie": f"chatroom={cookie}"})
    assert "\u202e" not in html
    assert re.search(r'name="name" value="guest-\d{6}"', html)


def test_names_and_texts_are_isolated_and_guests_are_marked(client: TestClient, join: Join) -> None:
    ws = join(client, headers=session(client, HEBREW))
    item = post(ws, "shalom")
    assert f'<bdi class="author">{HEBREW}</bdi> <span class="guest">guest</span>' in item
    assert '<div class="text" dir="auto"><p>shalom</p></div>' in item
    html = page(client, "/", session(client, "bob"))
    assert re.search(rf'<li data-uid="[0-9a-f]{{12}}"><bdi>{HEBREW}</bdi> <span class="guest">guest</span></li>', html)


def test_a_zalgo_message_is_refused_with_the_reason(client: TestClient) -> None:
    response = client.post("/rooms/lobby/messages", data={"message": "a" + "\u0301" * 1999})
    assert response.status_code == 422
    assert "A message can have at most 4 accents or marks on one character." in response.text
