"""The Lock contract (DESIGN.md "Lock" and "Errors", issue 2), point by point."""

from __future__ import annotations

import threading
import time

import pytest

from mo_threads import DONE, BusyLock, Lock, Signal, Till, locked
from mo_threads import lock as lock_module
from tests.helpers import run_python, wait_true


def _start(target, *args) -> threading.Thread:
    thread = threading.Thread(target=target, args=args, daemon=True)
    thread.start()
    return thread


def _held_by_other_thread(lock: Lock) -> bool:
    """True when another thread can not take `lock` right now."""
    result = []

    def probe():
        result.append(lock.acquire(timeout=0.01))
        if result == [True]:
            lock._lock.release()  # undo, without waking anybody (the inner lock knows its owner: this thread)

    thread = _start(probe)
    thread.join(10)
    return result == [False]


class TestMutualExclusion:
    def test_twenty_threads_increment(self):
        lock = Lock("counter")
        counter = [0]
        start = threading.Barrier(20)

        def add():
            start.wait()
            for i in range(500):
                with lock:
                    value = counter[0]
                    if i % 50 == 0:
                        time.sleep(0)  # invite a switch inside the section
                    counter[0] = value + 1

        threads = [_start(add) for _ in range(20)]
        for thread in threads:
            thread.join(30)
        assert counter[0] == 20 * 500
        assert not lock.locked()

    def test_unprotected_counter_loses_updates(self):
        # the same section without the lock loses updates: the test above can fail
        counter = [0]
        start = threading.Barrier(20)

        def add():
            start.wait()
            for i in range(500):
                value = counter[0]
                if i % 50 == 0:
                    time.sleep(0.0001)
                counter[0] = value + 1

        threads = [_start(add) for _ in range(20)]
        for thread in threads:
            thread.join(30)
        assert counter[0] < 20 * 500

    def test_with_returns_the_lock(self):
        lock = Lock("x")
        with lock as held:
            assert held is lock

    def test_released_after_exception(self):
        lock = Lock("x")
        with pytest.raises(ValueError):
            with lock:
                raise ValueError("inside")
        assert lock.acquire(timeout=0)
        lock.release()


class TestWait:
    def test_wait_releases_and_returns_holding(self):
        lock = Lock("monitor")
        entered = []
        state = {}

        def other():
            with lock:  # only possible while the waiter has let go
                entered.append(True)

        with lock:
            thread = _start(other)
            state["result"] = lock.wait()
            # back holding the lock: nobody else can take it
            assert _held_by_other_thread(lock)
            assert lock._owner == threading.get_ident()
        thread.join(10)
        assert entered == [True]
        assert state["result"] is True

    def test_true_when_woken_by_another_thread_leaving(self):
        lock = Lock("monitor")
        result = []
        waiting = threading.Event()

        def waiter():
            with lock:
                waiting.set()
                result.append(lock.wait(till=Till(seconds=30)))

        thread = _start(waiter)
        assert waiting.wait(10)
        with lock:
            pass
        thread.join(10)
        assert result == [True]

    def test_false_when_till_fires(self):
        lock = Lock("monitor")
        with lock:
            started = time.time()
            assert lock.wait(till=Till(seconds=0.05)) is False
            assert time.time() - started >= 0.05
            assert lock._owner == threading.get_ident()
        with lock:
            assert lock.wait(till=DONE) is False
        with lock:
            till = Signal("till")
            threading.Timer(0.02, till.go).start()
            assert lock.wait(till=till) is False

    def test_false_on_seconds_and_timeout(self):
        lock = Lock("monitor")
        with lock:
            started = time.time()
            assert lock.wait(seconds=0.05) is False
            assert lock.wait(timeout=0.05) is False
            assert time.time() - started >= 0.1
            assert lock.wait(seconds=0) is False

    def test_wait_seconds_form(self):
        # upstream's README: with lock: lock.wait(seconds=1)
        lock = Lock("readme")
        result = []
        waiting = threading.Event()

        def waiter():
            with lock:
                waiting.set()
                result.append(lock.wait(seconds=1))

        thread = _start(waiter)
        assert waiting.wait(10)
        with lock:
            pass
        thread.join(10)
        assert result == [True]
        with lock:
            started = time.time()
            assert lock.wait(seconds=0.2) is False
            assert 0.2 <= time.time() - started < 5

    def test_wait_leaves_no_waiter_behind(self):
        lock = Lock("monitor")
        till = Signal("till")
        with lock:
            lock.wait(seconds=0.01)
            threading.Timer(0.01, till.go).start()
            lock.wait(till=till)
        assert len(lock._waiters) == 0
        assert not till._waiters

    def test_leaving_wakes_exactly_one_waiter(self):
        lock = Lock("one at a time")
        stop = Signal("stop")
        woken = []
        ready = threading.Semaphore(0)

        def waiter(i):
            with lock:
                ready.release()
                while not stop:
                    if lock.wait(till=stop):
                        woken.append(i)  # and wait again, without leaving the lock

        threads = [_start(waiter, i) for i in range(5)]
        for _ in threads:
            ready.acquire()
        assert wait_true(lambda: len(lock._waiters) == 5)
        with lock:
            pass  # one exit
        assert wait_true(lambda: len(woken) >= 1)
        time.sleep(0.1)
        assert len(woken) == 1
        with lock:
            pass  # another exit, another one
        assert wait_true(lambda: len(woken) >= 2)
        time.sleep(0.1)
        assert len(woken) == 2
        stop.go()
        for thread in threads:
            thread.join(10)
        assert not any(thread.is_alive() for thread in threads)

    def test_producer_consumer(self):
        lock = Lock("queue")
        items = []
        got = []

        def consumer():
            while True:
                with lock:
                    while not items:
                        lock.wait(till=Till(seconds=10))
                    item = items.pop(0)
                if item is None:
                    return
                got.append(item)

        thread = _start(consumer)
        for i in range(200):
            with lock:
                items.append(i)
        with lock:
            items.append(None)
        thread.join(30)
        assert got == list(range(200))

    def test_interrupted_wait_does_not_swallow_a_wake_up(self):
        # a wait cut short by KeyboardInterrupt must leave the queue of waiters,
        # or the next exit wakes nobody and a real waiter sleeps on
        result = run_python(
            """
            import os, signal, threading, time
            from mo_threads import Lock

            lock = Lock("interrupted")
            other = []
            in_wait = threading.Event()

            def waiter():
                with lock:
                    in_wait.set()
                    other.append(lock.wait(seconds=5))

            def interrupt():
                time.sleep(0.3)
                os.kill(os.getpid(), signal.SIGINT)

            with lock:
                threading.Thread(target=waiter, daemon=True).start()
                threading.Thread(target=interrupt, daemon=True).start()
                try:
                    lock.wait()
                except KeyboardInterrupt:
                    print("interrupted")
                assert in_wait.wait(10)
            # that exit must wake the waiter
            started = time.time()
            while not other and time.time() - started < 10:
                time.sleep(0.01)
            print("other", other, "after %.1f" % (time.time() - started))
            """,
            timeout=45,
        )
        assert "interrupted" in result.stdout, result.stderr
        assert "other [True]" in result.stdout, result.stdout + result.stderr


class TestReentryAndMisuse:
    def test_reentry_raises_with_name(self):
        lock = Lock("my special lock")
        with lock:
            started = time.time()
            with pytest.raises(RuntimeError, match="my special lock"):
                with lock:
                    pass
            with pytest.raises(RuntimeError, match="my special lock"):
                lock.acquire()
            with pytest.raises(RuntimeError, match="my special lock"):
                lock.acquire(timeout=1)
            assert time.time() - started < 1  # at once, no hang
            assert lock._owner == threading.get_ident()  # still held
        assert lock.acquire(timeout=0)
        lock.release()

    def test_reentry_from_a_locked_function(self):
        @locked
        def outer():
            outer()

        with pytest.raises(RuntimeError, match="outer"):
            outer()

    def test_wait_without_holding_raises(self):
        lock = Lock("not held")
        with pytest.raises(RuntimeError, match="not held"):
            lock.wait(seconds=0.01)

    def test_wait_while_another_thread_holds_raises(self):
        lock = Lock("held elsewhere")
        held, done = threading.Event(), threading.Event()

        def holder():
            with lock:
                held.set()
                done.wait(10)

        thread = _start(holder)
        assert held.wait(10)
        try:
            with pytest.raises(RuntimeError, match="held elsewhere"):
                lock.wait(seconds=0.01)
        finally:
            done.set()
            thread.join(10)

    def test_release_without_holding_raises(self):
        lock = Lock("loose")
        with pytest.raises(RuntimeError, match="loose"):
            lock.release()

    def test_bad_arguments(self):
        lock = Lock("args")
        with lock:
            with pytest.raises(TypeError, match="till"):
                lock.wait(till=5)
            with pytest.raises(ValueError):
                lock.wait(seconds=-1)
            with pytest.raises(ValueError):
                lock.wait(timeout=float("nan"))
            with pytest.raises(TypeError):
                lock.wait(seconds="1")
            with pytest.raises(TypeError, match="both"):
                lock.wait(seconds=1, timeout=1)
            assert lock._owner == threading.get_ident()  # nothing half-done: still held
        assert not lock._waiters
        with pytest.raises(TypeError, match="till"):
            lock.acquire(till=5)
        with pytest.raises(ValueError):
            lock.acquire(timeout=-1)
        assert lock.acquire(timeout=0)  # and the lock is free
        lock.release()


class TestAcquireRelease:
    def test_huge_and_infinite_timeouts_mean_for_ever(self):
        lock = Lock("patient")
        assert lock.acquire(timeout=float("inf")) is True
        lock.release()
        assert lock.acquire(timeout=1e12) is True
        lock.release()
        result = []
        waiting = threading.Event()

        def waiter():
            with lock:
                waiting.set()
                result.append(lock.wait(seconds=float("inf")))

        thread = _start(waiter)
        assert waiting.wait(10)
        with lock:
            pass
        thread.join(10)
        assert result == [True]
        with lock:
            assert lock.wait(timeout=1e12, till=DONE) is False

    def test_acquire_with_till_and_timeout(self):
        lock = Lock("both")
        held, done = threading.Event(), threading.Event()

        def holder():
            with lock:
                held.set()
                done.wait(10)

        thread = _start(holder)
        assert held.wait(10)
        try:
            started = time.time()
            assert lock.acquire(till=Signal("never fired"), timeout=0.05) is False
            assert 0.05 <= time.time() - started < 5
            started = time.time()
            assert lock.acquire(till=Till(seconds=60), timeout=0.05) is False
            assert 0.05 <= time.time() - started < 5
            started = time.time()
            assert lock.acquire(till=Till(seconds=0.05), timeout=60) is False
            assert 0.05 <= time.time() - started < 5
            with pytest.raises(ValueError):
                lock.acquire(till=Signal(), timeout=-1)
        finally:
            done.set()
            thread.join(10)

    def test_acquire_release(self):
        lock = Lock("manual")
        assert lock.acquire() is True
        assert _held_by_other_thread(lock)
        lock.release()
        assert not _held_by_other_thread(lock)

    def test_acquire_timeout(self):
        lock = Lock("busy")
        held, done = threading.Event(), threading.Event()

        def holder():
            with lock:
                held.set()
                done.wait(10)

        thread = _start(holder)
        assert held.wait(10)
        try:
            started = time.time()
            assert lock.acquire(timeout=0.05) is False
            assert time.time() - started >= 0.05
            assert lock.acquire(till=Till(seconds=0.05)) is False
            assert lock.acquire(till=DONE) is False
        finally:
            done.set()
            thread.join(10)
        assert lock.acquire(timeout=5) is True
        lock.release()
        assert lock.acquire(till=Till(seconds=5)) is True
        lock.release()

    def test_acquire_till_gets_the_lock_when_freed(self):
        lock = Lock("handed over")
        held = threading.Event()

        def holder():
            with lock:
                held.set()
                time.sleep(0.05)

        thread = _start(holder)
        assert held.wait(10)
        assert lock.acquire(till=Till(seconds=10)) is True
        assert lock._owner == threading.get_ident()
        lock.release()
        thread.join(10)

    def test_release_wakes_a_waiter(self):
        lock = Lock("manual monitor")
        result = []
        waiting = threading.Event()

        def waiter():
            with lock:
                waiting.set()
                result.append(lock.wait(seconds=10))

        thread = _start(waiter)
        assert waiting.wait(10)
        lock.acquire()
        lock.release()
        thread.join(10)
        assert result == [True]


class TestStdlibShape:
    """`acquire(blocking, timeout)` as `threading.Lock` takes them (issue 23, point 2); `till=` stays a keyword."""

    def test_blocking_and_timeout_positionally(self):
        lock = Lock("stdlib")
        assert lock.acquire(False) is True and lock.locked()
        assert _in_other_thread(lambda: lock.acquire(False)) is False  # tried once, not waited
        assert _in_other_thread(lambda: lock.acquire(0)) is False  # 0 and 1 pass, as threading.Lock takes them
        started = time.monotonic()
        assert _in_other_thread(lambda: lock.acquire(True, 0.05)) is False
        assert time.monotonic() - started >= 0.05
        lock.release()
        assert not lock.locked()
        assert lock.acquire(True, 5) is True
        lock.release()
        assert lock.acquire(blocking=True, timeout=5, till=Till(seconds=5)) is True
        lock.release()

    def test_bad_blocking_is_refused_at_the_call(self):
        lock = Lock("picky")
        with pytest.raises(ValueError, match="can't specify a timeout for a non-blocking call.*'picky'"):
            lock.acquire(False, 1)
        with pytest.raises(ValueError, match="can't specify a till for a non-blocking call"):
            lock.acquire(False, till=Signal())
        with pytest.raises(TypeError, match="'picky'.*must be a bool, not a Signal: pass a Signal as till="):
            lock.acquire(Signal())  # the first positional argument is `blocking`, as in the stdlib
        with pytest.raises(TypeError, match="must be a bool, not str"):
            lock.acquire("yes")
        assert not lock.locked()  # nothing half-done

    def test_holder_trying_again_is_reentry(self):
        lock = Lock("tried twice")
        with lock:
            with pytest.raises(RuntimeError, match="tried twice.*not reentrant"):
                lock.acquire(False)  # threading.Lock returns False: ours says the bug at once
            assert lock._owner == threading.get_ident()
        assert not lock.locked()


class TestBusyLockStdlibShape:
    def test_blocking_and_timeout(self):
        busy = BusyLock("spinning")
        assert busy.acquire(False) is True
        assert _in_other_thread(lambda: busy.acquire(False)) is False
        started = time.monotonic()
        assert _in_other_thread(lambda: busy.acquire(True, 0.05)) is False  # spins, then parks until the deadline
        assert time.monotonic() - started >= 0.05
        with pytest.raises(RuntimeError, match="spinning.*not reentrant"):
            busy.acquire(timeout=1)
        busy.release()
        assert busy.acquire(timeout=1e100) is True  # free: taken at once ("for ever" is never needed)
        busy.release()

    def test_bad_blocking_is_refused_at_the_call(self):
        busy = BusyLock("picky spinner")
        with pytest.raises(ValueError, match="can't specify a timeout for a non-blocking call.*'picky spinner'"):
            busy.acquire(False, 1)
        with pytest.raises(TypeError, match="must be a bool, not a Signal"):
            busy.acquire(Signal())
        with pytest.raises(ValueError, match="timeout"):
            busy.acquire(timeout=-1)
        assert not busy.locked()  # nothing half-done


def _in_other_thread(call):
    result = []
    thread = _start(lambda: result.append(call()))
    thread.join(10)
    return result[0]


class TestLockedDecorator:
    def test_serialises_calls(self):
        inside = [0]
        most = [0]

        @locked
        def section(x):
            inside[0] += 1
            most[0] = max(most[0], inside[0])
            time.sleep(0.001)
            inside[0] -= 1
            return x * 2

        results = []
        threads = [_start(lambda i=i: results.append(section(i))) for i in range(20)]
        for thread in threads:
            thread.join(10)
        assert most[0] == 1
        assert sorted(results) == [i * 2 for i in range(20)]

    def test_refuses_a_non_callable(self):
        with pytest.raises(TypeError, match="callable"):
            locked(3)

    def test_keeps_name_and_doc(self):
        @locked
        def documented():
            """Docs."""

        assert documented.__name__ == "documented"
        assert documented.__doc__ == "Docs."


class TestLockDescription:
    def test_name_and_repr(self):
        lock = Lock("named")
        assert lock.name == "named"
        assert "named" in repr(lock) and "free" in repr(lock)
        with lock:
            assert "held" in repr(lock)

    def test_is_small(self):
        assert not hasattr(Lock("x"), "__dict__")
        assert lock_module.Lock is Lock


class TestUpstreamSignature:
    def test_debug_and_sample_are_accepted(self) -> None:
        lock = Lock("compatible", debug=True, sample=True)
        with lock:
            assert lock.wait(seconds=0) is False

    def test_name_must_be_text(self) -> None:
        with pytest.raises(TypeError, match="name"):
            Lock(3)  # type: ignore[arg-type]
