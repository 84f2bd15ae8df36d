"""Bad input, one test per public entry point: a clear error at the call, and nothing half-done.

Every test asserts the exception type AND that the message names the problem, then that the
refused call left no trace (a queue unchanged, no child added to the thread tree, no thread
started). Library bugs found here are kept as strict xfails, so they show until fixed.
"""

from __future__ import annotations

import math
import queue as stdlib_queue
import threading
import time
from typing import Any, Callable, List, Type

import pytest

from mo_threads import (
    DONE,
    MAIN_THREAD,
    NEVER,
    PLEASE_STOP,
    BusyLock,
    Command,
    Future,
    Lock,
    PriorityQueue,
    Process,
    Python,
    Queue,
    RegisterThread,
    Repeat,
    Signal,
    Thread,
    ThreadedQueue,
    ThreadPool,
    Till,
    current_thread,
    join_all_threads,
    locked,
    set_grace_period,
    wait_for_shutdown_signal,
)
from mo_threads.commands import SESSIONS
from mo_threads.queues import QueueClosed


def refused(kind: Type[BaseException], call: Callable[[], Any], *words: str) -> BaseException:
    """`call()` raises `kind`, and the message contains every one of `words`."""
    with pytest.raises(kind) as caught:
        call()
    message = str(caught.value)
    for word in words:
        assert word in message, "message " + repr(message) + " does not name " + repr(word)
    return caught.value


def in_other_thread(call: Callable[[], Any]) -> BaseException:
    caught: List[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as error:
            caught.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(10)
    assert not thread.is_alive()
    assert caught, "no error raised"
    return caught[0]


def nothing(please_stop: Signal) -> None:
    pass


def no_please_stop() -> None:
    pass


@pytest.fixture
def tree_unchanged() -> Any:
    """The calling thread's children and the running threads are the same after the test."""
    parent = current_thread()
    children = list(parent.children)
    threads = set(threading.enumerate())
    yield
    assert list(parent.children) == children
    new = [t for t in threading.enumerate() if t not in threads and t.is_alive() and not t.name.startswith("mo-threads")]
    assert not new, new


# --- signals ---------------------------------------------------------------------------
class TestSignal:
    def test_wait(self) -> None:
        s = Signal("waited")
        refused(TypeError, lambda: s.wait(till=3), "till", "Signal", "int")
        refused(TypeError, lambda: s.wait(till="soon"), "till", "str")
        refused(ValueError, lambda: s.wait(timeout=-1), "timeout", "-1")
        refused(ValueError, lambda: s.wait(timeout=math.nan), "timeout", "NaN")
        refused(TypeError, lambda: s.wait(timeout="1"), "timeout", "str")
        refused(TypeError, lambda: s.wait(timeout=True), "timeout", "bool")
        refused(ValueError, lambda: s.wait(Signal(), timeout=-0.5), "timeout")
        assert not s._waiters  # no waiter left behind by a refused wait

    def test_then(self) -> None:
        s = Signal("then")
        refused(TypeError, lambda: s.then(3), "then", "callable", "int")
        refused(TypeError, lambda: s.then(lambda: None, error="log"), "error", "callable", "str")
        assert not s._jobs  # nothing registered
        s.go()  # and nothing runs

    def test_combine(self) -> None:
        s = Signal("combined")
        refused(TypeError, lambda: s | 5, "combine", "int")
        refused(TypeError, lambda: 5 | s, "combine", "int")
        refused(TypeError, lambda: s & "x", "combine", "str")
        refused(TypeError, lambda: s | [s], "combine", "list")
        assert not s._jobs

    def test_never(self) -> None:
        refused(RuntimeError, NEVER.wait, "NEVER", "for ever")
        refused(TypeError, lambda: NEVER.then(None), "callable")
        assert not NEVER

    def test_name_must_be_text(self) -> None:
        # found by this suite (the name of a combination raised from repr), fixed in 2e264b6
        refused(TypeError, lambda: Signal(1), "name", "str", "int")  # type: ignore[arg-type]
        assert repr(Signal("a") | Signal("b"))


class TestTill:
    def test_constructor(self) -> None:
        refused(TypeError, lambda: Till(), "seconds=", "till=")
        refused(TypeError, lambda: Till(seconds="1"), "seconds", "str")
        refused(TypeError, lambda: Till(seconds=None, till="now"), "till", "str")
        refused(ValueError, lambda: Till(seconds=math.nan), "seconds", "NaN")
        refused(ValueError, lambda: Till(till=-1), "till", "negative")
        refused(TypeError, lambda: Till(till=1, seconds=1), "not both")
        refused(TypeError, lambda: Till(seconds=True), "seconds", "bool")
        # documented, not an error: a deadline already past is done at once
        assert Till(seconds=-1) and Till(seconds=0)

    def test_then(self) -> None:
        till = Till(seconds=60)
        refused(TypeError, lambda: till.then(3), "callable")
        refused(TypeError, lambda: till.then(lambda: None, error=3), "error", "callable")
        assert not till._jobs


# --- locks -----------------------------------------------------------------------------
class TestLock:
    def test_reentered(self) -> None:
        lock = Lock("re-entered")
        with lock:
            refused(RuntimeError, lock.__enter__, "'re-entered'", "not reentrant")
            refused(RuntimeError, lock.acquire, "'re-entered'", "not reentrant")
            refused(RuntimeError, lambda: lock.acquire(timeout=1), "not reentrant")
            assert lock._owner == threading.get_ident()  # still held, once
        assert lock.acquire(timeout=0)  # and released once: free again
        lock.release()

    def test_wait(self) -> None:
        lock = Lock("monitor")
        refused(RuntimeError, lock.wait, "'monitor'", "without holding")
        error = in_other_thread(lambda: lock.wait())
        assert isinstance(error, RuntimeError) and "without holding" in str(error)
        with lock:
            refused(TypeError, lambda: lock.wait(till=3), "till", "Signal", "int")
            refused(ValueError, lambda: lock.wait(seconds=-1), "seconds", "-1")
            refused(TypeError, lambda: lock.wait(seconds="1"), "seconds", "str")
            refused(ValueError, lambda: lock.wait(timeout=math.nan), "NaN")
            refused(TypeError, lambda: lock.wait(seconds=1, timeout=1), "seconds=", "timeout=", "not both")
            # nothing half-done: still held by us, no waiter queued
            assert lock._owner == threading.get_ident()
            assert not lock._waiters
        assert not lock.locked()

    def test_acquire_release(self) -> None:
        lock = Lock("plain")
        refused(RuntimeError, lock.release, "'plain'", "not held")
        refused(ValueError, lambda: lock.acquire(timeout=-1), "timeout", "-1")
        refused(TypeError, lambda: lock.acquire(till="x"), "till", "str")
        assert not lock.locked()
        with lock:
            error = in_other_thread(lock.release)
            assert isinstance(error, RuntimeError) and "not held" in str(error)
            assert lock.locked()  # another thread's refused release changed nothing

    def test_busy_lock(self) -> None:
        busy = BusyLock("spin")
        refused(RuntimeError, busy.release, "'spin'", "not held")
        with busy:
            refused(RuntimeError, busy.__enter__, "'spin'", "not reentrant")
            assert busy.locked()
        assert not busy.locked()

    def test_locked_decorator(self) -> None:
        # found by this suite, fixed in 2e264b6
        refused(TypeError, lambda: locked(3), "callable")  # type: ignore[arg-type]


# --- threads ---------------------------------------------------------------------------
class TestThread:
    def test_missing_please_stop(self, tree_unchanged: Any) -> None:
        refused(TypeError, lambda: Thread("worker", no_please_stop), "'worker'", "no_please_stop", "please_stop")
        refused(TypeError, lambda: Thread.run("worker", no_please_stop), "no_please_stop", "please_stop")
        refused(TypeError, lambda: Thread.run("worker", lambda x: x, 1), "please_stop")

    def test_wrong_types(self, tree_unchanged: Any) -> None:
        refused(TypeError, lambda: Thread(3, nothing), "name", "str", "int")
        refused(TypeError, lambda: Thread.run("worker", 3), "'worker'", "callable", "int")
        refused(TypeError, lambda: Thread.run("worker", nothing, parent_thread="main"), "parent_thread", "str")
        refused(TypeError, lambda: Thread.run("worker", nothing, please_stop=True), "please_stop", "Signal", "bool")

    def test_join_unstarted_and_twice_started(self, tree_unchanged: Any) -> None:
        thread = Thread("never started", nothing)
        refused(RuntimeError, thread.join, "'never started'", "never started")
        refused(RuntimeError, lambda: thread.join(till=DONE), "never started")
        assert thread not in current_thread().children  # unstarted: not in the tree
        thread.start()
        refused(RuntimeError, thread.start, "'never started'", "already started")
        refused(TypeError, lambda: thread.join(till=1), "till", "Signal", "int")
        thread.join()

    def test_join_itself(self) -> None:
        def join_myself(please_stop: Signal) -> str:
            try:
                current_thread().join()  # type: ignore[attr-defined]
            except RuntimeError as error:
                return str(error)
            return "no error"

        assert "can not join itself" in Thread.run("selfish", join_myself).join()

    def test_main_thread_from_another_thread(self) -> None:
        error = in_other_thread(MAIN_THREAD.stop)
        assert isinstance(error, RuntimeError) and "main thread" in str(error)
        assert not MAIN_THREAD.please_stop  # nothing was stopped
        error = in_other_thread(wait_for_shutdown_signal)
        assert isinstance(error, RuntimeError) and "main thread" in str(error)

    def test_wait_for_shutdown_signal_types(self) -> None:
        refused(TypeError, lambda: wait_for_shutdown_signal(please_stop=3), "please_stop", "Signal", "int")
        assert not MAIN_THREAD.please_stop

    def test_grace_period(self) -> None:
        refused(ValueError, lambda: set_grace_period(-1), "grace period", "-1")
        refused(TypeError, lambda: set_grace_period("30"), "grace period", "str")
        refused(ValueError, lambda: set_grace_period(math.nan), "grace period", "NaN")

    def test_join_all_threads(self) -> None:
        # found by this suite, fixed in 640bc18
        refused(TypeError, lambda: join_all_threads([3]), "thread", "int")  # type: ignore[list-item]
        refused(TypeError, lambda: join_all_threads([], till=3), "till", "int")  # type: ignore[arg-type]

    def test_register_thread_name(self) -> None:
        # found by this suite, fixed in 640bc18
        refused(TypeError, lambda: RegisterThread(name=3), "name", "int")  # type: ignore[arg-type]


# --- queues ----------------------------------------------------------------------------
class TestQueue:
    def test_constructor(self) -> None:
        refused(TypeError, lambda: Queue(3), "name", "str", "int")
        refused(ValueError, lambda: Queue("q", max=0), "'q'", "max", "0")
        refused(ValueError, lambda: Queue("q", max=-5), "max", "-5")
        refused(TypeError, lambda: Queue("q", max="3"), "max", "str")
        refused(TypeError, lambda: Queue("q", max=2.5), "max", "float")

    def test_closed_queue(self) -> None:
        q = Queue("shut")
        q.add(1)
        q.close()
        for call in (
            lambda: q.add(2),
            lambda: q.push(2),
            lambda: q.extend([2, 3]),
            lambda: q.push_all([2, 3]),
            lambda: q.put(2),
            lambda: q.put_nowait(2),
        ):
            error = refused(QueueClosed, call, "'shut'", "closed")
            assert isinstance(error, RuntimeError)
            assert list(q._items) == [1]  # unchanged; what was queued before the close stays
        assert q.pop() == 1 and q.pop() is PLEASE_STOP

    def test_bad_timeouts_and_tills_leave_the_queue_unchanged(self) -> None:
        for q in (Queue("open"), Queue("bounded", max=1)):
            for call in (
                lambda: q.add(9, timeout=-1),
                lambda: q.push(9, timeout=-1),
                lambda: q.put(9, timeout=-1),
                lambda: q.push_all([9], timeout=-1),
            ):
                refused(ValueError, call, "timeout", "-1")
                assert len(q) == 0
            for call in (lambda: q.add(9, till=3), lambda: q.push(9, till="x"), lambda: q.push_all([9], till=3)):
                refused(TypeError, call, "till", "Signal")
                assert len(q) == 0
            refused(TypeError, lambda: q.add(9, timeout="1"), "timeout", "str")
            assert len(q) == 0

    def test_extend_checks_timeout_and_till(self) -> None:
        # the fast path (unbounded, not unique) too: found by this suite, fixed in 0f5dac0
        q = Queue("extended")
        refused(ValueError, lambda: q.extend([9], timeout=-1), "timeout")
        assert len(q) == 0
        refused(TypeError, lambda: q.extend([9], till=3), "till")
        assert len(q) == 0

    @pytest.mark.parametrize("huge", [1e10, math.inf], ids=["1e10", "inf"])
    def test_huge_timeouts_mean_for_ever(self, huge: float) -> None:
        def soon(call: Callable[[], Any]) -> threading.Thread:
            def run() -> None:
                time.sleep(0.05)
                call()

            thread = threading.Thread(target=run, daemon=True)
            thread.start()
            return thread

        q = Queue("patient")
        soon(lambda: q.add(1))
        assert q.pop(timeout=huge) == 1
        soon(lambda: q.add(2))
        assert q.get(timeout=huge) == 2
        full = Queue("patient and full", max=1, silent=True)
        full.add(0)
        soon(full.pop)
        full.add(1, timeout=huge)
        assert full.pop_all() == [1]

    def test_pop_and_get(self) -> None:
        q = Queue("consumed")
        q.add(1)
        refused(TypeError, lambda: q.pop(till=3), "till", "Signal", "int")
        refused(ValueError, lambda: q.pop(timeout=-1), "timeout", "-1")
        refused(TypeError, lambda: q.pop(timeout="1"), "timeout", "str")
        refused(ValueError, lambda: q.get(timeout=-1), "timeout")
        assert q.pop_all() == [1]  # nothing was taken by a refused pop
        refused(stdlib_queue.Empty, q.get_nowait, "'consumed'", "empty")
        refused(stdlib_queue.Empty, lambda: q.get(timeout=0.01), "empty")

    def test_stop_marker_misuse(self) -> None:
        q = Queue("marked")
        refused(ValueError, lambda: q.push_all([1, PLEASE_STOP]), "'marked'", "PLEASE_STOP")
        assert len(q) == 0 and not q.closed
        refused(QueueClosed, lambda: q.extend([1, PLEASE_STOP, 2]), "'marked'", "PLEASE_STOP")
        assert len(q) == 0 and not q.closed  # all or nothing: not even the close happened

    def test_full_queue(self) -> None:
        q = Queue("tight", max=1, silent=True)
        q.add(1)
        refused(stdlib_queue.Full, lambda: q.add(2, timeout=0), "'tight'", "full")
        refused(stdlib_queue.Full, lambda: q.put(2, block=False), "full")
        refused(stdlib_queue.Full, lambda: q.add(2, till=DONE), "full")
        assert q.pop_all() == [1]

    def test_task_done_and_join(self) -> None:
        q = Queue("tasks")
        refused(ValueError, q.task_done, "'tasks'", "too many")
        refused(TypeError, lambda: q.join(till=3), "till", "int")

    def test_priority_queue(self) -> None:
        refused(ValueError, lambda: PriorityQueue("p", 0), "'p'", "numpriorities", "0")
        refused(ValueError, lambda: PriorityQueue("p", "2"), "numpriorities")
        q = PriorityQueue("lanes", 2)
        refused(ValueError, lambda: q.add(1, priority=2), "'lanes'", "priority", "2")
        refused(ValueError, lambda: q.add(1, priority=-1), "priority")
        refused(ValueError, lambda: q.extend([1], priority=5), "priority")
        refused(ValueError, lambda: q.add(1, timeout=-1), "timeout")
        assert len(q) == 0

    def test_threaded_queue(self, tree_unchanged: Any) -> None:
        refused(TypeError, lambda: ThreadedQueue("tq", 3), "'tq'", "extend")
        refused(ValueError, lambda: ThreadedQueue("tq", [], batch_size=0), "batch_size", "0")
        refused(ValueError, lambda: ThreadedQueue("tq", [], max_size=-1), "max_size")
        refused(ValueError, lambda: ThreadedQueue("tq", [], period=0), "period")
        refused(ValueError, lambda: ThreadedQueue("tq", [], period=-1), "period")
        refused(TypeError, lambda: ThreadedQueue("tq", [], period="1"), "period")
        refused(TypeError, lambda: ThreadedQueue("tq", [], error_target=3), "error_target", "callable")
        refused(TypeError, lambda: ThreadedQueue(3, []), "name", "int")
        # and a stopped one is closed
        sink: List[Any] = []
        tq = ThreadedQueue("stopped tq", sink)
        tq.add(1)
        tq.stop()
        refused(QueueClosed, lambda: tq.add(2), "'stopped tq'", "closed")
        assert sink == [1]


# --- futures and pools -----------------------------------------------------------------
class TestFuture:
    def test_future(self) -> None:
        future = Future()
        refused(TypeError, lambda: future.fail("bad"), "exception", "str")
        refused(ValueError, lambda: future.wait(timeout=-1), "timeout")
        refused(TypeError, lambda: future.wait(till=3), "till", "int")
        assert not future.done  # none of that settled it
        future.assign(1)
        refused(RuntimeError, lambda: future.assign(2), "already settled")
        refused(RuntimeError, lambda: future.fail(ValueError("late")), "already settled")
        assert future.wait() == 1


class TestThreadPool:
    def test_constructor(self) -> None:
        refused(ValueError, lambda: ThreadPool(0), "num_threads", "0")
        refused(ValueError, lambda: ThreadPool(-2), "num_threads")
        refused((TypeError, ValueError), lambda: ThreadPool("4"), "num_threads")  # type: ignore[arg-type]
        refused(TypeError, lambda: ThreadPool(2, name=3), "name", "int")  # type: ignore[arg-type]

    def test_run(self, tree_unchanged: Any) -> None:
        pool = ThreadPool(2, name="jobs")
        refused(TypeError, lambda: pool.run("job", no_please_stop), "'jobs'", "no_please_stop", "please_stop")
        refused(TypeError, lambda: pool.run("job", 3), "callable")
        refused(TypeError, lambda: pool.run("job", nothing, please_stop=3), "please_stop", "Signal")
        assert not pool._workers  # no worker started for a refused job
        pool.join()
        refused(RuntimeError, lambda: pool.run("late", nothing), "'jobs'", "closed")

    def test_join_till(self) -> None:
        # even with no workers to join: found by this suite, fixed in 0f5dac0
        refused(TypeError, lambda: ThreadPool(1).join(till=3), "till", "int")  # type: ignore[arg-type]


# --- processes -------------------------------------------------------------------------
class TestProcess:
    def test_missing_program(self, tree_unchanged: Any) -> None:
        error = refused(FileNotFoundError, lambda: Process("ghost", ["/no/such/program"]), "'ghost'", "/no/such/program")
        assert error.errno is not None
        refused(FileNotFoundError, lambda: Process("ghost", ["true"], cwd="/no/such/dir"), "/no/such/dir")

    def test_wrong_arguments(self, tree_unchanged: Any) -> None:
        refused(TypeError, lambda: Process(3, ["true"]), "name", "int")
        refused(TypeError, lambda: Process("p", "ls -l"), "'p'", "params", "shell=True")
        refused(ValueError, lambda: Process("p", []), "'p'", "params", "empty")
        refused(ValueError, lambda: Process("p", ["true"], timeout=-1), "timeout", "-1")
        refused(TypeError, lambda: Process("p", ["true"], startup_timeout="1"), "startup_timeout", "str")
        refused(TypeError, lambda: Process("p", ["true"], env=3), "env", "int")
        refused(TypeError, lambda: Process("p", ["true"], parent_thread=3), "parent_thread", "int")

    def test_join(self) -> None:
        process = Process("joined", ["true"], timeout=None)
        refused(TypeError, lambda: process.join(till=3), "till", "Signal")
        process.join()
        assert process.returncode == 0

    def test_cwd_type(self, tree_unchanged: Any) -> None:
        refused(TypeError, lambda: Process("p", ["true"], cwd=3), "'p'", "cwd", "int")
        refused(TypeError, lambda: Process("p", 5), "'p'", "params", "int")  # type: ignore[arg-type]


class TestCommand:
    def test_wrong_arguments(self) -> None:
        try:
            refused(TypeError, lambda: Command(3, ["true"]), "name", "int")
            refused(ValueError, lambda: Command("c", ["true"], timeout=-1), "'c'", "timeout", "-1")
            refused(ValueError, lambda: Command("c", ["true"], max_stdout=0), "max_stdout", "0")
            refused(FileNotFoundError, lambda: Command("c", ["/no/such/program"], shell=False), "/no/such/program")
            refused(FileNotFoundError, lambda: Command("c", ["ls"], cwd="/no/such/dir"), "/no/such/dir")
            assert Command("c", ["echo", "still fine"]).join().stdout.pop_all() == ["still fine"]
        finally:
            SESSIONS.close_all()

    def test_join(self) -> None:
        try:
            command = Command("joined", ["true"])
            refused(TypeError, lambda: command.join(till=3), "till", "Signal")
            assert command.join().returncode == 0
        finally:
            SESSIONS.close_all()

    def test_params_type(self) -> None:
        try:
            refused(TypeError, lambda: Command("c", 5), "'c'", "params", "int")  # type: ignore[arg-type]
        finally:
            SESSIONS.close_all()


class TestPython:
    def test_wrong_arguments(self, tree_unchanged: Any) -> None:
        refused(TypeError, lambda: Python(3), "name", "int")  # type: ignore[arg-type]
        refused(TypeError, lambda: Python("p", config=object()), "'p'", "config", "JSON")


class TestRepeat:
    def test_wrong_arguments(self, tree_unchanged: Any) -> None:
        refused(TypeError, lambda: Repeat(3), "message", "function", "int")  # type: ignore[arg-type]
        refused(ValueError, lambda: Repeat("m", every=-1), "every", "-1")
        refused(ValueError, lambda: Repeat("m", every=0), "every")
        refused((TypeError, ValueError), lambda: Repeat("m", every="often"), "every")
        refused((TypeError, ValueError), lambda: Repeat("m", every=1, until="x"), "until")

    def test_started_twice(self) -> None:
        repeat = Repeat("twice", every=60, start=True)
        try:
            refused(RuntimeError, repeat.start, "already started")
        finally:
            repeat.stop()


# --- groups, channels, semaphores, barriers, latches, wait_any, supervise ---------------
class TestThreadGroup:
    def test_wrong_arguments(self, tree_unchanged: Any) -> None:
        from mo_threads import ThreadGroup

        refused(TypeError, lambda: ThreadGroup(3), "name", "int")  # type: ignore[arg-type]
        refused(ValueError, lambda: ThreadGroup("g", mode="most"), "'g'", "mode", "'most'")
        refused(ValueError, lambda: ThreadGroup("g", deadline=-1), "deadline", "-1")
        refused(TypeError, lambda: ThreadGroup("g", deadline="soon"), "deadline", "str")
        group = ThreadGroup("outside")
        refused(RuntimeError, lambda: group.run("x", nothing), "'outside'", "with block")

    def test_misuse(self, tree_unchanged: Any) -> None:
        from mo_threads import ThreadGroup

        group = ThreadGroup("used")
        with group:
            refused(TypeError, lambda: group.run("x", no_please_stop), "no_please_stop", "please_stop")
            assert not group.members  # nothing started
        refused(RuntimeError, group.__enter__, "'used'", "already")


class TestChannel:
    def test_wrong_arguments(self) -> None:
        from mo_threads import Channel

        refused(TypeError, lambda: Channel(3), "name", "int")  # type: ignore[arg-type]
        refused(ValueError, lambda: Channel("c", -1), "'c'", "capacity", "-1")
        refused(TypeError, lambda: Channel("c", 1.5), "capacity", "float")  # type: ignore[arg-type]
        channel = Channel("buffered", 2)
        refused(ValueError, lambda: channel.send(1, timeout=-1), "timeout")
        refused(TypeError, lambda: channel.send(1, till=3), "till", "int")  # type: ignore[arg-type]
        refused(ValueError, lambda: channel.receive(timeout=-1), "timeout")
        refused(TypeError, lambda: channel.receive(till="x"), "till", "str")  # type: ignore[arg-type]
        refused(TypeError, lambda: channel.close(error="boom"), "error", "exception", "str")  # type: ignore[arg-type]
        assert not channel._buffer and not channel.closed  # none of that did anything

    def test_closed(self) -> None:
        from mo_threads import Channel, ChannelClosed

        channel = Channel("shut", 1)
        channel.send("kept")
        channel.close()
        error = refused(ChannelClosed, lambda: channel.send(1), "'shut'", "closed")
        assert isinstance(error, QueueClosed)
        refused(ChannelClosed, lambda: channel.try_send(1), "closed")
        assert channel.receive() == "kept" and channel.receive() is PLEASE_STOP


class TestSync:
    def test_semaphore(self) -> None:
        from mo_threads import BoundedSemaphore, Semaphore

        refused(ValueError, lambda: Semaphore(-1), "value", "-1")
        refused(TypeError, lambda: Semaphore("2"), "value", "str")  # type: ignore[arg-type]
        semaphore = Semaphore(1, "permits")
        refused(ValueError, lambda: semaphore.acquire(timeout=-1), "timeout")
        refused(TypeError, lambda: semaphore.acquire(till=3), "till")  # type: ignore[arg-type]
        refused(ValueError, lambda: semaphore.release(0), "'permits'", "release", "0")
        assert semaphore.value == 1  # unchanged
        bounded = BoundedSemaphore(1, "bounded")
        refused(ValueError, bounded.release, "'bounded'", "released more")
        assert bounded.value == 1

    def test_barrier_and_latch(self) -> None:
        from mo_threads import Barrier, Latch

        refused(ValueError, lambda: Barrier(0), "parties", "0")
        refused(TypeError, lambda: Barrier("2"), "parties", "str")  # type: ignore[arg-type]
        barrier = Barrier(2, "meet")
        refused(ValueError, lambda: barrier.wait(timeout=-1), "timeout")
        assert barrier.n_waiting == 0 and not barrier.broken
        refused(ValueError, lambda: Latch(-1), "count", "-1")
        latch = Latch(2, "countdown")
        refused(ValueError, lambda: latch.count_down(-1), "'countdown'", "count_down", "-1")
        refused(TypeError, lambda: latch.wait(till=3), "till")  # type: ignore[arg-type]
        refused(ValueError, lambda: latch.wait(timeout=-1), "timeout")
        assert latch.count == 2 and not latch.done

    def test_wait_any(self) -> None:
        from mo_threads import wait_any

        refused(ValueError, wait_any, "at least one")
        refused(TypeError, lambda: wait_any(3), "Signals", "int")
        refused(ValueError, lambda: wait_any(Signal(), timeout=-1), "timeout")
        refused(TypeError, lambda: wait_any(Signal(), till=3), "till", "int")  # type: ignore[arg-type]

    def test_supervise(self, tree_unchanged: Any) -> None:
        from mo_threads import supervise

        refused(TypeError, lambda: supervise("s", no_please_stop), "no_please_stop", "please_stop")
        refused(TypeError, lambda: supervise("s", 3), "'s'", "callable")  # type: ignore[arg-type]
        refused(TypeError, lambda: supervise(3, nothing), "name", "int")  # type: ignore[arg-type]
        refused(ValueError, lambda: supervise("s", nothing, restart="sometimes"), "restart", "'sometimes'")
        refused(ValueError, lambda: supervise("s", nothing, max_restarts=-1), "max_restarts", "-1")
        refused(ValueError, lambda: supervise("s", nothing, backoff=-1), "backoff", "-1")


class TestHugeTimeouts:
    """A timeout longer than the OS accepts (1e10 s, math.inf) means 'for ever', never OverflowError."""

    @pytest.mark.parametrize("huge", [1e10, math.inf], ids=["1e10", "inf"])
    def test_for_ever(self, huge: float) -> None:
        from mo_threads import Barrier, Channel, Latch, Semaphore, wait_any

        def soon(call: Callable[[], Any]) -> None:
            def run() -> None:
                time.sleep(0.02)
                call()

            threading.Thread(target=run, daemon=True).start()

        s = Signal("s")
        soon(s.go)
        assert s.wait(timeout=huge)
        future = Future()
        soon(lambda: future.assign(5))
        assert future.wait(timeout=huge) == 5
        channel = Channel("c")
        soon(lambda: channel.send(3))
        assert channel.receive(timeout=huge) == 3
        soon(channel.receive)
        channel.send(4, timeout=huge)
        semaphore = Semaphore(0)
        soon(semaphore.release)
        assert semaphore.acquire(timeout=huge)
        latch = Latch(1)
        soon(latch.count_down)
        assert latch.wait(timeout=huge)
        barrier = Barrier(2)
        soon(barrier.wait)
        assert barrier.wait(timeout=huge) in (0, 1)
        q = Queue("either")
        soon(lambda: q.add(1))
        assert wait_any(q, timeout=huge).item == 1
        lock = Lock("monitor")

        def leave() -> None:
            with lock:
                pass

        with lock:
            soon(leave)
            assert lock.wait(timeout=huge)
        assert lock.acquire(timeout=huge)
        lock.release()
        assert not Till(seconds=huge)
