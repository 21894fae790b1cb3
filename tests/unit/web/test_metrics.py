"""/metrics: the chat's numbers move as people chat, and only an operator may read them."""

from __future__ import annotations

import time
from collections.abc import Generator

from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from chatroom.bus import RESYNC, channel
from tests.inprocess import hub_of, in_app
from tests.unit.conftest import Join, MakeClient
from tests.unit.transports.test_sse import events
from tests.wire import marker, post, recv_chat

TOKEN = "operator-token-0123456789"
OPERATOR = {"authorization": f"Bearer {TOKEN}"}
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(client: TestClient) -> Samples:
    answer = client.get("/metrics", headers=OPERATOR)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def grew(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def test_metrics_are_off_without_a_token(client: TestClient) -> None:
    answer = client.get("/metrics", headers={"authorization": "Bearer "})
    assert answer.status_code == 404
    assert "METRICS_TOKEN" in answer.text
    assert "chatroom_" not in answer.text


def test_metrics_need_the_token(make_client: MakeClient) -> None:
    client = make_client(metrics_token=TOKEN)
    for headers in ({}, {"authorization": f"Bearer {TOKEN}x"}, {"authorization": TOKEN}, {"authorization": "Bearer"}):
        answer = client.get("/metrics", headers=headers)
        assert answer.status_code == 401, headers
        assert answer.headers["www-authenticate"].startswith("Bearer")
        assert "chatroom_" not in answer.text


def test_connections_are_counted_by_transport_while_open(make_client: MakeClient, join: Join) -> None:
    client = make_client(metrics_token=TOKEN)
    before = scrape(client)
    ws = join(client)
    with client.websocket_connect("/ws/rooms/lobby/") as seed:
        seed.receive_json()  # connection_established
        during = scrape(client)
        assert grew(before, during, "chatroom_connections", transport="htmx") == 1
        assert grew(before, during, "chatroom_connections", transport="json") == 1
    ws.close()
    deadline = time.monotonic() + 5
    while grew(before, scrape(client), "chatroom_connections", transport="json") and time.monotonic() < deadline:
        time.sleep(0.01)
    after = scrape(client)
    assert grew(before, after, "chatroom_connections", transport="json") == 0
    assert grew(before, after, "chatroom_connections", transport="htmx") == 0


def test_an_sse_stream_is_a_connection_while_it_is_open(make_client: MakeClient) -> None:
    client = make_client(metrics_token=TOKEN)
    before = scrape(client)
    stream = events(client)
    assert isinstance(stream, Generator)
    next(stream)  # the snapshot: the stream is open
    assert grew(before, scrape(client), "chatroom_connections", transport="sse") == 1
    stream.close()
    deadline = time.monotonic() + 5
    while grew(before, scrape(client), "chatroom_connections", transport="sse") and time.monotonic() < deadline:
        time.sleep(0.01)
    assert grew(before, scrape(client), "chatroom_connections", transport="sse") == 0


def test_each_message_is_counted_stored_timed_and_delivered_to_each_viewer(make_client: MakeClient, join: Join) -> None:
    client = make_client(metrics_token=TOKEN)
    alice, bob = join(client), join(client)
    before = scrape(client)
    post(alice, "one")
    recv_chat(bob)
    post(alice, "two")
    recv_chat(bob)
    after = scrape(client)
    assert grew(before, after, "chatroom_messages_stored_total") == 2
    assert grew(before, after, "chatroom_messages_delivered_total") == 4, "two messages, two viewers"
    assert grew(before, after, "chatroom_send_seconds_count") == 2
    assert grew(before, after, "chatroom_store_seconds_count", operation="append") == 2
    assert grew(before, after, "chatroom_send_seconds_sum") > 0


def test_a_refused_message_is_not_counted(make_client: MakeClient, join: Join) -> None:
    client = make_client(metrics_token=TOKEN, max_message_length=5)
    alice = join(client)
    before = scrape(client)
    alice.send_json({"message": "far too long"})
    assert 'id="errors"' in recv_chat(alice)
    assert grew(before, scrape(client), "chatroom_messages_stored_total") == 0


def test_a_resync_is_a_catch_up_that_reads_the_store(make_client: MakeClient, join: Join) -> None:
    client = make_client(metrics_token=TOKEN)
    alice, bob = join(client), join(client)
    before = scrape(client)
    in_app(client, hub_of(client).bus.broadcast.publish, channel("lobby"), RESYNC)
    marker(alice, bob, people_too=False)
    deadline = time.monotonic() + 5
    while not grew(before, scrape(client), "chatroom_feed_catch_ups_total") and time.monotonic() < deadline:
        time.sleep(0.01)
    after = scrape(client)
    assert grew(before, after, "chatroom_feed_catch_ups_total") == 1
    assert grew(before, after, "chatroom_store_seconds_count", operation="catch_up") >= 1


def test_the_memory_bus_is_up_and_the_build_is_named(make_client: MakeClient) -> None:
    samples = scrape(make_client(metrics_token=TOKEN))
    assert value(samples, "chatroom_bus_up") == 1
    assert [labels for (name, labels) in samples if name == "chatroom_build_info"] != []
    assert ("chatroom_signin_failures_total", ()) in samples, "defined for sign-in to count"


def test_refused_sign_ins_are_counted(make_client: MakeClient) -> None:
    client = make_client(metrics_token=TOKEN)
    before = scrape(client)
    for password in ("wrong password", "another wrong one"):
        assert client.post("/signin", data={"name": "nobody", "password": password}).status_code == 401
    assert grew(before, scrape(client), "chatroom_signin_failures_total") == 2
