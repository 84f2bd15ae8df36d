"""Tests for mo_threads.queues: Queue, PriorityQueue, ThreadedQueue."""

from __future__ import annotations

import queue as stdlib_queue
import threading
import time
from collections import Counter
from typing import Any, List

import pytest

from mo_threads import _queue_core as queues_module  # Queue's code, read by the monkeypatches below
from mo_threads import _threaded_queue as threaded_queue_module
from tests.helpers import program_lines, run_python
from mo_threads.queues import PriorityQueue, Queue, QueueClosed, QueueFull, ThreadedQueue
from mo_threads.signals import Signal
from mo_threads.threads import PLEASE_STOP, THREAD_STOP, THREAD_TIMEOUT
from mo_threads.till import Till


def start(target: Any, *args: Any) -> threading.Thread:
    thread = threading.Thread(target=target, args=args, daemon=True)
    thread.start()
    return thread


def join_all(threads: List[threading.Thread], seconds: float = 30) -> None:
    for thread in threads:
        thread.join(seconds)
        assert not thread.is_alive(), "a test thread did not end"


class TestQueue:
    def test_fifo_len_bool(self) -> None:
        q = Queue("fifo")
        assert not q and len(q) == 0
        q.add(1).add(2)
        q.extend([3, 4])
        assert q and len(q) == 4 and q.qsize() == 4
        assert [q.pop() for _ in range(4)] == [1, 2, 3, 4]
        assert "fifo" in repr(q)

    def test_objects_pass_by_reference(self) -> None:
        q = Queue("identity")
        things = [{"a": [1]}, object(), [1, 2]]
        for thing in things:
            q.add(thing)
        q.put(things[0])
        assert [q.pop() for _ in range(3)] == things
        assert all(a is b for a, b in zip([q.get()], things))

    def test_pop_till_returns_none(self) -> None:
        q = Queue("till")
        start_time = time.time()
        assert q.pop(till=Till(seconds=0.1)) is None
        elapsed = time.time() - start_time
        assert 0.09 <= elapsed < 3

    def test_pop_timeout_returns_none(self) -> None:
        q = Queue("timeout")
        start_time = time.time()
        assert q.pop(timeout=0.1) is None
        assert 0.09 <= time.time() - start_time < 3

    def test_pop_with_fired_till_still_takes_an_item(self) -> None:
        q = Queue("ready")
        q.add("x")
        done = Signal()
        done.go()
        assert q.pop(till=done) == "x"
        assert q.pop(till=done) is None

    def test_pop_wakes_on_add(self) -> None:
        q = Queue("wake")
        got: List[Any] = []
        consumer = start(lambda: got.append(q.pop()))
        time.sleep(0.05)
        q.add("hello")
        join_all([consumer])
        assert got == ["hello"]

    def test_close_drains_then_please_stop(self) -> None:
        q = Queue("close")
        q.extend([1, 2])
        q.close()
        assert q.closed
        assert q.pop() == 1
        assert q.pop_one() == 2
        assert q.pop() is PLEASE_STOP
        assert q.pop() is PLEASE_STOP
        assert q.pop_one() is PLEASE_STOP
        assert q.pop_all() == []
        q.close()  # twice is fine

    def test_adding_please_stop_closes(self) -> None:
        q = Queue("stop marker")
        q.add(1)
        q.add(THREAD_STOP)
        assert q.closed
        assert list(q) == [1]
        q.add(PLEASE_STOP)  # closing again does not raise

    def test_add_to_closed_raises(self) -> None:
        q = Queue("closed add")
        q.close()
        for action in (lambda: q.add(1), lambda: q.push(1), lambda: q.extend([1]), lambda: q.put(1)):
            with pytest.raises(QueueClosed) as info:
                action()
            assert isinstance(info.value, RuntimeError)
            assert "closed add" in str(info.value)
        assert len(q) == 0

    def test_allow_add_after_close(self) -> None:
        # as mo-logs' threaded logger: close, then add more and THREAD_STOP, never raising
        q = Queue("after close", max=2, allow_add_after_close=True)
        q.add(1)
        q.close()
        q.add(2)
        q.add(3)  # past max: a closed queue never blocks
        q.add(THREAD_STOP)
        assert q.pop_all() == [1, 2, 3]
        assert q.pop() is PLEASE_STOP

    def test_extend_with_please_stop(self) -> None:
        q = Queue("extend stop")
        q.extend([1, 2, PLEASE_STOP])
        assert q.closed
        assert list(q) == [1, 2]
        q2 = Queue("extend stop 2")
        with pytest.raises(QueueClosed):
            q2.extend([1, PLEASE_STOP, 2])
        assert len(q2) == 0 and not q2.closed  # nothing half-done

    def test_push_and_push_all(self) -> None:
        q = Queue("push")
        q.extend([3, 4])
        q.push(2)
        q.push_all([1, 0])  # each to the front in turn, as 6.x: the last is popped first
        assert q.pop_all() == [0, 1, 2, 3, 4]
        with pytest.raises(ValueError):
            q.push_all([PLEASE_STOP])

    def test_pop_one_and_pop_all(self) -> None:
        q = Queue("non-blocking")
        assert q.pop_one() is None
        assert q.pop_all() == []
        q.extend(range(5))
        assert q.pop_one() == 0
        assert q.pop_all() == [1, 2, 3, 4]

    def test_pop_message(self) -> None:
        q = Queue("message")
        q.add("payload")
        message, value = q.pop_message()
        assert value == "payload"
        assert not message
        message.delete()
        assert q.pop_message(till=Till(seconds=0.01))[1] is None

    def test_unique(self) -> None:
        q = Queue("unique", unique=True)
        q.extend([1, 2, 1, 3, 2])
        q.add(3)
        assert q.pop_all() == [1, 2, 3]
        q.add(1)
        assert q.pop_all() == [1]

    def test_iteration_until_closed(self) -> None:
        q = Queue("iterate")
        got: List[Any] = []
        consumer = start(lambda: got.extend(q))
        for i in range(100):
            q.add(i)
        q.close()
        join_all([consumer])
        assert got == list(range(100))

    def test_context_manager_closes(self) -> None:
        with Queue("context") as q:
            q.add(1)
        assert q.closed
        assert list(q) == [1]

    def test_full_add_blocks_until_room(self) -> None:
        q = Queue("full", max=2)
        q.extend([1, 2])
        assert q.full()

        def take_later() -> None:
            time.sleep(0.1)
            q.pop()

        consumer = start(take_later)
        start_time = time.time()
        q.add(3)
        assert time.time() - start_time >= 0.05
        join_all([consumer])
        assert q.pop_all() == [2, 3]

    def test_full_add_timeout_raises_full(self) -> None:
        q = Queue("full timeout", max=1)
        q.add(1)
        start_time = time.time()
        with pytest.raises(stdlib_queue.Full) as info:
            q.add(2, timeout=0.1)
        elapsed = time.time() - start_time
        assert 0.09 <= elapsed < 3
        assert isinstance(info.value, QueueFull)
        assert isinstance(info.value, TimeoutError)
        assert isinstance(info.value, THREAD_TIMEOUT)
        assert "full timeout" in str(info.value)
        with pytest.raises(QueueFull):
            q.add(2, till=Till(seconds=0.05))
        assert q.pop_all() == [1]

    def test_force_ignores_max(self) -> None:
        q = Queue("force", max=1)
        q.add(1)
        q.add(2, force=True)
        assert len(q) == 2

    def test_close_wakes_blocked_producer(self) -> None:
        q = Queue("close producer", max=1)
        q.add(1)
        errors: List[BaseException] = []

        def produce() -> None:
            try:
                q.add(2)
            except BaseException as cause:
                errors.append(cause)

        producer = start(produce)
        time.sleep(0.05)
        q.close()
        join_all([producer])
        assert len(errors) == 1 and isinstance(errors[0], QueueClosed)

    def test_full_queue_warns_unless_silent(self, monkeypatch: Any) -> None:
        warnings: List[Any] = []

        class FakeLogger:
            def warning(self, template: str, **params: Any) -> None:
                warnings.append((template, params))

        monkeypatch.setattr(queues_module, "logger", FakeLogger())
        monkeypatch.setattr(queues_module, "FULL_WARNING_SECONDS", 0.05)
        loud = Queue("loud", max=1)
        loud.add(1)
        with pytest.raises(QueueFull):
            loud.add(2, timeout=0.3)
        assert warnings and warnings[0][1]["name"] == "loud"
        warnings.clear()
        quiet = Queue("quiet", max=1, silent=True)
        quiet.add(1)
        with pytest.raises(QueueFull):
            quiet.add(2, timeout=0.2)
        assert warnings == []

    def test_closing_wakes_every_waiting_consumer(self) -> None:
        q = Queue("close consumers")
        got: List[Any] = []
        lock = threading.Lock()

        def consume() -> None:
            value = q.pop()
            with lock:
                got.append(value)

        consumers = [start(consume) for _ in range(5)]
        time.sleep(0.1)
        q.close()
        join_all(consumers)
        assert len(got) == 5 and all(v is PLEASE_STOP for v in got)

    def test_many_producers_many_consumers_small_max(self) -> None:
        q = Queue("mpmc", max=3)
        per_producer = 5000
        received: List[List[Any]] = [[] for _ in range(4)]

        def produce(p: int) -> None:
            for i in range(per_producer):
                q.add((p, i))

        def consume(c: int) -> None:
            out = received[c]
            while True:
                value = q.pop()
                if value is PLEASE_STOP:
                    return
                assert len(q) <= 3
                out.append(value)

        consumers = [start(consume, c) for c in range(4)]
        producers = [start(produce, p) for p in range(4)]
        join_all(producers)
        q.close()
        join_all(consumers)
        everything = Counter(v for out in received for v in out)
        assert len(everything) == 4 * per_producer
        assert set(everything.values()) == {1}
        for out in received:
            # FIFO: each consumer sees each producer's items in order
            for p in range(4):
                mine = [i for (pp, i) in out if pp == p]
                assert mine == sorted(mine)

    def test_bad_input(self) -> None:
        q = Queue("bad")
        with pytest.raises(TypeError):
            q.pop(till=1.5)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            q.add(1, till="soon")  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            q.pop(timeout=-1)
        with pytest.raises(ValueError):
            q.get(timeout=-1)
        with pytest.raises(ValueError):
            q.add(1, timeout=-1)
        assert len(q) == 0  # nothing half-done
        with pytest.raises(ValueError):
            Queue("zero", max=0)
        with pytest.raises(ValueError):
            Queue("negative", max=-3)
        with pytest.raises(TypeError):
            Queue("text", max="10")  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            Queue(42)  # type: ignore[arg-type]


class TestCloseWithError:
    def test_every_consumer_gets_the_error_after_draining(self) -> None:
        q: Queue[int] = Queue("failing producer", max=5)
        problem = ConnectionError("the producer lost its database")
        lock = threading.Lock()
        taken: List[int] = []
        errors: List[BaseException] = []

        def consumer() -> None:
            while True:
                try:
                    value = q.pop(timeout=30)
                except ConnectionError as error:
                    with lock:
                        errors.append(error)
                    break
                assert value is not PLEASE_STOP and value is not None
                with lock:
                    taken.append(value)

        consumers = [start(consumer) for _ in range(4)]
        for i in range(50):
            q.add(i)
        q.close(problem)
        join_all(consumers)
        assert sorted(taken) == list(range(50))  # nothing lost before the error
        assert len(errors) == 4 and all(error is problem for error in errors)
        for again in (q.pop, q.pop_one, q.get, lambda: q.pop(timeout=0)):
            with pytest.raises(ConnectionError):
                again()  # every time they pop past the end
        assert q.pop_all() == []

    def test_iteration_raises_the_error_at_the_end(self) -> None:
        q = Queue("iterated")
        q.extend([1, 2, 3])
        q.close(ValueError("bad input file"))
        seen: List[int] = []
        with pytest.raises(ValueError, match="bad input file"):
            for value in q:
                seen.append(value)
        assert seen == [1, 2, 3]

    def test_blocked_consumer_is_woken_with_the_error(self) -> None:
        q = Queue("blocked consumer")
        got: List[Any] = []

        def consumer() -> None:
            try:
                got.append(q.pop())
            except KeyError as error:
                got.append(error)

        thread = start(consumer)
        time.sleep(0.05)
        problem = KeyError("gone")
        q.close(problem)
        join_all([thread])
        assert got == [problem]

    def test_producers_get_a_clear_error(self) -> None:
        q = Queue("refusing", max=1)
        q.add(0)
        blocked: List[BaseException] = []

        def producer() -> None:
            try:
                q.add(1)  # full: parks until the close
            except QueueClosed as error:
                blocked.append(error)

        thread = start(producer)
        time.sleep(0.05)
        problem = OSError("disk full")
        q.close(problem)
        join_all([thread])
        assert len(blocked) == 1 and blocked[0].__cause__ is problem
        for action in (lambda: q.add(2), lambda: q.extend([2]), lambda: q.push(2)):
            with pytest.raises(QueueClosed, match="refusing.*OSError") as info:
                action()
            assert info.value.__cause__ is problem
        assert q.pop() == 0
        with pytest.raises(OSError):
            q.pop()

    def test_first_close_wins_and_plain_close_is_unchanged(self) -> None:
        q = Queue("twice")
        problem = RuntimeError("first")
        q.close(problem)
        q.close(RuntimeError("second"))
        q.close()
        with pytest.raises(RuntimeError, match="first"):
            q.pop()
        plain = Queue("plain")
        plain.close()  # upstream's close(), no argument
        assert plain.pop() is PLEASE_STOP
        with pytest.raises(TypeError):
            Queue("bad").close("not an exception")  # type: ignore[arg-type]

    def test_traceback_does_not_grow(self) -> None:
        q = Queue("traceback")
        q.close(ValueError("x"))
        depths = []
        for _ in range(3):
            try:
                q.pop()
            except ValueError as error:
                tb, depth = error.__traceback__, 0
                while tb is not None:
                    depth, tb = depth + 1, tb.tb_next
                depths.append(depth)
        assert depths[0] == depths[1] == depths[2]

    def test_priority_queue_and_async_pop(self) -> None:
        import asyncio

        q = PriorityQueue("priorities", numpriorities=2)
        q.add("late", priority=1)
        q.add("urgent", priority=0)
        q.close(LookupError("done"))
        assert q.pop() == "urgent"

        async def drain() -> Any:
            return await q.async_pop()

        assert asyncio.run(drain()) == "late"
        with pytest.raises(LookupError):
            asyncio.run(drain())

    def test_threaded_queue_passes_the_error_to_a_queue_sink(self) -> None:
        sink = Queue("sink")
        q = ThreadedQueue("forwarding", sink, batch_size=2, period=0.01)
        q.extend([1, 2, 3])
        q.close(EOFError("input ended early"))
        q.thread.join(till=Till(seconds=10))
        assert sink.pop_all() == [1, 2, 3]
        with pytest.raises(EOFError):
            sink.pop()


    def test_threaded_queue_logs_an_error_its_sink_can_not_take(self, log: Any) -> None:
        sink = Sink()
        q = ThreadedQueue("plain sink", sink, batch_size=2, period=0.01)
        q.extend([1, 2, 3])
        q.close(EOFError("input ended early"))
        q.thread.join(till=Till(seconds=10))
        assert sink.items == [1, 2, 3] and sink.stopped == 1
        assert "input ended early" in log.text() and "plain sink" in log.text()


class TestStdlibInterface:
    def test_put_get(self) -> None:
        q = Queue("stdlib", max=2)
        assert q.maxsize == 2 and Queue("unbounded").maxsize == 0
        assert q.empty()
        q.put(1)
        q.put(2)
        assert q.full() and q.qsize() == 2
        with pytest.raises(stdlib_queue.Full):
            q.put(3, block=False)
        q.put_nowait(3)  # as 6.x: forced past max, never queue.Full
        assert q.qsize() == 3
        assert q.get() == 1
        assert q.get_nowait() == 2
        assert q.get_nowait() == 3
        with pytest.raises(stdlib_queue.Empty):
            q.get_nowait()
        with pytest.raises(stdlib_queue.Empty):
            q.get(block=False)

    def test_get_timeout(self) -> None:
        q = Queue("get timeout")
        for timeout in (0.05, 0.2):
            start_time = time.time()
            with pytest.raises(stdlib_queue.Empty):
                q.get(timeout=timeout)
            elapsed = time.time() - start_time
            assert timeout * 0.9 <= elapsed < timeout + 2

    def test_put_timeout(self) -> None:
        q = Queue("put timeout", max=1)
        q.put(1)
        start_time = time.time()
        with pytest.raises(stdlib_queue.Full):
            q.put(2, timeout=0.1)
        assert 0.09 <= time.time() - start_time < 3

    def test_get_on_closed_queue(self) -> None:
        q = Queue("get closed")
        q.put(1)
        q.close()
        assert q.get() == 1
        assert q.get(timeout=1) is PLEASE_STOP

    def test_task_done_and_join(self) -> None:
        q = Queue("join")
        q.extend([1, 2, 3])
        done: List[Any] = []

        def work() -> None:
            for _ in range(3):
                done.append(q.get())
                time.sleep(0.01)
                q.task_done()

        worker = start(work)
        q.join()
        assert done == [1, 2, 3]
        join_all([worker])
        with pytest.raises(ValueError):
            q.task_done()

    def test_join_till(self) -> None:
        q = Queue("join till")
        q.add(1)
        with pytest.raises(THREAD_TIMEOUT):
            q.join(till=Till(seconds=0.05))
        q.get()
        q.task_done()
        q.join(till=Till(seconds=1))


class TestPriorityQueue:
    def test_most_urgent_first(self) -> None:
        q = PriorityQueue("priority", numpriorities=3)
        q.add("low", priority=2)
        q.add("zero-a", priority=0)
        q.add("mid", priority=1)
        q.add("zero-b")  # the default is 0, the most urgent
        q.extend(["low-2", "low-3"], priority=2)
        q.push("first", priority=0)
        assert len(q) == 7
        assert [q.pop() for _ in range(3)] == ["first", "zero-a", "zero-b"]
        assert q.pop_all() == ["mid", "low", "low-2", "low-3"]

    def test_close_and_pop_one(self) -> None:
        q = PriorityQueue("priority close", 2)
        q.add(1, priority=1)
        q.add(PLEASE_STOP)
        assert q.closed
        assert q.pop_one() == 1
        assert q.pop_one() is PLEASE_STOP
        assert q.pop() is PLEASE_STOP
        with pytest.raises(QueueClosed):
            q.add(2, priority=1)

    def test_bad_priority(self) -> None:
        q = PriorityQueue("priority bad", 2)
        for priority in (-1, 2, "high", None, 1.0):
            with pytest.raises(ValueError):
                q.add("x", priority=priority)  # type: ignore[arg-type]
        assert len(q) == 0
        with pytest.raises(ValueError):
            PriorityQueue("none", 0)

    def test_max_and_unique(self) -> None:
        q = PriorityQueue("priority max", 2, max=2, unique=True)
        q.add("a", priority=1)
        q.add("a", priority=1)
        q.add("b", priority=0)
        assert len(q) == 2
        with pytest.raises(QueueFull):
            q.add("c", priority=0, timeout=0.05)
        assert list(q.pop_all()) == ["b", "a"]

    def test_wait_and_wake(self) -> None:
        q = PriorityQueue("priority wake", 2)
        got: List[Any] = []
        consumer = start(lambda: got.extend(q))
        q.add(1, priority=1)
        q.add(0, priority=0)
        q.close()
        join_all([consumer])
        assert sorted(got) == [0, 1]


class Sink:
    """A slow queue that records each batch; fails its first `failures` extends."""

    def __init__(self, failures: int = 0, with_add: bool = True) -> None:
        self.lock = threading.Lock()
        self.batches: List[List[Any]] = []
        self.failures = failures
        self.attempts = 0
        self.stopped = 0
        if not with_add:
            self.add = None  # type: ignore[assignment]

    def extend(self, batch: List[Any]) -> None:
        with self.lock:
            self.attempts += 1
            if self.failures > 0:
                self.failures -= 1
                raise IOError("sink is down")
            self.batches.append(list(batch))

    def add(self, value: Any) -> None:  # type: ignore[no-redef]
        assert value is PLEASE_STOP
        self.stopped += 1

    @property
    def items(self) -> List[Any]:
        with self.lock:
            return [v for batch in self.batches for v in batch]


class TestThreadedQueue:
    def test_every_item_once_in_order(self) -> None:
        sink = Sink()
        q = ThreadedQueue("bulk", sink, batch_size=1000, period=0.5)
        count = 100000
        for i in range(count):
            q.add(i)
        q.stop()
        assert sink.items == list(range(count))
        assert all(len(batch) <= 1000 for batch in sink.batches)
        assert sink.stopped == 1
        assert not q.thread.is_alive()

    def test_with_block_delivers(self) -> None:
        sink = Sink()
        with ThreadedQueue("with", sink, batch_size=7) as q:
            q.extend(range(50))
        assert sink.items == list(range(50))

    def test_period_flushes(self) -> None:
        sink = Sink()
        with ThreadedQueue("period", sink, batch_size=100, period=0.05) as q:
            q.extend([1, 2, 3])
            deadline = time.time() + 5
            while not sink.items and time.time() < deadline:
                time.sleep(0.01)
            assert sink.items == [1, 2, 3]  # delivered without a full batch or a stop

    def test_callbacks_run_after_preceding_batch(self) -> None:
        sink = Sink()
        seen: List[Any] = []
        with ThreadedQueue("callbacks", sink, batch_size=3, period=0.05) as q:
            q.extend([1, 2])
            q.add(lambda: seen.append(sink.items))
            q.add(4)
        assert seen and seen[0][:2] == [1, 2]
        assert sink.items == [1, 2, 4]

    def test_failing_sink_recovers(self) -> None:
        sink = Sink(failures=3)
        errors: List[Any] = []
        q = ThreadedQueue(
            "flaky",
            sink,
            batch_size=10,
            period=0.02,
            error_target=lambda error, batch: errors.append((error, list(batch))),
        )
        for i in range(35):
            q.add(i)
        q.stop()
        assert sink.items == list(range(35))  # none lost, none duplicated, in order
        assert len(errors) == 3
        assert all(isinstance(e, IOError) for e, _ in errors)
        assert errors[0][1] == list(range(10))

    def test_sink_without_add(self) -> None:
        sink = Sink(with_add=False)
        with ThreadedQueue("no add", sink) as q:
            q.add(1)
        assert sink.items == [1]

    def test_slow_queue_is_a_queue(self) -> None:
        slow = Queue("slow")
        with ThreadedQueue("to queue", slow, batch_size=4) as q:
            q.extend(range(10))
        assert list(slow) == list(range(10))  # ends with PLEASE_STOP: the iteration stops
        assert slow.closed

    def test_add_after_stop_raises(self) -> None:
        q = ThreadedQueue("stopped", Sink())
        q.stop()
        with pytest.raises(QueueClosed):
            q.add(1)

    def test_program_exit_delivers_everything(self) -> None:
        # the main thread just ends: shutdown stops the worker, which delivers every item first
        result = run_python(
            """
            from mo_threads import ThreadedQueue

            class Sink:
                def __init__(self):
                    self.count, self.last, self.in_order = 0, -1, True
                def extend(self, batch):
                    for v in batch:
                        self.in_order = self.in_order and v == self.last + 1
                        self.last = v
                    self.count += len(batch)
                def add(self, marker):
                    print("delivered", self.count, "in order", self.in_order, flush=True)

            rows = ThreadedQueue("rows", Sink(), batch_size=100, period=10)
            for i in range(5000):
                rows.add(i)
            print("main ends", flush=True)
            """,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        assert program_lines(result.stdout) == ["main ends", "delivered 5000 in order True"]

    def test_bad_input(self) -> None:
        with pytest.raises(TypeError):
            ThreadedQueue("no sink", object())
        with pytest.raises(ValueError):
            ThreadedQueue("bad batch", Sink(), batch_size=0)
        with pytest.raises(ValueError):
            ThreadedQueue("bad period", Sink(), period=-1)
        with pytest.raises(TypeError):
            ThreadedQueue("bad target", Sink(), error_target=3)  # type: ignore[arg-type]


class TestWatch:
    """`watch` / `unwatch`: the public hook wait_any (and async_pop) park on a Queue."""

    def test_called_by_add_and_by_close(self) -> None:
        q = Queue("hooks")
        calls: List[str] = []
        watch = q.watch(lambda: calls.append("woken"))
        assert calls == []
        q.add(1)
        assert calls == ["woken"]  # on the adding thread, once
        q.add(2)
        assert calls == ["woken"]
        q.unwatch(watch)
        assert q.pop_all() == [1, 2]
        watch = q.watch(lambda: calls.append("closed"))
        q.close()
        assert calls == ["woken", "closed"]
        q.unwatch(watch)
        q.unwatch(watch)  # twice is fine

    def test_called_at_once_when_ready(self) -> None:
        q = Queue("ready")
        q.add("x")
        calls: List[int] = []
        watch = q.watch(lambda: calls.append(1))
        assert calls == [1]
        q.unwatch(watch)
        assert q.pop_one() == "x"
        with pytest.raises(TypeError):
            q.watch("not callable")  # type: ignore[arg-type]

    def test_unused_wake_up_is_passed_on(self) -> None:
        q = Queue("hand on")
        woken = threading.Event()
        watch = q.watch(woken.set)  # first in line
        got: List[Any] = []
        consumer = start(lambda: got.append(q.pop(timeout=10)))
        time.sleep(0.1)  # the consumer parks behind the watch
        q.add("y")  # wakes the watch only
        assert woken.wait(5)
        time.sleep(0.05)
        assert got == []  # the consumer still waits, though "y" is queued
        q.unwatch(watch)  # the watch took nothing: the wake-up goes on
        join_all([consumer])
        assert got == ["y"]

    def test_failing_callback_does_not_hurt_the_producer(self, monkeypatch: Any) -> None:
        logged: List[str] = []

        class FakeLogger:
            def warning(self, template: str, **params: Any) -> None:
                logged.append(template)

        monkeypatch.setattr(queues_module, "logger", FakeLogger())
        q = Queue("bad callback")

        def fail() -> None:
            raise ValueError("bug in the callback")

        watch = q.watch(fail)
        q.add(1)  # does not raise
        q.unwatch(watch)
        assert q.pop() == 1 and logged


class TestThreadedQueueDeadSink:
    def test_dead_sink_keeps_stop_waiting_until_the_worker_is_stopped(self, monkeypatch: Any) -> None:
        logged: List[Any] = []

        class FakeLogger:
            def warning(self, template: str, **params: Any) -> None:
                logged.append(template)

        monkeypatch.setattr(threaded_queue_module, "logger", FakeLogger())
        sink = Sink(failures=10 ** 9)
        q = ThreadedQueue("dead sink", sink, batch_size=2, period=0.01)
        q.extend([1, 2, 3])
        with pytest.raises(THREAD_TIMEOUT):
            q.stop(till=Till(seconds=0.3))  # nothing is dropped: it keeps retrying
        assert sink.attempts >= 2
        q.thread.stop()  # give up
        q.thread.join(till=Till(seconds=10))
        assert sink.items == []
        assert any("lost" in t for t in logged)
