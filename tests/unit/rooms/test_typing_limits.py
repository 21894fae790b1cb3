"""Typing events are limited per person (all their sockets and the SSE page share one bucket) and per address."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient, WebSocketTestSession

from chatroom.identity import Person
from chatroom.rooms.limits import TYPING_PER_ADDRESS_BURST, TYPING_PER_PERSON_BURST
from chatroom.settings import Settings
from tests.addresses import at, behind_proxy
from tests.inprocess import hub_of
from tests.people import session
from tests.unit.conftest import Join
from tests.wire import wait_for

pytestmark = pytest.mark.timeout(60)


def counted_typing(client: TestClient) -> list[str]:
    """The names whose typing events passed the limits, in order; time stands still for the limits."""
    hub = hub_of(client)
    hub.limits.typing_by_person.clock = hub.limits.typing.clock = lambda: 0.0
    passed: list[str] = []
    typed = hub.typed

    def counted(room: str, person: Person, on: bool) -> None:
        passed.append(person.name)
        typed(room, person, on)

    setattr(hub, "typed", counted)  # noqa: B010 - replaces a method on this one instance
    return passed


def type_text(ws: WebSocketTestSession, text: str) -> None:
    ws.send_json({"message": text, "typing": True, "headers": {"HX-Request": "true", "HX-Source": "input#msg-input"}})


def read_up_to_here(ws: WebSocketTestSession) -> None:
    """Every frame sent before on `ws` was handled: a frame that is refused comes back after them."""
    ws.send_text("not json")
    wait_for(ws, lambda frame: 'id="errors"' in frame or None, True)


def test_a_person_typing_on_two_sockets_and_the_sse_page_is_limited_as_one(client: TestClient, join: Join) -> None:
    passed = counted_typing(client)
    bob = session(client, "bob")
    sockets = [join(client, headers=bob), join(client, headers=bob)]
    for n in range(1, 7):
        type_text(sockets[n % 2], "x" * n)
    for ws in sockets:
        read_up_to_here(ws)
    typed = client.post("/rooms/lobby/typing", data={"message": "xyz"}, headers={**bob, "hx-request": "true"})
    assert typed.status_code == 204
    assert passed == ["bob"] * TYPING_PER_PERSON_BURST


def test_people_from_one_address_are_limited_together(settings: Settings) -> None:
    with behind_proxy(settings) as (client, _):
        passed = counted_typing(client)
        people = [session(client, f"p{n}") for n in range(TYPING_PER_ADDRESS_BURST + 5)]
        for who in people:
            headers = {**who, **at("203.0.113.5"), "hx-request": "true"}
            client.post("/rooms/lobby/typing", data={"message": "hi"}, headers=headers)
        assert passed == [f"p{n}" for n in range(TYPING_PER_ADDRESS_BURST)]
        last = people[-1]  # refused above for its address, not for itself
        client.post(
            "/rooms/lobby/typing", data={"message": "hi"}, headers={**last, **at("198.51.100.7"), "hx-request": "true"}
        )
        assert passed[TYPING_PER_ADDRESS_BURST:] == [f"p{len(people) - 1}"], "another address has a bucket of its own"
