"""Lock waits cut short by a Signal, `acquiring(till=)`, what a blocked thread reports, and lock-cycle detection."""

from __future__ import annotations

import threading
import time

import pytest

from mo_threads import DeadlockError, Lock, Signal, ThreadTimeout, Till
from mo_threads import _blocking
from tests.helpers import run_python


def _in_thread(fn):
    """Run fn in a plain thread; return (thread, box) where box gets ("ok", value) or ("error", exc)."""
    box = []

    def body():
        try:
            box.append(("ok", fn()))
        except BaseException as cause:  # noqa: BLE001 - reported to the test through box
            box.append(("error", cause))

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    return thread, box


def _wait_until(condition, seconds=10.0):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.002)


class TestAcquireTill:
    def test_signal_cuts_the_wait_short_without_polling(self):
        lock = Lock("busy")
        stop = Signal("give up")
        with lock:
            thread, box = _in_thread(lambda: lock.acquire(till=stop))
            _wait_until(lambda: _blocking.blocked_on(thread.ident) is not None)
            start = time.monotonic()
            stop.go()
            thread.join(10)
            woke_after = time.monotonic() - start
            # nothing left queued: a stale entry would swallow the wake-up of the next acquirer
            assert not lock._acquirers
        assert box == [("ok", False)]
        assert woke_after < 2  # woken by the signal itself (generous bound: loaded CI machines)

    def test_gets_the_lock_when_freed_before_till(self):
        lock = Lock("handed over")
        stop = Signal("never fired")
        lock.acquire()
        thread, box = _in_thread(lambda: (lock.acquire(till=stop), lock.release())[0])
        _wait_until(lambda: _blocking.blocked_on(thread.ident) is not None)
        lock.release()
        thread.join(10)
        assert box == [("ok", True)]

    def test_till_and_timeout_whichever_comes_first(self):
        lock = Lock("both")
        with lock:
            thread, box = _in_thread(lambda: lock.acquire(till=Signal("never"), timeout=0.05))
            thread.join(10)
        assert box == [("ok", False)]

    def test_fired_till_fails_at_once(self):
        lock = Lock("fired")
        fired = Signal()
        fired.go()
        with lock:
            thread, box = _in_thread(lambda: lock.acquire(till=fired))
            thread.join(10)
        assert box == [("ok", False)]

    def test_free_lock_is_taken_even_with_a_fired_till(self):
        lock = Lock("free")
        fired = Signal()
        fired.go()
        assert lock.acquire(till=fired)
        lock.release()

    def test_no_lost_update_under_contention(self):
        lock = Lock("counter")
        far = Till(seconds=60)
        count = [0]

        def work():
            for _ in range(2000):
                assert lock.acquire(till=far)
                try:
                    count[0] += 1
                finally:
                    lock.release()

        threads = [threading.Thread(target=work) for _ in range(6)]
        plain = [threading.Thread(target=lambda: [_plain_increment(lock, count) for _ in range(2000)]) for _ in range(2)]
        for t in threads + plain:
            t.start()
        for t in threads + plain:
            t.join(30)
        assert count[0] == 8 * 2000
        assert not lock._acquirers


def _plain_increment(lock, count):
    with lock:
        count[0] += 1


class TestAcquiring:
    def test_holds_the_lock_for_the_block(self):
        lock = Lock("block")
        with lock.acquiring(till=Till(seconds=5)) as held:
            assert held is lock
            assert lock._owner == threading.get_ident()
        assert lock._owner is None
        assert lock.acquire(timeout=0)
        lock.release()

    def test_raises_thread_timeout_when_cut_short(self):
        lock = Lock("contested")
        ran = []

        def try_it():
            with lock.acquiring(till=Till(seconds=0.05)):
                ran.append(True)

        with lock:
            thread, box = _in_thread(try_it)
            thread.join(10)
        assert ran == []
        kind, error = box[0]
        assert kind == "error" and isinstance(error, ThreadTimeout)
        assert isinstance(error, TimeoutError)
        assert "contested" in str(error)

    def test_bad_arguments_fail_at_the_call(self):
        lock = Lock("args")
        with pytest.raises(TypeError, match="till"):
            lock.acquiring(till=3)
        with pytest.raises(ValueError):
            lock.acquiring(timeout=-1)


class TestBlockedOn:
    def test_a_thread_blocked_on_a_lock_reports_it_by_name(self):
        lock = Lock("inventory")
        with lock:
            thread, _ = _in_thread(lambda: _plain_increment(lock, [0]))
            _wait_until(lambda: _blocking.blocked_on(thread.ident) is not None)
            kind, target, seconds = _blocking.blocked_on(thread.ident)
            assert (kind, target) == ("Lock", lock)
            assert seconds >= 0
            assert "Lock 'inventory'" in _blocking.describe_wait(thread.ident)
        thread.join(10)
        assert _blocking.blocked_on(thread.ident) is None

    def test_monitor_wait_is_reported_and_counted(self):
        _blocking.reset_statistics()
        lock = Lock("monitor")
        for _ in range(3):
            with lock:
                lock.wait(seconds=0.005)  # longer than the wait threshold (1 ms): counted
        totals = _blocking.statistics()["primitives"]["Lock.wait 'monitor'"]
        assert totals["waits"] == 3
        assert totals["seconds"] > 0

    def test_uncontended_lock_records_nothing(self):
        _blocking.reset_statistics()
        lock = Lock("quiet")
        for _ in range(10):
            with lock:
                pass
        assert "Lock 'quiet'" not in _blocking.statistics()["primitives"]


class TestDeadlock:
    def test_two_thread_lock_cycle_raises_instead_of_hanging(self):
        first, second = Lock("first"), Lock("second")
        holding = threading.Barrier(2, timeout=10)
        results = {}

        def take(mine, theirs, who):
            try:
                with mine:
                    holding.wait()
                    with theirs:
                        results[who] = "got both"
            except DeadlockError as error:
                results[who] = error

        a = threading.Thread(target=take, args=(first, second, "a"), name="worker-a")
        b = threading.Thread(target=take, args=(second, first, "b"), name="worker-b")
        a.start()
        b.start()
        a.join(20)
        b.join(20)
        assert not a.is_alive() and not b.is_alive()
        errors = [r for r in results.values() if isinstance(r, DeadlockError)]
        assert len(errors) == 1  # the wait closing the cycle raised; the other then got both locks
        assert sorted(r for r in results.values() if r == "got both") == ["got both"]
        message = str(errors[0])
        for name in ("first", "second", "worker-a", "worker-b"):
            assert name in message
        assert len(errors[0].cycle) == 2

    def test_bounded_waits_in_a_cycle_do_not_raise(self):
        first, second = Lock("one"), Lock("two")
        holding = threading.Barrier(2, timeout=10)
        results = []

        def take(mine, theirs):
            with mine:
                holding.wait()
                results.append(theirs.acquire(timeout=0.2))

        threads = [
            threading.Thread(target=take, args=(first, second)),
            threading.Thread(target=take, args=(second, first)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
        # no DeadlockError: the first to time out leaves its lock, which the other may then get
        assert len(results) == 2 and results[0] is False

    def test_waiting_on_a_lock_held_by_a_monitor_waiter_is_no_deadlock(self):
        lock, gate = Lock("monitor"), Lock("gate")
        ready = Signal()
        done = []

        def consumer():
            with gate:
                with lock:
                    ready.go()
                    lock.wait(seconds=10)  # releases lock, still holds gate
                done.append("consumer")

        thread = threading.Thread(target=consumer)
        thread.start()
        ready.wait(timeout=10)
        with lock:  # the consumer waits in Lock.wait (no owner edge): leaving wakes it
            pass
        thread.join(20)
        assert done == ["consumer"]

    def test_main_thread_joining_a_thread_that_wants_its_lock(self):
        # the main thread joins in short bounded slices (so Ctrl-C gets through); the join
        # around them is still an edge of the graph, so the cycle is found, not waited out
        code = """
import time
from mo_threads import DeadlockError, Lock, Thread

lock = Lock("held by main")

def worker(please_stop):
    time.sleep(0.2)  # let the main thread park in join first
    try:
        with lock:
            return "got it"
    except DeadlockError as error:
        return "refused: " + str(error)

with lock:
    print(Thread.run("worker", worker).join(), flush=True)
"""
        result = run_python(code, timeout=30)
        assert result.returncode == 0, result.stderr
        out = result.stdout
        assert out.startswith("refused: Deadlock:"), out
        assert "Lock 'held by main'" in out and "join 'worker'" in out


class TestTotals:
    def test_a_finished_thread_keeps_its_counts_and_reset_forgets_them(self):
        _blocking.reset_statistics()
        signal = Signal("totals probe")

        def body():
            for _ in range(3):
                Signal("totals probe").wait(timeout=0.005)  # over the 1 ms threshold: counted

        thread = threading.Thread(target=body, name="totals worker")
        thread.start()
        thread.join(10)
        del thread
        import gc

        gc.collect()
        stats = _blocking.statistics()
        assert stats["threads"]["totals worker"]["waits"] == 3
        assert stats["primitives"]["Signal 'totals probe'"]["waits"] == 3
        signal.wait(timeout=0.005)  # this thread's live totals
        assert _blocking.statistics()["primitives"]["Signal 'totals probe'"]["waits"] == 4
        _blocking.reset_statistics()
        stats = _blocking.statistics()
        assert "totals worker" not in stats["threads"]
        assert "Signal 'totals probe'" not in stats["primitives"]
        signal.wait(timeout=0.005)
        assert _blocking.statistics()["primitives"]["Signal 'totals probe'"]["waits"] == 1

    def test_threads_reusing_an_ident_count_under_their_own_names(self):
        _blocking.reset_statistics()

        def body():
            Signal("reuse probe").wait(timeout=0.005)

        for i in range(20):
            thread = threading.Thread(target=body, name="sequential " + str(i % 2))
            thread.start()
            thread.join(10)
        # (on Linux the OS hands idents out again: the case under test)
        stats = _blocking.statistics()
        assert stats["threads"]["sequential 0"]["waits"] == 10
        assert stats["threads"]["sequential 1"]["waits"] == 10
        assert stats["primitives"]["Signal 'reuse probe'"]["waits"] == 20

    def test_counted_waits_are_added_up_as_they_come(self):
        waits = 2 * _blocking.FOLD_AT + 5
        previous = _blocking.set_wait_threshold(0)
        try:
            _blocking.reset_statistics()
            target = Signal("fold probe")
            for _ in range(waits):
                _blocking.end(_blocking.begin("Signal", target, bounded=True))
            assert len(_blocking._counted) < _blocking.FOLD_AT  # the waits not added up yet stay few
            stats = _blocking.statistics()
            assert stats["primitives"]["Signal 'fold probe'"]["waits"] == waits
            assert not _blocking._counted
        finally:
            _blocking.set_wait_threshold(previous)
            _blocking.reset_statistics()
