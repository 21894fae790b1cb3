"""Full garbage collections come with memory's growth, not with objects' age (chatroom/collector.py)."""

from __future__ import annotations

import asyncio
import gc
import sys
import weakref

from starlette.testclient import TestClient

from chatroom import collector
from chatroom.app import create_app
from chatroom.collector import GROWTH, MAX_INTERVAL, NEVER, Collector
from chatroom.settings import Settings


class Scripted:
    """A block count, a clock and a collection the test moves by hand."""

    def __init__(self) -> None:
        self.blocks = 1000
        self.now = 0.0
        self.collections = 0
        self.everything: list[bool] = []

    def collect(self, everything: bool) -> int:
        self.collections += 1
        self.everything.append(everything)
        return 0

    def collector(self) -> Collector:
        return Collector(lambda: self.blocks, lambda: self.now, self.collect)


def test_steady_memory_is_not_walked_again_and_again() -> None:
    s = Scripted()
    c = s.collector()
    for step in range(100):  # messages come and go: the blocks move a little, below the growth
        s.blocks = 1000 + (step % 7) * 20
        s.now += 5
        assert not c.check()
    assert s.collections == 0


def test_a_quarter_over_the_low_collects_once_then_waits_for_the_next_quarter() -> None:
    s = Scripted()
    c = s.collector()
    s.blocks = int(1000 * (1 + GROWTH))
    assert not c.check()  # at the growth, not past it
    s.blocks += 1
    assert c.check()
    assert s.collections == 1
    assert not c.check()  # what the collection left is the new low
    s.blocks = int(1251 * (1 + GROWTH)) + 1
    assert c.check()
    assert s.collections == 2


def test_the_low_follows_memory_down() -> None:
    """Connections leave: garbage in cycles may then take back only a quarter of what is left, not of the peak."""
    s = Scripted()
    c = s.collector()
    s.blocks = 400
    assert not c.check()
    s.blocks = 501
    assert c.check()


def test_at_the_latest_every_max_interval() -> None:
    s = Scripted()
    c = s.collector()
    s.now = MAX_INTERVAL - 1
    assert not c.check()
    s.now = MAX_INTERVAL
    assert c.check()
    assert not c.check()
    s.blocks = 2000
    assert c.check()
    assert s.everything == [True, False], "growth collects what is new; the interval, everything"


def test_growth_frees_new_cycles_and_sets_the_survivors_aside_until_the_interval() -> None:
    """With the real collector: CPython starts no full collection itself; growth frees the new cycles and
    freezes what survived, so the next growth walks only what is newer; the interval's pass frees cycles among
    the frozen."""

    class Node:
        def __init__(self) -> None:
            self.me = self

    def cycles() -> weakref.ref[Node]:
        """Objects in cycles, promoted past the young generations, then dropped: garbage only a full pass
        frees. A block or more each, as many as half the blocks: the growth a check sees."""
        nodes = [Node() for _ in range(sys.getallocatedblocks() // 2)]
        probe = weakref.ref(nodes[-1])
        gc.collect(1)
        del nodes
        gc.collect(1)
        assert probe() is not None
        return probe

    async def scenario() -> None:
        running = Collector()
        running.start()
        clock = [0.0]
        try:
            assert gc.get_threshold()[2] == NEVER
            gc.collect()
            c = Collector(clock=lambda: clock[0])  # its low: now, after the collection
            dropped = cycles()
            assert c.check()
            assert dropped() is None
            assert gc.get_freeze_count() > 0, "the survivors are set aside"

            kept = [Node() for _ in range(sys.getallocatedblocks() // 2)]
            gc.collect(1)
            assert c.check()  # they grew the blocks: collected (nothing to free), and frozen
            probe = weakref.ref(kept[-1])
            del kept  # cycles among frozen objects: no growth pass sees them
            assert not c.check()
            assert probe() is not None
            clock[0] = MAX_INTERVAL
            assert c.check()
            assert probe() is None
        finally:
            await running.close()

    threshold = gc.get_threshold()
    asyncio.run(scenario())
    assert gc.get_threshold() == threshold
    assert gc.get_freeze_count() == 0, "the last collector to stop unfreezes"


def test_the_app_runs_it_and_gives_the_thresholds_back(settings: Settings) -> None:
    before = gc.get_threshold()
    with TestClient(create_app(settings)):
        assert gc.get_threshold() == (before[0], before[1], NEVER)
        with TestClient(create_app(settings)):  # two apps in one process (the tests' two "processes")
            pass
        assert gc.get_threshold()[2] == NEVER, "the first app still runs"
    assert gc.get_threshold() == before
    assert collector._running == 0
