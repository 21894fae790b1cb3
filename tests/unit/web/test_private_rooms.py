"""Private rooms and direct conversations over HTTP: made by accounts only, and for anyone who is not a member,
at every door, a room that does not exist."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from chatroom.settings import Settings
from tests.addresses import at, behind_proxy
from tests.people import Session, say, sign_up
from tests.unit.accounts.helpers import admin
from tests.unit.accounts.test_bots import bearer, make_bot

ROOM_URL = re.compile(r"^/rooms/(_[0-9a-f]{16})$")


def private_room(client: TestClient, who: Session, title: str = "plans") -> str:
    made = client.post("/rooms", data={"name": title, "private": "on"}, headers=who, follow_redirects=False)
    client.cookies.clear()
    assert made.status_code == 303, made.text
    found = ROOM_URL.match(made.headers["location"])
    assert found is not None, made.headers["location"]
    return found.group(1)


def get(client: TestClient, url: str, who: Session | None = None) -> int:
    answer = client.get(url, headers=who, follow_redirects=False)
    client.cookies.clear()
    return answer.status_code


def post(client: TestClient, url: str, who: Session | None, **data: str) -> int:
    return answered(client, url, who, **data)[0]


def answered(client: TestClient, url: str, who: Session | None, **data: str) -> tuple[int, str]:
    """A form post as `who`: the status and the page (a refusal says why)."""
    answer = client.post(url, data=data, headers=who, follow_redirects=False)
    client.cookies.clear()
    return answer.status_code, answer.text


@pytest.fixture
def alice(client: TestClient) -> Session:
    return sign_up(client, "Alice")


@pytest.fixture
def bob(client: TestClient) -> Session:
    return sign_up(client, "Bob")


@pytest.fixture
def carol(client: TestClient) -> Session:
    return sign_up(client, "Carol")


def test_an_account_makes_a_private_room_and_is_its_first_member(client: TestClient, alice: Session) -> None:
    room = private_room(client, alice, "plans")
    html = client.get(f"/rooms/{room}", headers=alice).text
    client.cookies.clear()
    assert "<title>plans · chatroom</title>" in html
    assert 'action="/rooms/' + room + '/members"' in html and 'action="/rooms/' + room + '/leave"' in html
    assert '<ul class="room-members"><li data-uid="' in html and "<bdi>Alice</bdi>" in html
    assert f'<li data-room="{room}">' in html  # in her own list, apart from the public one


def test_a_guest_cannot_make_a_private_room(client: TestClient) -> None:
    made = client.post("/rooms", data={"name": "plans", "private": "on"}, follow_redirects=False)
    assert made.status_code == 403
    assert "Sign in to make a private room" in made.text


def test_a_private_room_needs_a_valid_title(client: TestClient, alice: Session) -> None:
    made = client.post("/rooms", data={"name": "Not A Name!", "private": "on"}, headers=alice)
    assert made.status_code == 422 and "A room name is 1 to 50 characters" in made.text


def test_a_public_room_cannot_take_a_private_rooms_name(client: TestClient, alice: Session, bob: Session) -> None:
    room = private_room(client, alice)
    made = client.post("/rooms", data={"name": room}, headers=bob, follow_redirects=False)
    client.cookies.clear()
    assert made.status_code == 422 and "kept for private rooms" in made.text
    assert get(client, f"/rooms/{room}", bob) == 404


def test_every_door_of_a_private_room_is_a_404_for_a_non_member_and_a_guest(
    client: TestClient, alice: Session, bob: Session
) -> None:
    room = private_room(client, alice)
    say(client, "the secret plan", room, alice)
    guest: Session = {}
    for who in (bob, guest):
        for url in (
            f"/rooms/{room}",
            f"/rooms/{room}?around=1",
            f"/rooms/{room}?before=2",
            f"/rooms/{room}/messages?before=2",
            f"/rooms/{room}/messages/1/actions",
            f"/rooms/{room}/messages/1/edit",
            f"/rooms/{room}/events",
        ):
            assert get(client, url, who or None) == 404, (url, who)
        for url, data in (
            (f"/rooms/{room}/messages", {"message": "let me in"}),
            (f"/rooms/{room}/messages/1/edit", {"message": "changed"}),
            (f"/rooms/{room}/messages/1/delete", {}),
            (f"/rooms/{room}/messages/1/reactions", {"emoji": "👍"}),
            (f"/rooms/{room}/members", {"name": "Bob"}),
            (f"/rooms/{room}/leave", {}),
            (f"/rooms/{room}/typing", {"message": "typing"}),
        ):
            assert post(client, url, who or None, **data) == 404, (url, who)
    html = client.get(f"/rooms/{room}", headers=alice).text
    client.cookies.clear()
    assert "the secret plan" in html and "let me in" not in html


def test_a_nonexistent_private_name_is_a_404_even_for_an_account(client: TestClient, alice: Session) -> None:
    assert get(client, "/rooms/_0123456789abcdef", alice) == 404
    assert post(client, "/rooms/_0123456789abcdef/messages", alice, message="hello") == 404


def test_a_member_adds_someone_who_then_reads_and_writes(
    client: TestClient, alice: Session, bob: Session, carol: Session
) -> None:
    room = private_room(client, alice)
    say(client, "welcome", room, alice)
    assert post(client, f"/rooms/{room}/members", alice, name="bob") == 303
    html = client.get(f"/rooms/{room}", headers=bob).text
    client.cookies.clear()
    assert "welcome" in html and "<bdi>Bob</bdi>" in html
    say(client, "thanks", room, bob)
    assert get(client, f"/rooms/{room}", carol) == 404


def test_adding_refuses_unknown_names_members_and_public_rooms(
    client: TestClient, alice: Session, bob: Session
) -> None:
    room = private_room(client, alice)
    status, page = answered(client, f"/rooms/{room}/members", alice, name="nobody")
    assert status == 422 and "Nobody has an account called nobody" in page
    assert post(client, f"/rooms/{room}/members", alice, name="") == 422
    assert post(client, f"/rooms/{room}/members", alice, name="x" * 65) == 422
    assert post(client, f"/rooms/{room}/members", alice, name="Bob") == 303
    status, page = answered(client, f"/rooms/{room}/members", alice, name="Bob")
    assert status == 422 and "in this room already" in page
    status, page = answered(client, "/rooms/lobby/members", alice, name="Bob")
    assert status == 422 and "Only a private room has members" in page


def test_a_member_who_leaves_finds_no_room(client: TestClient, alice: Session, bob: Session) -> None:
    room = private_room(client, alice)
    post(client, f"/rooms/{room}/members", alice, name="Bob")
    assert post(client, f"/rooms/{room}/leave", bob) == 303
    assert get(client, f"/rooms/{room}", bob) == 404
    assert get(client, f"/rooms/{room}/messages?before=5", bob) == 404
    assert post(client, f"/rooms/{room}/messages", bob, message="back?") == 404
    assert get(client, f"/rooms/{room}", alice) == 200


def test_the_maker_of_a_room_removes_someone_who_then_finds_no_room(
    client: TestClient, alice: Session, bob: Session, carol: Session
) -> None:
    room = private_room(client, alice)
    for name in ("Bob", "Carol"):
        assert post(client, f"/rooms/{room}/members", alice, name=name) == 303
    page = client.get(f"/rooms/{room}", headers=alice).text
    client.cookies.clear()
    assert 'aria-label="Remove Bob from this room"' in page and 'aria-label="Remove Alice' not in page
    page = client.get(f"/rooms/{room}", headers=carol).text
    client.cookies.clear()
    assert "Remove Bob" not in page  # only the maker (or a moderator) is offered it
    assert post(client, f"/rooms/{room}/members/remove", carol, name="Bob") == 403
    assert post(client, f"/rooms/{room}/members/remove", alice, name="Bob") == 303
    assert get(client, f"/rooms/{room}", bob) == 404
    assert post(client, f"/rooms/{room}/messages", bob, message="still here?") == 404
    assert post(client, f"/rooms/{room}/members/remove", bob, name="Carol") == 404
    assert get(client, f"/rooms/{room}", carol) == 200


def test_removing_refuses_oneself_non_members_unknown_names_direct_conversations_and_guests(
    client: TestClient, alice: Session, bob: Session
) -> None:
    room = private_room(client, alice)
    status, page = answered(client, f"/rooms/{room}/members/remove", alice, name="Bob")
    assert status == 422 and "They are not in this room" in page
    assert post(client, f"/rooms/{room}/members/remove", alice, name="Alice") == 422
    assert post(client, f"/rooms/{room}/members/remove", alice, name="nobody") == 422
    assert post(client, f"/rooms/{room}/members/remove", alice, name="") == 422
    assert post(client, f"/rooms/{room}/members/remove", None, name="Alice") == 404
    assert post(client, "/rooms/lobby/members/remove", alice, name="Bob") == 422
    direct = client.get("/dm/Bob", headers=alice, follow_redirects=False).headers["location"]
    client.cookies.clear()
    assert post(client, f"{direct}/members/remove", alice, name="Bob") == 422


def test_a_moderator_who_is_a_member_may_remove_someone(client: TestClient, alice: Session, bob: Session) -> None:
    ada = admin(client)
    room = private_room(client, alice)
    for name in ("Bob", "Ada"):
        assert post(client, f"/rooms/{room}/members", alice, name=name) == 303
    assert post(client, f"/rooms/{room}/members/remove", ada, name="Bob") == 303
    assert get(client, f"/rooms/{room}", bob) == 404


def test_private_rooms_are_in_no_public_list_nor_search(client: TestClient, alice: Session, bob: Session) -> None:
    room = private_room(client, alice)
    say(client, "zanzibar rendezvous", room, alice)
    html = client.get("/rooms/lobby", headers=bob).text
    client.cookies.clear()
    assert room not in html and "plans" not in html
    found = client.get("/search?q=zanzibar", headers=bob).text
    client.cookies.clear()
    assert "rendezvous" not in found
    found = client.get("/search?q=zanzibar", headers=alice).text
    client.cookies.clear()
    assert "rendezvous" in found
    own = client.get("/rooms/lobby", headers=alice).text
    client.cookies.clear()
    own_public_list = own.split('<ul id="room-list"', 1)[1].split("</ul>", 1)[0]
    assert room not in own_public_list


def test_a_direct_conversation_is_one_room_for_both_and_no_one_else(
    client: TestClient, alice: Session, bob: Session, carol: Session
) -> None:
    first = client.get("/dm/Bob", headers=alice, follow_redirects=False)
    client.cookies.clear()
    again = client.get("/dm/alice", headers=bob, follow_redirects=False)
    client.cookies.clear()
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    room = first.headers["location"].removeprefix("/rooms/")
    say(client, "just between us", room, bob)
    html = client.get(f"/rooms/{room}", headers=alice).text
    client.cookies.clear()
    assert "just between us" in html and "<title>Bob · chatroom</title>" in html
    listed = f'<li data-room="{room}"><a href="/rooms/{room}" aria-current="page"><span class="kind">@</span><bdi>Bob'
    assert listed in html
    assert get(client, f"/rooms/{room}", carol) == 404
    assert post(client, f"/rooms/{room}/members", alice, name="Carol") == 422  # the two's only
    assert post(client, f"/rooms/{room}/leave", alice) == 422


def test_direct_conversations_refuse_oneself_unknown_names_and_guests(client: TestClient, alice: Session) -> None:
    assert get(client, "/dm/Alice", alice) == 422
    assert get(client, "/dm/nobody", alice) == 422
    guest = client.get("/dm/Alice", follow_redirects=False)
    assert guest.status_code == 303 and guest.headers["location"].startswith("/signin")


def test_the_write_to_form_goes_to_the_direct_conversation(client: TestClient, alice: Session, bob: Session) -> None:
    answer = client.get("/dm?name=Bob", headers=alice, follow_redirects=False)
    client.cookies.clear()
    assert answer.status_code == 303 and answer.headers["location"] == "/dm/Bob"


def test_direct_conversations_are_listed_newest_first_by_the_other_persons_name(
    client: TestClient, alice: Session, bob: Session, carol: Session
) -> None:
    with_bob = client.get("/dm/Bob", headers=alice, follow_redirects=False).headers["location"].removeprefix("/rooms/")
    client.cookies.clear()
    with_carol = client.get("/dm/Carol", headers=alice, follow_redirects=False).headers["location"][7:]
    client.cookies.clear()
    say(client, "newer", with_bob, bob)
    html = client.get("/rooms/lobby", headers=alice).text
    client.cookies.clear()
    listed = html.split('id="conversations"', 1)[1]
    assert listed.index(with_bob) < listed.index(with_carol)
    assert "<bdi>Bob</bdi>" in listed and "<bdi>Carol</bdi>" in listed


def test_a_bot_posts_only_in_private_rooms_it_is_a_member_of(client: TestClient) -> None:
    ada = admin(client)
    token = make_bot(client, ada)
    room = private_room(client, ada)
    answer = client.post(f"/api/rooms/{room}/messages", json={"message": "hi"}, headers=bearer(token))
    assert answer.status_code == 403
    assert post(client, f"/rooms/{room}/members", ada, name="Deploybot") == 303
    answer = client.post(f"/api/rooms/{room}/messages", json={"message": "hi"}, headers=bearer(token))
    assert answer.status_code == 201


def test_files_of_a_private_room_are_served_to_its_members_only(
    client: TestClient, alice: Session, bob: Session
) -> None:
    room = private_room(client, alice)
    sent = client.post(
        f"/rooms/{room}/files",
        files={"file": ("notes.txt", b"secret notes", "text/plain")},
        headers=alice,
        follow_redirects=False,
    )
    client.cookies.clear()
    assert sent.status_code in (200, 303), sent.text
    html = client.get(f"/rooms/{room}", headers=alice).text
    client.cookies.clear()
    found = re.search(r'href="(/files/[^"]+)"', html)
    assert found is not None
    assert get(client, found.group(1), alice) == 200
    assert get(client, found.group(1), bob) == 404
    assert get(client, found.group(1)) == 404
    assert post(client, f"/rooms/{room}/files", bob) == 404


def test_private_rooms_are_limited_per_person_then_per_address(settings: Settings) -> None:
    with behind_proxy(settings) as (client, _):
        alice = sign_up(client, "Alice")
        made = [make(client, alice, at("203.0.113.1")) for _ in range(7)]
        assert made == [303] * 6 + [429]
        bob = sign_up(client, "Bob")
        assert make(client, bob, at("198.51.100.2")) == 303


def test_member_adds_removals_and_direct_conversations_are_limited_per_person(settings: Settings) -> None:
    with behind_proxy(settings) as (client, _):
        alice = sign_up(client, "Alice")
        for n in range(21):
            sign_up(client, f"p{n}")
        room = private_room(client, alice)
        there = {**alice, **at("203.0.113.1")}
        added = [post(client, f"/rooms/{room}/members", there, name=f"p{n}") for n in range(21)]
        assert added == [303] * 20 + [429]
        assert post(client, f"/rooms/{room}/members/remove", there, name="p0") == 429  # removals count too
        opened = [get(client, f"/dm/p{n % 21}", there) for n in range(31)]
        assert opened == [303] * 30 + [429]


def make(client: TestClient, who: Session, where: dict[str, str]) -> int:
    made = client.post(
        "/rooms", data={"name": "plans", "private": "on"}, headers={**who, **where}, follow_redirects=False
    )
    client.cookies.clear()
    return made.status_code


def test_member_adds_and_direct_conversations_are_limited_per_address(settings: Settings) -> None:
    with behind_proxy(settings) as (client, _):
        adders = [sign_up(client, f"adder{n}") for n in range(4)]
        for n in range(25):
            sign_up(client, f"t{n}")
        there = at("203.0.113.9")
        added = []
        for adder in adders:
            room = private_room(client, adder)
            added += [post(client, f"/rooms/{room}/members", {**adder, **there}, name=f"t{n}") for n in range(16)]
        assert added == [303] * 60 + [429] * 4, "no one of them passed 20, their address passed 60"
        opened = [get(client, f"/dm/t{n}", {**adders[k], **there}) for k in range(3) for n in range(25)]
        assert opened == [303] * 60 + [429] * 15
        assert get(client, "/dm/t0", {**adders[3], **at("198.51.100.7")}) == 303
