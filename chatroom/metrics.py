"""What an operator scrapes at `GET /metrics`: the chat's counters, gauges and histograms (Prometheus).

Each value is moved by one line at the single place that does the thing it counts:

    chatroom_connections{transport}       transports/socket.py, transports/sse.py: open WebSockets and streams
    chatroom_messages_stored_total        rooms/hub.py `Hub.post`: messages the store took
    chatroom_messages_delivered_total     rooms/feed.py `RoomFeed._deliver`: a message times its room's viewers here
    chatroom_send_seconds                 rooms/hub.py: a message from its arrival to stored and announced
    chatroom_store_seconds{operation}     rooms/hub.py (append), rooms/feed.py (catch_up): the store's answers
    chatroom_outbox_drops_total           rooms/outbox.py `Outbox.drop`: connections closed for falling behind (1013)
    chatroom_bus_up                       bus/resilient.py (memory:// is always up): 0 while the bus is down
    chatroom_bus_outages_total            bus/resilient.py: times the bus went down
    chatroom_bus_resyncs_total            bus/resilient.py: rooms told to re-read the store after it came back
    chatroom_feed_catch_ups_total         rooms/feed.py `RoomFeed._catch_up`: a feed re-read the store for a gap
    chatroom_feed_caught_up_messages_total  rooms/feed.py: messages that reached viewers that way
    chatroom_signin_failures_total        sign-in (accounts): refused names or passwords

None carries a room or a person as a label: rooms are made by visitors, and a label per room would
let them grow the scrape without bound. A message costs a few counter increments and two histogram
observations (about 2 µs in all, see README's Operations), and no store or bus round trip.

Several processes (uvicorn `--workers`, `WEB_CONCURRENCY`): with `PROMETHEUS_MULTIPROC_DIR` set in the
environment before the app starts, each process keeps its values in files there (the directory is
made if missing; it should be empty at start-up, e.g. under /tmp), and `/metrics` in any process adds
up all of them. Gauges count the live processes only: a process that stops says so on its way out.
"""

from __future__ import annotations

import os

# The client library reads the variable itself, when the values below are made: so must we, here.
MULTIPROCESS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
if MULTIPROCESS_DIR:
    os.makedirs(MULTIPROCESS_DIR, exist_ok=True)

from prometheus_client import (  # noqa: E402  (after the directory exists: the values are files in it)
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from chatroom.version import VERSION  # noqa: E402

# Seconds; a message is usually stored and announced in a few milliseconds, a stuck store takes its 5 s timeout.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

CONNECTIONS = Gauge(
    "chatroom_connections",
    "Open connections, by transport: htmx (WebSocket), json (the seed's WebSocket), sse.",
    ["transport"],
    multiprocess_mode="livesum",
)
MESSAGES_STORED = Counter("chatroom_messages_stored", "Messages stored: accepted from a sender.")
MESSAGES_DELIVERED = Counter(
    "chatroom_messages_delivered", "Messages offered to connections: each message once per viewer in this process."
)
SEND_SECONDS = Histogram(
    "chatroom_send_seconds",
    "Time from a message's arrival at the hub to stored and announced on the bus.",
    buckets=LATENCY_BUCKETS,
)
STORE_SECONDS = Histogram(
    "chatroom_store_seconds",
    "Time the store took to answer, by operation: append (a new message), catch_up (a feed reading a gap).",
    ["operation"],
    buckets=LATENCY_BUCKETS,
)
STORE_APPEND = STORE_SECONDS.labels(operation="append")
STORE_CATCH_UP = STORE_SECONDS.labels(operation="catch_up")
OUTBOX_DROPS = Counter(
    "chatroom_outbox_drops", "Connections closed because they fell behind (close 1013; they reconnect)."
)
BUS_UP = Gauge(
    "chatroom_bus_up",
    "1 while the bus between processes is connected, 0 while it is down (the lowest of the processes').",
    multiprocess_mode="livemin",
)
BUS_OUTAGES = Counter("chatroom_bus_outages", "Times the bus went down.")
BUS_RESYNCS = Counter("chatroom_bus_resyncs", "Rooms told to re-read the store after the bus reconnected.")
FEED_CATCH_UPS = Counter("chatroom_feed_catch_ups", "Times a room's feed re-read the store for messages it missed.")
FEED_CAUGHT_UP = Counter(
    "chatroom_feed_caught_up_messages", "Messages that reached viewers from the store rather than the bus."
)
SIGNIN_FAILURES = Counter("chatroom_signin_failures", "Sign-ins refused: a wrong name or password.")
BUILD = Gauge(
    "chatroom_build_info", "Always 1; the release's version is its label.", ["version"], multiprocess_mode="max"
)
BUILD.labels(version=VERSION).set(1)


def exposition() -> tuple[bytes, str]:
    """The scrape: every value in the text format, and its content type; with several processes, all of them."""
    if MULTIPROCESS_DIR:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, MULTIPROCESS_DIR)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def process_stopped() -> None:
    """This process's gauges no longer count (its connections are gone); called as it shuts down."""
    if MULTIPROCESS_DIR:
        multiprocess.mark_process_dead(os.getpid(), MULTIPROCESS_DIR)  # type: ignore[no-untyped-call]
