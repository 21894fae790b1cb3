"""The htmx WebSocket, /rooms/{room}/ws: snapshot, fan-out, the sender's reply and every limit."""

from __future__ import annotations

import gc
import re
from base64 import b64encode
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from itsdangerous import TimestampSigner
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from chatroom.rooms import hub as hub_module
from chatroom.rooms.outbox import SocketOutbox
from chatroom.transports.htmx_ws import Joined
from chatroom.transports.socket import RoomSocket
from tests.inprocess import hub_of
from tests.people import say, session, sign_up
from tests.unit.conftest import Join, MakeClient
from tests.wire import SNAPSHOT, marker, message_ids, post, recv, recv_chat, send_message


def test_first_frame_is_a_snapshot_of_the_latest_messages(make_client: MakeClient) -> None:
    client = make_client(history_limit=3)
    for n in range(1, 6):
        client.post("/rooms/lobby/messages", data={"message": f"m{n}"})
    with client.websocket_connect("/rooms/lobby/ws") as ws:
        snapshot = recv(ws)
    assert SNAPSHOT.match(snapshot)
    assert message_ids(snapshot) == [3, 4, 5]
    assert "?before=3" in snapshot, "the snapshot offers older messages"


def test_a_message_reaches_everyone_in_the_room_once(client: TestClient, join: Join) -> None:
    alice, bob = join(client), join(client)
    for frame in (post(alice, "hello"), recv(bob)):
        assert frame.startswith('<div hx-swap-oob="beforeend:#messages"><li id="msg-1"')
        assert '<div class="text" dir="auto"><p>hello</p></div>' in frame
    marker(bob, alice)


def test_the_sender_alone_gets_an_empty_message_control(client: TestClient, join: Join) -> None:
    alice, bob = join(client), join(client)
    send_message(alice, "hi")
    reply = next(frame for frame in (recv(alice), recv(alice)) if "msg-input" in frame)
    # Morphed, not replaced: the box was emptied by the form's reset, and text typed since stays.
    control = re.search(r'<textarea id="msg-input" class="fresh" name="message"[^>]*>([^<]*)</textarea>', reply)
    assert control and 'hx-swap-oob="outerMorph"' in control.group(0) and control.group(1) == ""
    assert "autofocus" not in control.group(0), "the reply does not take the focus from where the person went"
    assert re.search(r'<input type="hidden" id="send-nonce" name="nonce" value="[\w-]{13,}" hx-swap-oob="true">', reply)
    assert '<div id="errors" class="errors" role="alert" hx-swap-oob="true"></div>' in reply
    assert message_ids(recv(bob)) == [1]
    marker(alice, bob)


def test_rooms_are_isolated(client: TestClient, join: Join) -> None:
    lobby, other = join(client), join(client, "other")
    assert message_ids(post(other, "only here")) == [1]
    marker(lobby)


def test_each_room_counts_its_own_seq(client: TestClient, join: Join) -> None:
    a, b = join(client, "a"), join(client, "b")
    assert [message_ids(post(ws, "x")) for ws in (a, b, a)] == [[1], [1], [2]]


def test_html_is_escaped_everywhere(client: TestClient, join: Join) -> None:
    client.post("/profile", data={"name": '"><img src=x onerror=alert(1)>'})
    ws = join(client)
    frame = post(ws, '<script>alert(1)</script> {{ 7*7 }} "><img src=x onerror=alert(2)>')
    assert "<script>" not in frame and "<img" not in frame
    assert "&lt;script&gt;alert(1)&lt;/script&gt; {{ 7*7 }} &#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in frame
    assert '<bdi class="author">&#34;&gt;&lt;img src=x onerror=alert(1)&gt;</bdi>' in frame


def test_empty_and_blank_messages_are_ignored(client: TestClient, join: Join) -> None:
    alice, bob = join(client), join(client)
    for text in ("", "   ", "\n\t"):
        send_message(alice, text)
    marker(alice, bob)


def test_an_over_long_message_is_refused_to_the_sender_alone(make_client: MakeClient, join: Join) -> None:
    client = make_client(max_message_length=10)
    alice, bob = join(client), join(client)
    send_message(alice, "x" * 11)
    error = recv(alice)
    assert error.startswith('<div id="errors" class="errors" role="alert" hx-swap-oob="true">')
    assert "at most 10 characters; this one has 11" in error
    # Sending emptied the box; the refused text goes back in it, replacing the control.
    assert re.search(r'<textarea id="msg-input" name="message"[^>]*hx-swap-oob="true">x{11}</textarea>', error)
    post(alice, "x" * 10)
    assert message_ids(recv(bob)) == [1], "nothing was stored or sent for the refused one"


def test_a_sender_over_the_rate_limit_is_refused(make_client: MakeClient, join: Join) -> None:
    client = make_client(rate_limit_per_second=0.001, rate_limit_burst=3)
    alice, bob = join(client), join(client)
    for _ in range(3):
        post(alice, "ok")
    send_message(alice, "one too many")
    assert "too fast" in recv(alice)
    assert message_ids("".join(recv(bob) for _ in range(3))) == [1, 2, 3]
    marker(join(client), bob)  # from another guest: a rate limit of their own


def test_the_rate_limit_follows_the_session_across_sockets(make_client: MakeClient, join: Join) -> None:
    client = make_client(rate_limit_per_second=0.001, rate_limit_burst=2)
    client.get("/")
    first, second = join(client), join(client)
    post(first, "ok")
    recv_chat(second)
    post(second, "ok")
    send_message(second, "third")
    assert "too fast" in recv_chat(second)


def test_a_frame_that_is_not_json_gets_an_error_and_the_socket_stays_open(client: TestClient, join: Join) -> None:
    ws = join(client)
    ws.send_text("not json at all")
    assert "JSON object" in recv(ws)
    ws.send_text('["a", "list"]')
    assert "JSON object" in recv(ws)
    assert message_ids(post(ws, "still here")) == [1]


def test_a_frame_without_message_gets_an_error(client: TestClient, join: Join) -> None:
    ws = join(client)
    ws.send_json({"text": "wrong field", "headers": {"HX-Request": "true"}})
    assert "no &#34;message&#34; field" in recv(ws)


def test_a_message_that_is_not_a_string_gets_an_error(client: TestClient, join: Join) -> None:
    ws = join(client)
    ws.send_json({"message": ["a"]})
    assert "as a string" in recv(ws)


def test_htmx_2_headers_are_ignored_too(client: TestClient, join: Join) -> None:
    ws = join(client)
    ws.send_json({"message": "from htmx 2", "HEADERS": {"HX-Request": "true", "HX-Trigger": "send-form"}})
    frames = recv(ws) + recv(ws)
    assert "from htmx 2" in frames and "msg-input" in frames


def test_control_characters_are_refused(client: TestClient, join: Join) -> None:
    ws = join(client)
    send_message(ws, "bell\x07")
    assert "control characters" in recv(ws)


def test_a_frame_over_64_kib_closes_the_socket_with_1009(client: TestClient, join: Join) -> None:
    ws = join(client)
    ws.send_text('{"message": "' + "x" * (64 * 1024) + '"}')
    with pytest.raises(WebSocketDisconnect) as closed:
        recv(ws)
    assert closed.value.code == 1009


def test_a_frame_of_64_kib_is_still_read(make_client: MakeClient, join: Join) -> None:
    client = make_client(max_message_length=100_000)
    ws = join(client)
    ws.send_text(('{"message": "' + "y" * (64 * 1024))[: 64 * 1024 - 2] + '"}')
    assert message_ids(recv(ws) + recv(ws)) == [1]


def test_a_foreign_origin_is_refused(client: TestClient) -> None:
    with pytest.raises(WebSocketDisconnect) as refused:
        client.websocket_connect("/rooms/lobby/ws", headers={"origin": "https://evil.example"}).__enter__()
    assert refused.value.code == 1008  # the server turns a close before accept into HTTP 403


def test_the_sites_own_origin_and_allowed_origins_are_accepted(make_client: MakeClient, join: Join) -> None:
    client = make_client(allowed_origins=("https://chat.example",))
    join(client, headers={"origin": "http://testserver"})
    join(client, headers={"origin": "https://chat.example"})


def test_an_invalid_room_name_is_refused(client: TestClient) -> None:
    with pytest.raises(WebSocketDisconnect):
        client.websocket_connect("/rooms/Not_Valid!/ws").__enter__()


def test_a_reconnect_gets_everything_it_missed(client: TestClient, join: Join) -> None:
    alice = join(client)
    post(alice, "before")
    alice.close()
    bob = join(client)
    post(bob, "while alice was away")
    with client.websocket_connect("/rooms/lobby/ws") as again:
        assert message_ids(recv(again)) == [1, 2]


def test_the_author_is_the_session_name(client: TestClient, join: Join) -> None:
    client.post("/profile", data={"name": "alice"})
    ws = join(client)
    assert '<bdi class="author">alice</bdi>' in post(ws, "hi")


def test_a_forged_or_foreign_session_cookie_makes_a_guest(client: TestClient, join: Join) -> None:
    client.post("/profile", data={"name": "alice"})
    signature = client.cookies["chatroom"].split(".", 1)[1]
    client.cookies.clear()
    mallory = b64encode(orjson.dumps({"uid": "u-mallory", "name": "mallory"})).decode()
    foreign = TimestampSigner("another-secret").sign(mallory).decode()
    for cookie in (f"{mallory}.{signature}", foreign, "not-a-session"):
        ws = join(client, headers={"cookie": f"chatroom={cookie}"})
        author = re.search(r'<bdi class="author">([^<]+)</bdi>', post(ws, "hi"))
        assert author is not None and author.group(1).startswith("guest-"), cookie


def test_guests_arriving_together_share_one_rendering_of_the_people(
    make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hub_module, "MEMBERS_REFRESH_SECONDS", 60.0)  # "together", however slow this machine is
    client = make_client()
    hub = hub_of(client)
    rendered: list[int] = []
    render = hub.fragments.members

    def counted(*args: Any, **kwargs: Any) -> str:
        rendered.append(1)
        return render(*args, **kwargs)

    monkeypatch.setattr(hub.fragments, "members", counted)
    people = [people_sent_to_a_new_guest(client) for _ in range(4)]
    assert people[0].startswith('<ul id="members"') and 'id="room-list"' in people[0]
    assert people == [people[0]] * 4 and len(rendered) == 1


def people_sent_to_a_new_guest(client: TestClient) -> str:
    """The part of a new guest's first frame after the messages: the people, who types, the room list."""
    with client.websocket_connect("/rooms/lobby/ws") as ws:
        first = recv(ws)
    return first[first.index('<ul id="members"') :]


def first_frame(make_client: MakeClient, messages: int, path: str) -> str:
    """The first frame of an htmx socket at `path` in a lobby of `messages` messages, 3 to a page."""
    client = make_client(history_limit=3)
    for n in range(1, messages + 1):
        client.post("/rooms/lobby/messages", data={"message": f"m{n}"})
    return first_frame_of(client, path)


def test_a_snapshot_without_a_position_resets_the_earlier_pages_to_a_link(make_client: MakeClient) -> None:
    snapshot = first_frame(make_client, 5, "/rooms/lobby/ws")
    earlier = snapshot.split('<ul id="earlier"', 1)[1]
    assert earlier.startswith(' class="messages earlier" aria-label="Earlier messages" hx-swap-oob="innerHTML">')
    assert '<li class="older"><a href="/rooms/lobby?before=3"' in earlier
    assert '<p id="connection" class="connection live reconnects" role="status" hx-swap-oob="true">Live</p>' in snapshot


def test_a_snapshot_from_the_pages_first_message_keeps_the_pages_the_reader_loaded(make_client: MakeClient) -> None:
    # The page showed 3..5 and the reader loaded 1..2 into #earlier; then 6 and 7 came while it was away.
    snapshot = first_frame(make_client, 7, "/rooms/lobby/ws?from=3")
    assert SNAPSHOT.match(snapshot), "still the snapshot that replaces #messages, first"
    assert message_ids(snapshot) == [3, 4, 5, 6, 7], "everything from the page's first message: complete"
    assert 'id="earlier"' not in snapshot, "the older pages on screen are left alone"
    assert "?before=" not in snapshot


@pytest.mark.parametrize("position", ["0", "9", "-1", "3x", "99999999999999999999", ""])
def test_a_position_the_room_does_not_have_gets_the_latest_messages(make_client: MakeClient, position: str) -> None:
    snapshot = first_frame(make_client, 5, f"/rooms/lobby/ws?from={position}")
    assert message_ids(snapshot) == [3, 4, 5]
    assert 'id="earlier"' in snapshot


@pytest.mark.parametrize(("position", "shown"), [(2, [5, 6, 7]), (4, [4, 5, 6, 7])])
def test_a_position_too_far_back_gets_the_latest_messages_not_a_long_snapshot(
    make_client: MakeClient, monkeypatch: pytest.MonkeyPatch, position: int, shown: list[int]
) -> None:
    monkeypatch.setattr("chatroom.rooms.starts.REPLAY_LIMIT", 4)  # six messages from 2 are more than a replay's
    assert message_ids(first_frame(make_client, 7, f"/rooms/lobby/ws?from={position}")) == shown


def test_a_new_message_is_announced_once_in_heard_not_by_the_list(client: TestClient, join: Join) -> None:
    alice, bob = join(client), join(client)
    post(alice, "hello <b>all</b>")
    frame = recv(bob)
    assert '<div hx-swap-oob="innerHTML:#heard"><bdi>' in frame
    assert ': <span dir="auto">hello &lt;b&gt;all&lt;/b&gt;</span></div>' in frame
    marker(bob, alice)


@pytest.mark.parametrize("restart", [False, True], ids=["from the feed", "from the store"])
def test_a_snapshot_from_the_pages_first_message_shows_each_message_as_it_is_now(
    make_client: MakeClient, restart: bool
) -> None:
    client = make_client(history_limit=3)
    alice = session(client, "Alice")
    for n in range(1, 8):
        say(client, f"m{n}", who=alice)
    assert client.post("/rooms/lobby/messages/4/edit", data={"message": "m4, edited"}, headers=alice).status_code < 400
    assert client.post("/rooms/lobby/messages/6/delete", headers=alice).status_code < 400
    client.cookies.clear()
    if not restart:  # the page showed 5..7: the feed's recent messages hold all of them
        snapshot = first_frame_of(client, "/rooms/lobby/ws?from=5")
        assert message_ids(snapshot) == [5, 6, 7]
    else:  # the page showed 3..5 long ago: more than the feed keeps, so the store is read
        snapshot = first_frame_of(client, "/rooms/lobby/ws?from=3")
        assert message_ids(snapshot) == [3, 4, 5, 6, 7], "messages only: the edit and the deletion are not items"
        assert ">m4, edited</p>" in snapshot
    assert "m6" not in snapshot and "deleted" in snapshot, "a deleted text is not shown again"


def first_frame_of(client: TestClient, path: str) -> str:
    with client.websocket_connect(path) as ws:
        return recv(ws)


def test_a_turns_frames_are_joined_once_for_every_socket_in_a_zone() -> None:
    @dataclass(frozen=True, eq=False)
    class Item:
        seq: int
        html: str
        json: None = None

    first, second = Item(1, "<li>1</li>"), Item(2, "<li>2</li>")
    joined = Joined()
    text = joined.text([first, second], "UTC")
    assert text == "<li>1</li><li>2</li>"
    assert joined.text([first, second], "UTC") is text, "the next socket's backlog: the same text, framed once"
    assert joined.text([first, Item(2, "<li>2</li>")], "UTC") is not text, "other frames, however alike"
    assert joined.text([second, first], "UTC") == "<li>2</li><li>1</li>"


def test_a_connection_that_ended_leaves_nothing_for_the_garbage_collector(client: TestClient) -> None:
    """A socket and its outbox let go of each other when the connection ends, served or refused: thousands that
    come and go are freed as they go, not left for a full collection of the whole heap."""
    for who in ({}, session(client, "Ann"), sign_up(client, "Bea")):  # cookieless, a named guest, signed in
        with client.websocket_connect("/rooms/lobby/ws", headers=who) as ws:
            recv(ws)
            ws.send_text(orjson.dumps({"message": "hello"}).decode())
            recv(ws)
    with pytest.raises(WebSocketDisconnect):
        client.websocket_connect("/rooms/lobby/ws", headers={"origin": "https://evil.example"}).__enter__()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        left = [type(o).__name__ for o in gc.garbage if isinstance(o, RoomSocket | SocketOutbox)]
    finally:
        gc.garbage.clear()
        gc.set_debug(0)
    assert left == []
