"""Leaks: repeated cycles of thread churn, signal combinations, Till creation, queues and process
start/stop keep object counts (gc.get_objects, by type) and traced memory (tracemalloc) flat.

Each test runs a few warm-up cycles (caches, lazily started machinery, the logger), then
measures, runs more cycles, and asserts bounded growth: a leak of even one object per cycle
of a mo_threads type fails, and so does memory growing with the number of cycles.
"""

from __future__ import annotations

import gc
import sys
import threading
import time
import weakref
from collections import Counter
from typing import Any, Callable, Dict, List, Tuple

import pytest

from mo_threads import (
    DONE,
    Lock,
    Process,
    Queue,
    Signal,
    Thread,
    ThreadedQueue,
    Till,
    current_thread,
)
from mo_threads.till import timer_statistics

# the traced memory is read with tracemalloc, which PyPy does not have
tracemalloc = pytest.importorskip("tracemalloc", reason="CPython only: tracemalloc (PyPy has none)")

# types whose count must not grow at all (allowing for a straggler or two still finishing)
OURS = ("Signal", "Till", "Thread", "Process", "Queue", "ThreadedQueue", "Lock", "_Feed", "AlienThread", "PoolThread")


def census() -> Counter:
    gc.collect()
    gc.collect()
    return Counter(type(o).__name__ for o in gc.get_objects())


def settle() -> None:
    """Let threads that were joined finish leaving (their OS threads end just after `stopped`)."""
    deadline = time.time() + 10
    baseline = {"MainThread", "mo-threads timer", "mo-threads signal watcher"}
    while time.time() < deadline:
        if all(t.name in baseline or not t.is_alive() or t.daemon and t.name.startswith("pytest") for t in threading.enumerate()):
            break
        time.sleep(0.01)
    gc.collect()


def measure(cycle: Callable[[], None], warmup: int = 3, rounds: int = 10) -> Tuple[Dict[str, int], int, int]:
    """Run `cycle` warmup times, then `rounds` times while counting; return
    (growth by type, total object growth, traced memory growth in bytes)."""
    for _ in range(warmup):
        cycle()
    settle()
    tracemalloc.start()
    try:
        for _ in range(2):  # tracemalloc's own structures warm up too
            cycle()
        settle()
        before = census()
        memory_before = tracemalloc.get_traced_memory()[0]
        for _ in range(rounds):
            cycle()
        settle()
        after = census()
        memory_after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    growth = {name: after[name] - before[name] for name in set(before) | set(after) if after[name] != before[name]}
    return growth, sum(after.values()) - sum(before.values()), memory_after - memory_before


def assert_flat(growth: Dict[str, int], total: int, memory: int, rounds: int, max_total: int = 200, max_memory: int = 128 * 1024) -> None:
    ours = {name: n for name, n in growth.items() if name in OURS and n > 2}
    assert not ours, "mo_threads objects pile up over %d cycles: %r" % (rounds, ours)
    top = sorted(growth.items(), key=lambda kv: -kv[1])[:8]
    assert total <= max_total, "%d more objects after %d cycles; most: %r" % (total, rounds, top)
    assert memory <= max_memory, "traced memory grew %d bytes over %d cycles; objects: %r" % (memory, rounds, top)


class TestLeaks:
    def test_thread_churn(self) -> None:
        parent = current_thread()

        def child(please_stop: Signal) -> int:
            return 1

        def worker(i: int, please_stop: Signal) -> int:
            kids = [Thread.run("grandchild", child) for _ in range(2)]
            return i + sum(k.join() for k in kids)

        def cycle() -> None:
            threads = [Thread.run("churn " + str(i), worker, i) for i in range(30)]
            assert [t.join() for t in threads] == [i + 2 for i in range(30)]
            failing = Thread.run("failing", lambda please_stop: 1 / 0)
            with pytest.raises(Exception):
                failing.join()

        children_before = list(parent.children)
        growth, total, memory = measure(cycle)
        assert list(parent.children) == children_before
        assert_flat(growth, total, memory, 10)

    def test_signal_combinations(self) -> None:
        long_lived = Signal("long-lived please_stop")
        also = Signal("another long-lived one")

        def cycle() -> None:
            for i in range(500):
                a, b = Signal(), Signal()
                combined = (a | long_lived) & (b | also)
                if i % 2 == 0:
                    combined.then(lambda: None)  # held until it fires (by design), and it does:
                    a.go()
                    b.go()
                combined = (a & b) | long_lived | DONE
            del combined
            gc.collect()
            assert not long_lived._jobs and not also._jobs  # no callbacks pile up on long-lived signals

        growth, total, memory = measure(cycle)
        assert_flat(growth, total, memory, 10)

    def test_till_creation(self) -> None:
        stop = Signal("long-lived")

        def cycle() -> None:
            fired: List[int] = []
            for i in range(500):
                Till(seconds=0.001 + (i % 10) * 0.001).then(lambda: fired.append(1))  # unreferenced, held by then()
                Till(seconds=30) | stop  # dropped at once: a long timer nobody waits for
                Till(seconds=0)  # done at once
            assert Till(seconds=0.05).wait(timeout=20)
            deadline = time.time() + 20
            while len(fired) < 500 and time.time() < deadline:
                time.sleep(0.005)
            assert len(fired) == 500
            assert not stop._jobs

        growth, total, memory = measure(cycle)
        assert_flat(growth, total, memory, 10)
        # dead long timers do not pile up in the heap either
        assert timer_statistics()["pending"] < 10 * 500, timer_statistics()

    def test_queues_and_lock_waits(self) -> None:
        sink: List[Any] = []

        class Sink:
            def extend(self, batch: List[Any]) -> None:
                sink.extend(batch)

        lock = Lock("churned")

        def cycle() -> None:
            q = Queue("churn", max=10, silent=True)
            for i in range(10):
                q.add(i)
            assert q.pop(till=Till(seconds=0.001)) == 0
            q.close()
            assert len(q.pop_all()) == 9
            threaded = ThreadedQueue("churn sink", Sink(), batch_size=50, period=0.01)
            threaded.extend(range(200))
            threaded.stop()
            with lock:
                for _ in range(20):
                    lock.wait(till=Till(seconds=0.0001))
            assert not lock._waiters
            del sink[:]

        growth, total, memory = measure(cycle)
        assert_flat(growth, total, memory, 10)

    def test_waits_on_a_long_lived_signal(self) -> None:
        """Every kind of wait that gives up leaves nothing parked on the long-lived `till` it was given."""
        from mo_threads import Future

        long_lived = Signal("long-lived please_stop")
        lock = Lock("waited")
        q = Queue("waited on", max=1, silent=True)

        def cycle() -> None:
            for _ in range(50):
                assert not Signal("never fired").wait(till=long_lived, timeout=0.0001)
                assert q.pop(till=long_lived, timeout=0.0001) is None
                with lock:
                    assert not lock.wait(till=long_lived, seconds=0.0001)
                q.add(1)
                with pytest.raises(Exception):
                    q.add(2, till=long_lived, timeout=0.0001)  # full
                assert q.pop(till=long_lived) == 1
                with pytest.raises(Exception):
                    Future().wait(till=long_lived, timeout=0.0001)
                assert not (long_lived | Signal()).wait(timeout=0.0001)
            assert not long_lived._waiters and not long_lived._jobs

        growth, total, memory = measure(cycle)
        assert_flat(growth, total, memory, 10)

    def test_groups_channels_and_sync(self) -> None:
        from mo_threads import Barrier, Channel, Latch, Semaphore, ThreadGroup, supervise, wait_any

        def member(channel: Channel, please_stop: Signal) -> int:
            return sum(channel)

        flaky_calls = [0]

        def flaky(please_stop: Signal) -> str:
            flaky_calls[0] += 1
            if flaky_calls[0] % 2:
                raise ValueError("first try fails")
            return "ok"

        def cycle() -> None:
            channel = Channel("values", 4)
            with ThreadGroup("group") as group:
                adders = [group.run("member", member, channel) for _ in range(3)]
                for i in range(30):
                    channel.send(i, timeout=10)
                channel.close()
            assert sum(a.join() for a in adders) == sum(range(30))
            semaphore, latch, barrier = Semaphore(1, "s"), Latch(2, "l"), Barrier(1, "b")
            with semaphore:
                latch.count_down(2)
            assert latch.wait(timeout=1) and barrier.wait(timeout=1) == 0
            q = Queue("either")
            q.add(1)
            assert wait_any(q, Signal(), timeout=1).item == 1
            assert supervise("supervised", flaky, backoff=0).join(till=Till(seconds=10)) == "ok"

        growth, total, memory = measure(cycle)
        assert_flat(growth, total, memory, 10)

    def test_process_start_and_stop(self) -> None:
        def cycle() -> None:
            done = Process("quick", [sys.executable, "-c", "print('hello')"], timeout=None)
            assert done.join(till=Till(seconds=30)).stdout.pop_all() == ["hello"]
            stopped = Process("stopped", ["sleep", "30"], timeout=None)
            stopped.stop()
            stopped.join(till=Till(seconds=30))
            time.sleep(0.2)

        growth, total, memory = measure(cycle, warmup=2, rounds=6)
        assert_flat(growth, total, memory, 6)

    def test_a_stopped_process_is_released_once_joined(self) -> None:
        stopped = Process("released", ["sleep", "30"], timeout=None)
        stopped.stop()
        stopped.join(till=Till(seconds=30))
        reference = weakref.ref(stopped)
        del stopped
        gc.collect()
        assert reference() is None
