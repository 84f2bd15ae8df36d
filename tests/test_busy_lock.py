from __future__ import annotations

import threading

import pytest

from mo_threads import BusyLock, Thread
from mo_threads.busy_lock import BusyLock as BusyLockFromModule


class TestBusyLock:
    def test_exported(self):
        assert BusyLock is BusyLockFromModule

    def test_no_lost_update_under_contention(self):
        lock = BusyLock("counter")
        counter = [0]
        start = threading.Event()

        def add(please_stop):
            start.wait()
            for _ in range(10000):
                with lock:
                    # a read, a thread switch, a write: loses updates without the lock
                    value = counter[0]
                    if value % 97 == 0:
                        threading.Event().wait(0)  # invite a switch inside the section
                    counter[0] = value + 1

        threads = [Thread.run("adder " + str(i), add) for i in range(8)]
        start.set()
        for thread in threads:
            thread.join()
        assert counter[0] == 8 * 10000
        assert not lock.locked()

    def test_unprotected_counter_can_lose_updates(self):
        # shows the contention test above can fail: the same switch without the lock loses updates
        counter = [0]
        start = threading.Event()

        def add(please_stop):
            start.wait()
            for _ in range(2000):
                value = counter[0]
                if value % 7 == 0:
                    threading.Event().wait(0.0001)
                counter[0] = value + 1

        threads = [Thread.run("racer " + str(i), add) for i in range(4)]
        start.set()
        for thread in threads:
            thread.join()
        assert counter[0] < 4 * 2000

    def test_reentry_raises_with_name(self):
        lock = BusyLock("my busy lock")
        with lock:
            with pytest.raises(RuntimeError, match="my busy lock"):
                lock.acquire()
        assert not lock.locked()

    def test_release_unheld_raises(self):
        lock = BusyLock("idle")
        with pytest.raises(RuntimeError, match="idle"):
            lock.release()

    def test_waiter_gets_lock_after_long_hold(self):
        # a holder past the spin phase: the waiter parks, then gets the lock
        lock = BusyLock("long")
        got = threading.Event()
        lock.acquire()

        def waiter(please_stop):
            with lock:
                got.set()

        thread = Thread.run("waiter", waiter)
        assert not got.wait(0.2)
        lock.release()
        assert got.wait(10)
        thread.join()

    def test_repr_shows_state(self):
        lock = BusyLock("shown")
        assert "free" in repr(lock) and "shown" in repr(lock)
        with lock:
            assert "held" in repr(lock)
