"""Who's here: one entry per person, live for everyone, right after floods, renames and dead processes."""

from __future__ import annotations

import asyncio
import gc
import time

import pytest
from starlette.testclient import TestClient

from chatroom.app import create_app
from chatroom.identity import Person
from chatroom.rooms.outbox import Outbox
from chatroom.rooms.presence import Viewer
from chatroom.rooms.render import MEMBERS_SHOWN, Fragments
from chatroom.settings import Settings
from chatroom.store import Member, open_store
from chatroom.web.templating import template_environment
from tests.inprocess import hub_of, in_app
from tests.people import Lobby, Session, page, session, signed_session
from tests.unit.conftest import Join, MakeClient
from tests.wire import SNAPSHOT, first_found, marker, members, recv, wait_for

pytestmark = pytest.mark.timeout(60)


def now_us() -> int:
    return int(time.time() * 1_000_000)


def test_the_first_frame_lists_the_people_here_after_the_messages(client: TestClient, alice: Session) -> None:
    with client.websocket_connect("/rooms/lobby/ws", headers=alice) as ws:
        snapshot = recv(ws)
    assert SNAPSHOT.match(snapshot), "the message list stays the first element"
    assert members(snapshot) == ["alice"]


def test_arrivals_and_departures_reach_everyone(client: TestClient, join: Join, alice: Session, bob: Session) -> None:
    at_alice = join(client, headers=alice)
    at_bob = client.websocket_connect("/rooms/lobby/ws", headers=bob).__enter__()
    assert members(recv(at_bob)) == ["alice", "bob"]
    wait_for(at_alice, members, ["alice", "bob"])
    at_bob.__exit__(None, None, None)
    wait_for(at_alice, members, ["alice"])


def test_one_entry_per_person_however_many_tabs(client: TestClient, join: Join, lobby: Lobby, alice: Session) -> None:
    second = client.websocket_connect("/rooms/lobby/ws", headers=alice).__enter__()
    assert members(recv(second)) == ["alice", "bob"]
    second.__exit__(None, None, None)
    carol = join(client, headers=session(client, "carol"))
    assert first_found(lobby.bob, members) == ["alice", "bob", "carol"], "alice stayed, with her other tab"
    carol.close()
    wait_for(lobby.bob, members, ["alice", "bob"])
    lobby.alice.close()
    wait_for(lobby.bob, members, ["bob"])


def test_a_new_name_reaches_the_list(client: TestClient, lobby: Lobby, bob: Session) -> None:
    client.post("/profile", data={"name": "Robert"}, headers=bob)
    wait_for(lobby.alice, members, ["alice", "Robert"])


def test_names_are_escaped_in_the_list(client: TestClient, join: Join, alice: Session) -> None:
    at_alice = join(client, headers=alice)
    join(client, headers=session(client, '<img src=x onerror=alert(1)>"&'))
    frame = wait_for(at_alice, members, ["&lt;img src=x onerror=alert(1)&gt;&#34;&amp;", "alice"])
    assert "<img" not in frame


def test_sockets_without_a_session_are_not_people(client: TestClient, join: Join, alice: Session, bob: Session) -> None:
    at_alice = join(client, headers=alice)
    anonymous = join(client)
    join(client, headers=bob)
    assert first_found(at_alice, members) == ["alice", "bob"], "the anonymous socket changed nothing before bob"
    marker(anonymous)  # and it was sent no list at all: it is no one to show them to


def test_the_page_lists_the_people_here(client: TestClient, lobby: Lobby) -> None:
    carol = session(client, "carol")
    assert members(page(client, "/rooms/lobby", carol)) == ["alice", "bob"]


def test_a_flood_of_joins_and_leaves_leaves_the_list_right_and_nothing_behind(
    client: TestClient, join: Join, alice: Session
) -> None:
    hub = hub_of(client)
    at_alice = join(client, headers=alice)
    crowd = [signed_session(hub.settings.secret_key, f"p{n:03d}") for n in range(250)]
    with client.websocket_connect("/rooms/lobby/ws", headers=crowd[0]) as first:
        assert members(recv(first)) == ["alice", "p000"], "the crowd are people, each with a session"
    for _ in range(4):  # 1,000 connections, 250 open at a time
        sockets = [client.websocket_connect("/rooms/lobby/ws", headers=who).__enter__() for who in crowd]
        for ws in sockets:
            ws.__exit__(None, None, None)
    wait_for(at_alice, members, ["alice"], timeout=10)
    deadline = time.monotonic() + 5
    while in_app(client, hub.store.members, "lobby", now_us()) != [
        Member(hub.presence.viewers["lobby"][next(iter(hub.presence.viewers["lobby"]))].uid, "alice")
    ]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    presence = hub.presence
    assert len(presence.viewers["lobby"]) == 1
    # What a leave must release has no public view: the bookkeeping itself is what is checked.
    assert list(presence._connections.values()) == [1]
    assert len(presence._names) == 1 and len(presence._written) == 1
    assert set(presence.viewers) == {"lobby"}
    gc.collect()
    assert sum(isinstance(o, Viewer) for o in gc.get_objects()) == 1, "alice's is the only viewer left"
    assert hub.typing.seen_by("lobby", None).names == []


def test_a_dead_process_leaves_no_ghost(make_client: MakeClient, join: Join) -> None:
    client = make_client(presence_lease=0.6)
    store = hub_of(client).store
    alice = join(client, headers=session(client, "alice"))
    # What a process that died leaves behind: a lease nobody renews.
    in_app(client, store.enter, "dead-process", [("lobby", "ghost-uid", "ghost")], now_us() + 400_000)
    join(client, headers=session(client, "bob"))  # someone arrives, so the list is re-read
    wait_for(alice, members, ["alice", "bob", "ghost"])
    wait_for(alice, members, ["alice", "bob"], timeout=3)


def test_leases_are_renewed_while_connected(make_client: MakeClient, join: Join) -> None:
    client = make_client(presence_lease=0.6)
    store = hub_of(client).store
    alice = join(client, headers=session(client, "alice"))
    time.sleep(1.5)  # two and a half leases of wall time: the store's leases are on the wall clock
    assert [m.name for m in in_app(client, store.members, "lobby", now_us())] == ["alice"]
    join(client, headers=session(client, "bob"))
    assert first_found(alice, members) == ["alice", "bob"], "alice's list never lost her meanwhile"


def test_leases_another_process_expired_are_written_again(make_client: MakeClient, join: Join) -> None:
    """A process that stalled past its leases finds them expired by another, and writes all of them again."""
    client = make_client(presence_lease=0.6)
    store = hub_of(client).store
    join(client, headers=session(client, "alice"))
    join(client, headers=session(client, "bob"), room="dev")

    both = {("lobby", "alice"), ("dev", "bob")}

    def present(within: float = 5.0) -> set[tuple[str, str]]:
        """The store's leases, once they are both (or after `within` seconds)."""
        deadline = time.monotonic() + within
        while True:
            held = {(room, m.name) for room in ("lobby", "dev") for m in in_app(client, store.members, room, now_us())}
            if held == both or time.monotonic() > deadline:
                return held
            time.sleep(0.05)

    assert present() == both
    in_app(client, store.expire, now_us() + 60_000_000)  # as another process does to leases it finds stale
    assert present(within=0) == set()
    assert present() == both, "written again, both of them"


def test_a_list_read_before_an_arrivals_lease_is_written_still_holds_them(client: TestClient, join: Join) -> None:
    """The list is re-read from the store's leases, which are written a moment after someone arrives: a list read
    in that moment is not sent without the people connected here (they would see themselves vanish)."""
    hub = hub_of(client)
    join(client, headers=session(client, "alice"))
    in_app(client, hub.store.expire, now_us() + 60_000_000)  # as if her lease were not written yet
    assert in_app(client, hub.store.members, "lobby", now_us()) == []
    in_app(client, hub.presence._send_members, "lobby")
    assert [m.name for m in in_app(client, hub.presence.members, "lobby")] == ["alice"]
    assert hub.presence.viewers["lobby"][next(iter(hub.presence.viewers["lobby"]))].members == 1


def test_a_stopping_process_takes_its_people_with_it(settings: Settings) -> None:
    with TestClient(create_app(settings), base_url="http://testserver") as client:
        hub = hub_of(client)
        # A person still connected when the process stops (sockets would be closed by the server first).
        with client.websocket_connect("/rooms/lobby/ws", headers=session(client, "bob")) as bob:
            recv(bob)
            in_app(client, hub.presence.arrive, "lobby", Person("u-alice", "alice"), Outbox(10))
            wait_for(bob, members, ["alice", "bob"])  # read from the store: alice's lease is written
        process = hub.presence.process

    async def leases_left() -> int:
        store = open_store(settings.database_url)
        await store.open()
        try:
            return await store.renew(process, now_us())
        finally:
            await store.close()

    assert asyncio.run(leases_left()) == 0


def test_a_big_rooms_list_of_people_is_sent_less_often() -> None:
    from chatroom.rooms.presence import MEMBERS_REFRESH_MAX, MEMBERS_REFRESH_SECONDS, refresh_interval

    assert refresh_interval(1) == refresh_interval(100) == MEMBERS_REFRESH_SECONDS
    assert refresh_interval(500) == 5 * MEMBERS_REFRESH_SECONDS  # about the same frames a second as 100 viewers
    assert refresh_interval(5000) == MEMBERS_REFRESH_MAX  # and never staler than this


def test_a_list_of_people_names_the_first_hundred_then_counts_the_rest() -> None:
    fragments = Fragments(template_environment())
    people = [Member(f"{n:012x}", f"<p{n}>") for n in range(MEMBERS_SHOWN + 3)]
    html = fragments.members(people, oob=True)
    assert html.startswith('<ul id="members" class="members" aria-label="People here" hx-swap-oob="true">')
    assert html.count("<li data-uid=") == MEMBERS_SHOWN and "&lt;p99&gt;" in html and "&lt;p100&gt;" not in html
    assert html.endswith('<li class="more">and 3 more</li></ul>')
    fewer = fragments.members(people[1:4])
    assert fewer == (
        '<ul id="members" class="members" aria-label="People here">'
        + "".join(
            f'<li data-uid="{m.uid}"><bdi>&lt;{m.name[1:-1]}&gt;</bdi> <span class="guest">guest</span></li>'
            for m in people[1:4]
        )
        + "</ul>"
    ), "guests marked, nothing counted"


def test_people_not_in_the_list_yet_are_counted_and_the_same_list_is_joined_once() -> None:
    fragments = Fragments(template_environment())
    people = [Member(f"{n:012x}", f"p{n}") for n in range(MEMBERS_SHOWN + 3)]
    assert fragments.members(people, more=2).endswith('<li class="more">and 5 more</li></ul>')
    assert fragments.members(people, more=3).endswith('<li class="more">and 6 more</li></ul>')
    few = people[:2]
    assert fragments.members(few, more=1).endswith('<li class="more">and 1 more</li></ul>')
    assert fragments.members(few).endswith('</bdi> <span class="guest">guest</span></li></ul>')
    fragments.members(people, oob=True)
    lines = fragments._member_lines._made
    lines.clear()
    for more in range(1, 50):  # a storm of arrivals counted in one big list: its lines are not looked up again
        fragments.members(people, oob=True, more=more)
    assert len(lines) == 0
    renamed = [Member(people[0].uid, "p0-renamed"), *people[1:]]
    assert "p0-renamed" in fragments.members(renamed), "another list is another rendering"


def test_arrivals_into_a_full_list_are_counted_at_once(client: TestClient) -> None:
    hub = hub_of(client)
    full = [Member(f"{n:012x}", f"p{n}") for n in range(MEMBERS_SHOWN)]
    hub.presence._members["big"] = full
    hub.presence.viewers["big"] = {}
    for n in range(3):
        outbox = Outbox(10)
        viewer = in_app(client, hub.presence.arrive, "big", Person(f"u-new{n}", f"new{n}"), outbox)
        assert viewer.members == MEMBERS_SHOWN + 1, "each is counted in the list they are sent"
        assert viewer.members_html.endswith('<li class="more">and 1 more</li></ul>')
        assert f"new{n}" not in viewer.members_html, "named in their place with the next refresh"


class SlowStore:
    """The store's side of presence, in memory; its reads of a room's people wait for `gate` once `slow` is set."""

    def __init__(self) -> None:
        self.leases: dict[tuple[str, str], str] = {}
        self.gate = asyncio.Event()
        self.slow = False
        self.reads = 0

    async def members(self, room: str, now: int) -> list[Member]:
        self.reads += 1
        if self.slow:
            await self.gate.wait()
        return sorted((Member(uid, name) for (r, uid), name in self.leases.items() if r == room), key=lambda m: m.name)

    async def enter(self, process: str, entries: list[tuple[str, str, str]], until: int) -> None:
        self.leases.update({(room, uid): name for room, uid, name in entries})

    async def leave(self, process: str, keys: list[tuple[str, str]]) -> None:
        for key in keys:
            self.leases.pop(key, None)

    async def mark_read(self, entries: object, now: int) -> None:
        return None

    async def renew(self, process: str, until: int) -> int:
        return len(self.leases)

    async def expire(self, now: int) -> list[str]:
        return []

    async def forget(self, process: str) -> list[str]:
        return []


class QuietBus:
    async def publish_members(self, room: str) -> None:
        return None


class Taking(Outbox):
    def __init__(self) -> None:
        super().__init__(16)
        self.signals: list[str] = []

    def offer(self, frame: object) -> None:
        self.signals.append(getattr(frame, "html", ""))


def test_arrivals_share_the_read_under_way_and_a_list_re_read_meanwhile_is_theirs() -> None:
    """A storm of first arrivals in a room costs one read of its people; a list re-read while they wait for it
    is newer, so it is what they start from, and it is not also sent after their first frame."""
    from chatroom.rooms.presence import Presence

    async def run() -> None:
        store = SlowStore()
        presence = Presence(store, QuietBus(), Fragments(template_environment()), 30.0)  # type: ignore[arg-type]
        store.leases[("big", "u-carol")] = "carol"  # in the room, connected to another process
        store.slow = True
        outboxes = [Taking() for _ in range(3)]
        arriving = [
            asyncio.ensure_future(presence.arrive("big", Person(f"u-p{n}", f"p{n}"), outboxes[n])) for n in range(3)
        ]
        await asyncio.sleep(0.01)
        assert store.reads == 1, "one read for every arrival waiting"
        store.leases[("big", "u-dave")] = "dave"  # arrived elsewhere while that read was under way
        store.slow = False
        await presence._send_members("big")  # the bus said the people changed: re-read, newer than the first
        store.gate.set()
        viewers = await asyncio.gather(*arriving)
        names = ["carol", "dave", "p0", "p1", "p2"]
        for viewer, outbox in zip(viewers, outboxes, strict=True):
            assert viewer.members == len(names)
            assert [n for n in names if f"<bdi>{n}</bdi>" in viewer.members_html] == names
            assert outbox.signals == [], "their first frame says it: nothing after it says it again"
        await presence.close()

    asyncio.run(run())
