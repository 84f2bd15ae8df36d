"""Queues behave as mo-threads 6.x where code written for 6.x relies on it (issue 19).

Point 1: the methods that return the queue in 6.x return it here too.
Point 7: `push_all` pushes each item to the front in turn (the last one is popped first).
Point 8: `put_nowait` adds even past `max`; it never raises `queue.Full`.
Point 9: `join()` returns once the queue is closed and drained, even when nobody
calls `task_done()` — and still when every item put was `task_done()`'d.

Every wait here is bounded: a join that would hang gives up on a `Till`, and a
helper thread is joined with a timeout.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, Callable, Dict, List

import pytest

from mo_threads.queues import PriorityQueue, Queue, ThreadedQueue
from mo_threads.threads import PLEASE_STOP, THREAD_TIMEOUT
from mo_threads.till import Till

SECONDS = 5  # how long a join may take before the test calls it a hang


def start(target: Callable[[], Any]) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def finish(thread: threading.Thread) -> None:
    thread.join(SECONDS * 2)
    assert not thread.is_alive(), "a test thread did not end"


def joined_in_a_thread(q: Queue[Any]) -> Callable[[], List[Any]]:
    """Start `q.join(till=...)` in a thread; the returned function waits for it and gives what it returned or raised."""
    outcome: List[Any] = []

    def join() -> None:
        try:
            outcome.append(q.join(till=Till(seconds=SECONDS)))
        except BaseException as cause:
            outcome.append(cause)

    thread = start(join)

    def result() -> List[Any]:
        finish(thread)
        return outcome

    return result


class Sink:
    """A slow queue for ThreadedQueue: keeps what it gets."""

    def __init__(self) -> None:
        self.items: List[Any] = []

    def extend(self, batch: List[Any]) -> None:
        self.items.extend(batch)

    def add(self, value: Any) -> None:
        pass


# --- point 1: what returns the queue ------------------------------------------------
class TestChaining:
    def test_queue_methods_return_the_queue(self) -> None:
        q: Queue[int] = Queue("chained")
        assert q.add(2) is q
        assert q.push(1) is q
        assert q.extend([3, 4]) is q
        assert q.push_all([0]) is q
        assert q.add(PLEASE_STOP) is q
        assert list(q) == [0, 1, 2, 3, 4]
        assert q.join(till=Till(seconds=SECONDS)) is q

    def test_join_returns_the_queue_when_every_task_is_done(self) -> None:
        q: Queue[int] = Queue("stdlib tasks")
        assert q.join(till=Till(seconds=SECONDS)) is q  # nothing was put
        q.put(1)
        assert q.get() == 1
        q.task_done()
        assert q.join(till=Till(seconds=SECONDS)) is q

    def test_priority_queue_methods_return_the_queue(self) -> None:
        q: PriorityQueue[str] = PriorityQueue("chained lanes", numpriorities=2)
        assert q.add("b", priority=1) is q
        assert q.push("a", priority=1) is q
        assert q.extend(["c"], priority=1) is q
        assert q.push_all(["urgent"], priority=0) is q
        q.close()
        assert list(q) == ["urgent", "a", "b", "c"]
        assert q.join(till=Till(seconds=SECONDS)) is q

    def test_threaded_queue_methods_return_the_queue(self) -> None:
        sink = Sink()
        q: ThreadedQueue[int] = ThreadedQueue("chained batches", sink, period=0.01, silent=True)
        assert q.add(1) is q
        assert q.extend([2, 3]) is q
        assert q.stop(till=Till(seconds=SECONDS)) is q
        assert sink.items == [1, 2, 3]


# --- point 7: push_all --------------------------------------------------------------
class TestPushAll:
    def test_each_item_goes_to_the_front_in_turn(self) -> None:
        q: Queue[int] = Queue("front")
        q.push_all([1, 2])
        assert q.pop() == 2
        assert q.pop() == 1

    def test_ahead_of_what_is_queued(self) -> None:
        q: Queue[int] = Queue("front of the line")
        q.extend([3, 4])
        q.push_all([1, 2])
        assert q.pop_all() == [2, 1, 3, 4]

    def test_bounded_and_unique_queues_too(self) -> None:
        bounded: Queue[int] = Queue("front, bounded", max=10)
        bounded.push_all(range(3))
        assert bounded.pop_all() == [2, 1, 0]
        unique: Queue[int] = Queue("front, unique", unique=True)
        unique.add(9)
        unique.push_all([1, 2, 9, 3])  # 9 is queued already: dropped
        assert unique.pop_all() == [3, 2, 1, 9]

    def test_priority_queue_front_of_its_lane(self) -> None:
        q: PriorityQueue[str] = PriorityQueue("front lanes", numpriorities=2)
        q.add("later", priority=1)
        q.add("queued", priority=0)
        q.push_all(["first", "second"], priority=0)
        assert [q.pop() for _ in range(4)] == ["second", "first", "queued", "later"]


# --- point 8: put_nowait ---------------------------------------------------------------
class TestPutNowait:
    def test_adds_past_max(self) -> None:
        q: Queue[int] = Queue("tight", max=1, silent=True)
        q.put(1)
        assert q.full()
        q.put_nowait(2)
        q.put_nowait(3)
        assert q.qsize() == 3
        assert q.pop_all() == [1, 2, 3]

    def test_never_waits(self) -> None:
        q: Queue[int] = Queue("full, never waits", max=1, silent=True)
        q.put(1)
        began = time.monotonic()
        for i in range(100):
            q.put_nowait(i)
        assert time.monotonic() - began < SECONDS
        assert len(q) == 101

    def test_priority_queue_adds_past_max(self) -> None:
        q: PriorityQueue[str] = PriorityQueue("tight lanes", numpriorities=2, max=1, silent=True)
        q.put("a")
        q.put_nowait("b")
        assert q.pop_all() == ["a", "b"]

    def test_the_docstring_says_so(self) -> None:
        doc = Queue.put_nowait.__doc__ or ""
        assert "max" in doc and "Full" in doc


# --- point 9: join ------------------------------------------------------------------
def _drain_pop(q: Queue[Any]) -> None:
    while q.pop() is not PLEASE_STOP:
        pass


def _drain_pop_one(q: Queue[Any]) -> None:
    while q.pop_one() is not PLEASE_STOP:
        pass


def _drain_get(q: Queue[Any]) -> None:
    while q.get(timeout=SECONDS) is not PLEASE_STOP:
        pass


def _drain_pop_all(q: Queue[Any]) -> None:
    q.pop_all()


def _drain_iterate(q: Queue[Any]) -> None:
    for _ in q:
        pass


def _drain_async_pop(q: Queue[Any]) -> None:
    async def drain() -> None:
        while await q.async_pop() is not PLEASE_STOP:
            pass

    asyncio.run(drain())


DRAINS: Dict[str, Callable[[Queue[Any]], None]] = {
    "pop": _drain_pop,
    "pop_one": _drain_pop_one,
    "get": _drain_get,
    "pop_all": _drain_pop_all,
    "iterate": _drain_iterate,
    "async_pop": _drain_async_pop,
}

QUEUES: Dict[str, Callable[[str], Queue[Any]]] = {
    "Queue": lambda name: Queue(name),
    "bounded Queue": lambda name: Queue(name, max=3, silent=True),
    "PriorityQueue": lambda name: PriorityQueue(name, numpriorities=2),
}


class TestJoin:
    @pytest.mark.parametrize("drain", DRAINS, ids=list(DRAINS))
    def test_returns_once_closed_and_drained_without_task_done(self, drain: str) -> None:
        # the 6.x way: close, let a thread take everything, then join
        q: Queue[int] = Queue("closed, then drained")
        q.extend([1, 2, 3])
        q.close()
        finish(start(lambda: DRAINS[drain](q)))
        assert q.join(till=Till(seconds=SECONDS)) is q

    @pytest.mark.parametrize("drain", DRAINS, ids=list(DRAINS))
    def test_a_waiting_join_returns_when_the_last_item_is_taken(self, drain: str) -> None:
        q: Queue[int] = Queue("joined, then drained")
        q.extend([1, 2, 3])
        q.close()
        with pytest.raises(THREAD_TIMEOUT):
            q.join(till=Till(seconds=0.05))  # closed, not drained: join still waits
        first, second = joined_in_a_thread(q), joined_in_a_thread(q)
        time.sleep(0.05)  # let both park
        finish(start(lambda: DRAINS[drain](q)))
        assert first() == [q]
        assert second() == [q]

    @pytest.mark.parametrize("kind", QUEUES, ids=list(QUEUES))
    def test_join_before_close_returns_once_closed_and_drained(self, kind: str) -> None:
        q = QUEUES[kind]("open, then closed")
        q.extend([1, 2])
        assert q.pop() == 1  # taken, never task_done
        with pytest.raises(THREAD_TIMEOUT):
            q.join(till=Till(seconds=0.05))  # open: waits for task_done or the close
        result = joined_in_a_thread(q)
        time.sleep(0.05)
        q.close()
        time.sleep(0.05)
        assert q.pop() == 2
        assert result() == [q]

    def test_items_added_after_the_close_are_drained_too(self) -> None:
        q: Queue[int] = Queue("late adds", allow_add_after_close=True)
        q.add(1)
        q.close()
        q.add(2)  # accepted: allow_add_after_close
        result = joined_in_a_thread(q)
        assert q.pop() == 1
        time.sleep(0.05)
        q.add(3)
        assert q.pop_all() == [2, 3]
        assert result() == [q]

    def test_stdlib_style_and_6x_style_in_one_queue(self) -> None:
        q: Queue[int] = Queue("both rules")
        q.extend([1, 2, 3])
        q.get()
        q.task_done()  # some consumers use task_done, some do not
        q.close()
        _drain_pop(q)
        assert q.join(till=Till(seconds=SECONDS)) is q

    def test_threaded_queue(self) -> None:
        sink = Sink()
        q: ThreadedQueue[int] = ThreadedQueue("joined batches", sink, period=0.01, silent=True)
        q.extend([1, 2, 3])
        q.close()
        assert q.join(till=Till(seconds=SECONDS)) is q
        q.thread.join(till=Till(seconds=SECONDS))
        assert sink.items == [1, 2, 3]
