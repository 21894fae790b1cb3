"""Signing up, in and out, and changing a password: over plain forms, as with JavaScript off."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from chatroom.accounts import passwords
from chatroom.settings import Settings
from tests.addresses import at, behind_proxy
from tests.people import PASSWORD, page, say, session, sign_in, sign_up, signed_session
from tests.unit.conftest import Join, MakeClient
from tests.wire import recv, recv_chat, recv_json

WRONG = "That name and password do not match an account."


def test_a_new_account_is_signed_in_and_speaks_under_its_name(client: TestClient) -> None:
    alice = sign_up(client, "Alice")
    html = page(client, "/", alice)
    assert "Sign out" in html and ">Alice</bdi>" in html
    say(client, "hello", who=alice)
    item = page(client, "/", alice).split('id="msg-1"')[1].split("</li>")[0]
    assert ">Alice</bdi>" in item and 'class="guest"' not in item and 'class="avatar' in item


def test_a_guest_is_shown_as_one_and_an_account_is_not_on_the_json_socket(client: TestClient) -> None:
    alice = sign_up(client, "Alice")
    with client.websocket_connect("/ws/rooms/lobby/", headers=alice) as ws:
        recv(ws)
        ws.send_json({"message": "as myself"})
        assert recv_json(ws)["guest"] is False
    with client.websocket_connect("/ws/rooms/lobby/") as ws:
        recv(ws)
        ws.send_json({"message": "as a guest"})
        frame = recv_json(ws)
        assert frame["guest"] is True and frame["bot"] is False


def test_sign_in_answers_the_same_for_a_wrong_password_and_an_unknown_name(client: TestClient) -> None:
    sign_up(client, "Alice")
    client.cookies.clear()
    wrong = client.post("/signin", data={"name": "alice", "password": "not the password"})
    unknown = client.post("/signin", data={"name": "nobody", "password": "not the password"})
    assert wrong.status_code == unknown.status_code == 401
    assert WRONG in wrong.text and WRONG in unknown.text
    assert "not the password" not in wrong.text  # a password is never shown again


def test_sign_in_compares_names_as_one_and_goes_back_to_a_local_page_only(client: TestClient) -> None:
    sign_up(client, "Alice")
    client.cookies.clear()
    data = {"name": "\uff21\uff2c\uff29\uff23\uff25", "password": PASSWORD, "next": "/rooms/x"}
    back = client.post("/signin", data=data, follow_redirects=False)
    assert back.status_code == 303 and back.headers["location"] == "/rooms/x"
    for away in ("https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)"):
        client.cookies.clear()
        data = {"name": "alice", "password": PASSWORD, "next": away}
        answer = client.post("/signin", data=data, follow_redirects=False)
        assert answer.headers["location"] == "/", away


def test_signing_in_replaces_whatever_the_cookie_held(client: TestClient) -> None:
    sign_up(client, "Alice")
    guest = session(client, "visitor")  # a session someone could have planted
    client.cookies.clear()
    signed = client.post("/signin", data={"name": "Alice", "password": PASSWORD}, headers=guest, follow_redirects=False)
    assert signed.cookies["chatroom"] != guest["cookie"].split("=", 1)[1]
    assert ">Alice</bdi>" in page(client, "/", {"cookie": f"chatroom={signed.cookies['chatroom']}"})


@pytest.mark.parametrize(
    ("password", "reason"),
    [("short", "at least 8"), ("x" * 1025, "at most 1024"), ("", "at least 8")],
)
def test_a_password_breaking_the_rules_is_refused_before_any_hashing(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, password: str, reason: str
) -> None:
    monkeypatch.setattr(passwords, "HASHER", None)  # any hashing would fail the test
    refused = client.post("/signup", data={"name": "Alice", "password": password})
    assert refused.status_code == 422 and reason in refused.text


@pytest.mark.parametrize(
    ("name", "reason"),
    [("", "1 to 32"), ("x" * 33, "1 to 32"), ("bad\u202ename", "control"), ("guest-123456", "given to guests")],
)
def test_a_name_breaking_the_rules_is_refused(client: TestClient, name: str, reason: str) -> None:
    refused = client.post("/signup", data={"name": name, "password": PASSWORD})
    assert refused.status_code == 422 and reason in refused.text


def test_sign_out_ends_the_session_on_the_server(client: TestClient) -> None:
    alice = sign_up(client, "Alice")
    copied = dict(alice)
    out = client.post("/signout", headers=alice, follow_redirects=False)
    assert out.status_code == 303
    client.cookies.clear()
    html = page(client, "/", copied)  # the old cookie, replayed: a signed-out visitor
    assert "Sign out" not in html and "Sign in" in html


def test_sign_out_closes_the_sessions_sockets_with_1008(client: TestClient, join: Join) -> None:
    alice = sign_up(client, "Alice")
    ws = join(client, headers=alice)
    with client.websocket_connect("/ws/rooms/lobby/", headers=alice) as seed:
        recv(seed)
        client.post("/signout", headers=alice)
        client.cookies.clear()
        for socket in (ws, seed):
            with pytest.raises(Exception) as closed:
                while True:
                    recv(socket)
            assert getattr(closed.value, "code", None) == 1008


def test_a_new_password_ends_every_other_session(client: TestClient, join: Join) -> None:
    alice = sign_up(client, "Alice")
    laptop = sign_in(client, "Alice")
    ws = join(client, headers=laptop)
    changed = client.post("/account", data={"current": PASSWORD, "password": "a new password"}, headers=alice)
    assert changed.status_code == 200 and "password is changed" in changed.text
    still = {"cookie": f"chatroom={changed.cookies['chatroom']}"}
    client.cookies.clear()
    assert "Sign out" in page(client, "/", still)
    assert "Sign out" not in page(client, "/", laptop)
    with pytest.raises(Exception) as closed:
        while True:
            recv(ws)
    assert getattr(closed.value, "code", None) == 1008
    client.cookies.clear()
    assert client.post("/signin", data={"name": "Alice", "password": PASSWORD}).status_code == 401
    sign_in(client, "Alice", "a new password")


def test_a_wrong_current_password_changes_nothing(client: TestClient) -> None:
    alice = sign_up(client, "Alice")
    refused = client.post("/account", data={"current": "not it at all", "password": "a new password"}, headers=alice)
    assert refused.status_code == 401
    sign_in(client, "Alice")


def test_a_forged_or_unknown_session_is_a_signed_out_visitor(client: TestClient) -> None:
    alice = sign_up(client, "Alice")
    token_in_other_cookie = alice["cookie"][:-6] + "AAAAAA"  # the signature no longer matches
    client.cookies.clear()
    assert "Sign out" not in page(client, "/", {"cookie": token_in_other_cookie})
    forged = signed_session("not-the-secret", "Alice")
    assert "Sign out" not in page(client, "/", forged)


def test_the_account_page_needs_a_session(client: TestClient) -> None:
    answer = client.get("/account", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/signin?next=/account"


def test_wrong_passwords_are_throttled_per_name_and_per_address(settings: Settings) -> None:
    with behind_proxy(settings) as (client, _):
        sign_up(client, "Alice")
        sign_up(client, "Bob")
        client.cookies.clear()

        def attempt(name: str, password: str, address: str) -> int:
            data = {"name": name, "password": password}
            return client.post("/signin", data=data, headers=at(address), follow_redirects=False).status_code

        # One name, from many addresses (a botnet): ten tries, then the name waits.
        answers = [attempt("Alice", f"guess number {n}", f"198.51.100.{n}") for n in range(40)]
        assert answers[:10] == [401] * 10 and set(answers[10:]) == {429}
        assert attempt("Alice", PASSWORD, "203.0.113.9") == 429  # Alice too, for now: the name is what is attacked
        # Many names from one address: thirty tries, then the address waits.
        spread = [attempt(f"name{n}", "guess guess", "192.0.2.1") for n in range(40)]
        assert spread[:30] == [401] * 30 and set(spread[30:]) == {429}
        assert attempt("Bob", PASSWORD, "192.0.2.1") == 429
        # Everyone else is unaffected.
        assert attempt("Bob", PASSWORD, "192.0.2.2") == 303


def test_htmx_post_as_an_account_shows_its_name_to_the_room(client: TestClient, join: Join) -> None:
    alice = sign_up(client, "Alice")
    ws = join(client, headers=alice)
    say(client, "hi from alice", who=alice)
    assert ">Alice</bdi>" in recv_chat(ws)


@pytest.mark.timeout(20)  # a stream that did not end would hang here
def test_sign_out_ends_the_sessions_event_stream(client: TestClient) -> None:
    alice = sign_up(client, "Alice")
    with client.stream("GET", "/rooms/lobby/events", headers=alice) as stream:
        lines = stream.iter_lines()
        assert next(line for line in lines if line.startswith("data:"))  # the snapshot
        client.post("/signout", headers=alice)
        rest = list(lines)  # returns only if the server ends the stream (else the timeout fails the test)
        assert all("hx-swap-oob" not in line or "msg-" not in line for line in rest)  # and no message came


def test_the_session_cookie_is_http_only_and_same_site(client: TestClient, make_client: MakeClient) -> None:
    client.post("/signup", data={"name": "Alice", "password": PASSWORD}, follow_redirects=False)
    made = client.post("/signin", data={"name": "Alice", "password": PASSWORD}, follow_redirects=False)
    flags = made.headers["set-cookie"].lower()
    assert "httponly" in flags and "samesite=lax" in flags and "secure" not in flags
    secure = make_client(https_only=True)
    answer = secure.post("/signup", data={"name": "Bob", "password": PASSWORD}, follow_redirects=False)
    assert "; secure" in answer.headers["set-cookie"].lower()


def test_a_signed_out_page_is_told_it_is_no_longer_live_before_the_close(client: TestClient, join: Join) -> None:
    alice = sign_up(client, "Alice")
    ws = join(client, headers=alice)
    client.post("/signout", headers=alice)
    frames = []
    with pytest.raises(Exception) as closed:
        while True:
            frames.append(recv(ws))
    assert getattr(closed.value, "code", None) == 1008
    assert any('<p id="connection" class="connection ended"' in frame for frame in frames), frames
