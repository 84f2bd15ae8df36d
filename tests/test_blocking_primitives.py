"""Blocking records (issue 10) of the queue, future, channel, sync and wait_any primitives.

Each slow-path wait is reported by `_blocking.blocked_on(ident)` while it lasts,
and counted in `_blocking.statistics()["primitives"]` under the primitive's name
once it ends; a fast path (nothing to wait for) records nothing.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, List, Optional, Tuple

import pytest

from mo_threads import _blocking
from mo_threads.channels import Channel
from mo_threads.futures import Future
from mo_threads.queues import Queue
from mo_threads.signals import Signal
from mo_threads.sync import Barrier, Latch, Semaphore
from mo_threads.till import Till
from mo_threads.waiting import wait_any


def _waits(kind: str, name: str) -> int:
    found = _blocking.statistics()["primitives"].get(kind + " " + repr(name))
    return 0 if found is None else int(found["waits"])


def _blocked(call: Callable[[], Any]) -> Tuple[threading.Thread, List[Any], Tuple[str, Any, float]]:
    """Run `call` in a thread; return once it is parked, with what it is parked on."""
    results: List[Any] = []

    def run() -> None:
        try:
            results.append(call())
        except BaseException as error:
            results.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    found: Optional[Tuple[str, Any, float]] = None
    while found is None:
        assert time.monotonic() < deadline, "the call never parked"
        time.sleep(0.005)
        assert thread.ident is not None
        found = _blocking.blocked_on(thread.ident)
    return thread, results, found


def _finish(thread: threading.Thread) -> None:
    thread.join(10)
    assert not thread.is_alive()
    assert thread.ident is not None and _blocking.blocked_on(thread.ident) is None


class TestQueueRecords:
    def test_blocked_pop_is_reported_and_counted(self) -> None:
        q = Queue("jobs waiting")
        before = _waits("Queue", "jobs waiting")
        thread, results, (kind, target, seconds) = _blocked(q.pop)
        assert kind == "Queue" and target is q and seconds >= 0
        assert "Queue 'jobs waiting'" in (_blocking.describe_wait(thread.ident or 0) or "")
        q.add("job")
        _finish(thread)
        assert results == ["job"]
        assert _waits("Queue", "jobs waiting") == before + 1

    def test_fast_paths_record_nothing(self) -> None:
        q = Queue("never waits", max=2)
        q.add(1)
        q.pop()
        q.add(2)
        q.get(timeout=1)
        q.put(3)
        assert q.pop(till=Till(seconds=10)) == 3
        assert _waits("Queue", "never waits") == 0

    def test_full_add_and_join_are_recorded(self) -> None:
        q = Queue("bounded jobs", max=1)
        q.add(0)
        thread, _, (kind, target, _) = _blocked(lambda: q.add(1, timeout=30))
        assert kind == "Queue" and target is q
        assert q.pop() == 0
        _finish(thread)
        assert _waits("Queue", "bounded jobs") == 1
        thread, _, (kind, target, _) = _blocked(q.join)
        assert kind == "Queue" and target is q
        q.pop()
        q.task_done()
        q.task_done()
        _finish(thread)
        assert _waits("Queue", "bounded jobs") == 2

    def test_bounded_when_given_a_till(self) -> None:
        q = Queue("bounded wait")
        till = Signal("give up")
        thread, results, _ = _blocked(lambda: q.pop(till=till))
        assert thread.ident is not None
        record = _blocking._current[thread.ident]
        assert record[_blocking.BOUNDED]
        till.go()
        _finish(thread)
        assert results == [None]


class TestFutureRecords:
    def test_wait_is_recorded(self) -> None:
        future: Future[int] = Future("answer")
        thread, results, (kind, target, _) = _blocked(future.wait)
        assert kind == "Future" and target is future
        future.assign(42)
        _finish(thread)
        assert results == [42] and _waits("Future", "answer") == 1
        assert future.wait() == 42 and _waits("Future", "answer") == 1  # settled: fast path


class TestChannelRecords:
    def test_receive_and_send_are_recorded(self) -> None:
        channel: Channel[str] = Channel("handoff")
        thread, results, (kind, target, _) = _blocked(channel.receive)
        assert kind == "Channel" and target is channel
        channel.send("x")
        _finish(thread)
        assert results == ["x"]
        thread, _, (kind, target, _) = _blocked(lambda: channel.send("y"))
        assert kind == "Channel" and target is channel
        assert channel.receive() == "y"
        _finish(thread)
        assert _waits("Channel", "handoff") == 2


class TestSyncRecords:
    def test_semaphore(self) -> None:
        semaphore = Semaphore(1, name="one at a time")
        assert semaphore.acquire()  # fast path
        thread, results, (kind, target, _) = _blocked(semaphore.acquire)
        assert kind == "Semaphore" and target is semaphore
        semaphore.release()
        _finish(thread)
        assert results == [True] and _waits("Semaphore", "one at a time") == 1

    def test_barrier(self) -> None:
        barrier = Barrier(2, name="meeting point")
        thread, results, (kind, target, _) = _blocked(barrier.wait)
        assert kind == "Barrier" and target is barrier
        assert barrier.wait() == 1  # the last party does not wait
        _finish(thread)
        assert results == [0] and _waits("Barrier", "meeting point") == 1

    def test_latch(self) -> None:
        latch = Latch(1, name="ready")
        thread, results, (kind, target, _) = _blocked(latch.wait)
        assert kind == "Latch" and target is latch
        latch.count_down()
        _finish(thread)
        assert results == [True] and _waits("Latch", "ready") == 1
        assert latch.wait() and _waits("Latch", "ready") == 1  # done: fast path


class TestWaitAnyRecords:
    def test_named_after_its_sources(self) -> None:
        q = Queue("inbox")
        stop = Signal("stop")
        thread, results, (kind, target, _) = _blocked(lambda: wait_any(q, stop))
        assert kind == "wait_any" and target.sources == [q, stop]
        assert target.name == "inbox | stop"
        q.add("mail")
        _finish(thread)
        assert results[0].item == "mail"
        assert _waits("wait_any", "inbox | stop") == 1


@pytest.fixture(autouse=True)
def _fresh_statistics() -> Any:
    _blocking.reset_statistics()
    yield
    _blocking.reset_statistics()


class TestPoolJobRecords:
    def test_join_of_a_job_is_recorded(self) -> None:
        from mo_threads.pools import ThreadPool

        gate = Signal("gate")

        def job(please_stop: Signal) -> str:
            gate.wait(timeout=30)
            return "done"

        with ThreadPool(1, name="records pool") as pool:
            handle = pool.run("slow job", job)
            thread, results, (kind, target, _) = _blocked(handle.join)
            assert kind == "join" and target is handle
            gate.go()
            _finish(thread)
        assert results == ["done"] and _waits("join", "slow job") == 1
