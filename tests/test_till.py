"""The Till contract (DESIGN.md "Signals and time", issue 2), point by point."""

from __future__ import annotations

import gc
import math
import os
import random
import threading
import time
import weakref

import pytest

from mo_threads import Signal, Till
from mo_threads import till as till_module
from tests.helpers import cpython_only, run_python, wait_true

LATE = 0.25  # generous: a correctness bound, not a speed assertion


@pytest.fixture
def fresh_timer():
    """An empty heap: fire whatever other tests left pending, accept timers again."""
    till_module.reset()
    yield
    till_module.reset()


def _start(target, *args) -> threading.Thread:
    thread = threading.Thread(target=target, args=args, daemon=True)
    thread.start()
    return thread


class TestTillFiring:
    def test_wait_returns_true_after_the_deadline(self):
        started = time.monotonic()
        till = Till(seconds=0.05)
        assert not till
        assert till.wait() is True
        assert time.monotonic() >= started + 0.05
        assert till

    def test_never_early_always_soon(self):
        fired = {}
        tills = []
        for i in range(200):
            seconds = random.uniform(0.001, 0.05)
            till = Till(seconds=seconds)
            till.then(lambda i=i: fired.__setitem__(i, time.monotonic()))
            tills.append(till)
        for till in tills:
            assert till.wait(timeout=10)
        assert len(fired) == 200
        for i, till in enumerate(tills):
            deadline = till.monotonic_deadline  # the monotonic timeline every deadline lives on
            assert fired[i] >= deadline, "fired %.6fs early" % (deadline - fired[i])
            assert fired[i] - deadline < LATE

    def test_wait_never_returns_before_the_deadline(self):
        for seconds in (0.001, 0.005, 0.02):
            started = time.monotonic()
            Till(seconds=seconds).wait()
            assert time.monotonic() >= started + seconds

    def test_till_timestamp(self):
        deadline = time.time() + 0.05
        till = Till(till=deadline)
        # converted to the monotonic timeline at creation, and back when read: equal within rounding
        assert abs(till.deadline - deadline) < 1e-3
        assert till.wait(timeout=10) is True
        assert time.time() >= deadline

    def test_fires_in_deadline_order(self, fresh_timer):
        order = []
        deadlines = []
        tills = []
        now = time.time()
        for i in range(300):
            deadline = now + 0.3 + random.uniform(0, 0.1)  # all made before the first is due
            deadlines.append(deadline)
            till = Till(till=deadline)
            till.then(lambda d=deadline: order.append(d))
            tills.append(till)
        for till in tills:
            till.wait(timeout=10)
        assert order == sorted(deadlines)

    def test_earlier_timer_rings_the_bell(self, fresh_timer):
        late = Till(seconds=30)
        time.sleep(0.05)  # the timer thread is now asleep towards `late`
        started = time.monotonic()
        early = Till(seconds=0.05)
        assert early.wait(timeout=10) is True
        elapsed = time.monotonic() - started
        assert 0.05 <= elapsed < 0.05 + LATE
        assert not late

    def test_repeated_earlier_timers(self, fresh_timer):
        # each new timer is earlier than the last: every one rings the bell
        tills = [Till(seconds=s) for s in (2.0, 1.0, 0.5, 0.2, 0.1, 0.05)]
        started = time.monotonic()
        assert tills[-1].wait(timeout=10)
        assert time.monotonic() - started < 0.05 + LATE
        assert not tills[0]

    def test_concurrent_timers_from_many_threads(self, fresh_timer):
        failures = []
        fired = [0]
        count = threading.Lock()

        def fire():
            with count:
                fired[0] += 1

        def make():
            try:
                for _ in range(300):
                    Till(seconds=random.uniform(0, 0.003)).then(fire)
            except BaseException as cause:
                failures.append(cause)

        threads = [_start(make) for _ in range(8)]
        for thread in threads:
            thread.join(30)
        assert failures == []
        assert wait_true(lambda: fired[0] == 2400, timeout=10), fired[0]

    def test_bell_rung_after_a_timed_out_sleep(self):
        # a private timer, driven into the gap between its sleep timing out and it
        # taking its lock: a ring there must not leave the bell released, or the next
        # ring fails with "release unlocked lock"
        timer = till_module._Timer()
        firing, unblock = threading.Event(), threading.Event()
        first, second = Signal("first"), Signal("second")
        first.then(lambda: (firing.set(), unblock.wait(10)))
        try:
            timer.add(first, time.monotonic() + 0.05)
            with timer._lock:
                time.sleep(0.2)  # the timer thread's sleep times out; it waits for the lock
                timer._ring()  # a wake-up arrives in that gap
            assert firing.wait(10)  # the timer thread now fires `first`, outside its lock
            timer.add(second, time.monotonic() + 0.01)  # earlier than anything: rings the bell
            unblock.set()
            assert second.wait(timeout=10)
        finally:
            unblock.set()
            timer.shutdown()

    def test_slow_callback_does_not_delay_later_timers_further(self, fresh_timer):
        # the timer thread runs callbacks; after a slow one it must not sleep the
        # delay it computed before running it
        Till(seconds=0.02).then(lambda: time.sleep(0.5))
        later = Till(seconds=0.6)
        assert later.wait(timeout=10)
        assert time.monotonic() - later.monotonic_deadline < LATE

    def test_infinite_deadline_does_not_block_others(self):
        forever = Till(seconds=math.inf)
        assert not forever
        assert Till(seconds=0.02).wait(timeout=10)
        assert not forever

    def test_then_callbacks_run_on_the_timer_thread(self):
        names = []
        Till(seconds=0.01).then(lambda: names.append(threading.current_thread().name)).wait()
        assert wait_true(lambda: names)
        assert names == ["mo-threads timer"]

    def test_failing_callback_does_not_stop_the_timer(self):
        errors = []
        Till(seconds=0.01).then(lambda: 1 / 0, error=errors.append).wait()
        assert wait_true(lambda: errors)
        assert Till(seconds=0.01).wait(timeout=10)


class TestTillDoneAtOnce:
    def test_zero_seconds(self):
        assert Till(seconds=0)
        assert Till(seconds=0).wait() is True

    def test_negative_seconds(self):
        assert Till(seconds=-1)
        assert Till(seconds=-0.001)

    def test_past_timestamp(self):
        assert Till(till=time.time() - 10)
        assert Till(till=0)

    def test_done_till_runs_then_at_once(self):
        calls = []
        Till(seconds=0).then(lambda: calls.append(threading.get_ident()))
        assert calls == [threading.get_ident()]


class TestTillLifetime:
    def test_unreferenced_till_with_then_fires(self):
        fired = threading.Event()
        Till(seconds=0.05).then(fired.set)
        gc.collect()
        assert fired.wait(10)

    def test_unreferenced_combination_with_till_fires(self):
        # the callback is on a combination of a Till and a signal nobody fires
        fired = threading.Event()
        (Till(seconds=0.05) | Signal("never fired")).then(fired.set)
        gc.collect()
        assert fired.wait(10)

    def test_fired_combination_lets_go_of_its_till(self, fresh_timer):
        # (x | Till(seconds=60)).then(...) in a loop, x firing first: the timers must
        # not stay held for their whole minute
        for _ in range(200):
            x = Signal("x")
            (x | Till(seconds=60)).then(lambda: None)
            x.go()
        gc.collect()
        assert len(till_module._TIMER._strong) == 0

    def test_till_with_own_callback_stays_held(self, fresh_timer):
        fired = threading.Event()
        x = Signal("x")
        till = Till(seconds=0.05)
        till.then(fired.set)  # its own callback
        (x | till).then(lambda: None)  # and a combination's
        del till
        x.go()  # the combination lets go, the Till's own callback still holds it
        gc.collect()
        assert fired.wait(10)

    def test_remove_then_releases_the_till(self, fresh_timer):
        # a cancelled callback (and what it references) is not kept until the deadline
        class Owner:
            def kill(self):
                pass

        owner = Owner()
        gone = weakref.ref(owner)
        till = Till(seconds=60)
        till.then(owner.kill)
        till.then(owner.kill)
        assert till.remove_then(owner.kill)
        assert till in till_module._TIMER._strong  # one callback left: still held
        assert till.remove_then(owner.kill)
        assert not till.remove_then(owner.kill)
        assert till not in till_module._TIMER._strong
        del owner, till
        gc.collect()
        assert gone() is None

    def test_dropped_till_is_collectable(self):
        till = Till(seconds=60)
        gone = weakref.ref(till)
        del till
        gc.collect()
        assert gone() is None

    @cpython_only("a dropped Till leaves the timer's books when it is freed: at once by CPython's reference counting")
    def test_dropped_tills_do_not_pile_up_in_the_heap(self, fresh_timer):
        # Till(seconds=60) made per call and dropped (a timeout per pop): the timer's
        # books must not keep an entry for each until its deadline
        kept = [Till(seconds=60) for _ in range(100)]
        for _ in range(50_000):
            Till(seconds=60)
        pending = till_module.timer_statistics()["pending"]
        assert pending < 5000, pending
        assert not any(kept)
        early = Till(seconds=0.02)
        assert early.wait(timeout=10)
        till_module.shutdown()
        assert all(kept)  # the live ones were kept through every purge

    def test_fired_till_with_then_is_released(self):
        till = Till(seconds=0.01)
        till.then(lambda: None)
        till.wait()
        gone = weakref.ref(till)
        del till
        assert wait_true(lambda: (gc.collect(), gone())[1] is None)  # (PyPy's collect() returns None)

    def test_then_after_fire_does_not_keep_it(self):
        till = Till(seconds=0.01)
        till.wait()
        till.then(lambda: None)
        assert till not in till_module._TIMER._strong


class TestTillShutdown:
    def test_shutdown_fires_every_pending_till(self, fresh_timer):
        pending = [Till(seconds=60) for _ in range(10)]
        calls = []
        Till(seconds=60).then(lambda: calls.append(1))
        woke = []
        waiter = _start(lambda: woke.append(pending[0].wait()))
        time.sleep(0.02)
        started = time.monotonic()
        till_module.shutdown()
        waiter.join(10)
        assert time.monotonic() - started < 5
        assert all(pending)
        assert calls == [1]
        assert woke == [True]
        assert not till_module.timer_statistics()["running"]
        # after shutdown, a new Till is done at once so no wait can hang
        assert Till(seconds=60)

    def test_reset_makes_timers_wait_again(self, fresh_timer):
        till_module.shutdown()
        assert Till(seconds=60)
        till_module.reset()
        started = time.monotonic()
        till = Till(seconds=0.05)
        assert not till
        assert till.wait(timeout=10)
        assert time.monotonic() >= started + 0.05
        assert till_module.timer_statistics()["running"]

    def test_timer_thread_stops_on_shutdown(self, fresh_timer):
        Till(seconds=0.01).wait()
        assert [t for t in threading.enumerate() if t.name == "mo-threads timer"]
        till_module.shutdown()
        assert not [t for t in threading.enumerate() if t.name == "mo-threads timer"]

    def test_thread_that_can_not_start(self, monkeypatch):
        # out of threads: the Till is refused with a clear error, and the timer is
        # left able to start on the next Till
        timer = till_module._Timer()

        def refuse(self):
            raise RuntimeError("can't start new thread")

        first, second = Signal("first"), Signal("second")
        try:
            with monkeypatch.context() as patch:
                patch.setattr(threading.Thread, "start", refuse)
                with pytest.raises(RuntimeError, match="timer thread"):
                    timer.add(first, time.monotonic() + 0.05)
            assert timer._thread is None
            timer.add(second, time.monotonic() + 0.05)
            assert second.wait(timeout=10)
            assert first.wait(timeout=10)  # was queued all along
        finally:
            timer.shutdown()

    def test_thread_that_can_not_start_at_exit(self, monkeypatch):
        # the interpreter is exiting and refuses new threads: fire at once, as at shutdown
        timer = till_module._Timer()

        def refuse(self):
            raise RuntimeError("can't create new thread at interpreter shutdown")

        class Ended:
            def is_alive(self):
                return False

        pending = Signal("pending")
        with monkeypatch.context() as patch:
            patch.setattr(threading.Thread, "start", refuse)
            patch.setattr(till_module.threading, "main_thread", lambda: Ended())
            timer.add(pending, time.monotonic() + 60)
        assert pending
        late = Signal("late")
        timer.add(late, time.monotonic() + 60)
        assert late  # closed: done at once

    def test_lazy_start_in_a_fresh_process(self):
        result = run_python(
            """
            import threading
            import mo_threads
            from mo_threads import Till
            print("after import", sorted(t.name for t in threading.enumerate()))
            Till(seconds=0.01).wait()
            Till(seconds=0.01).wait()
            Till(seconds=60)
            names = [t.name for t in threading.enumerate()]
            print("timers", names.count("mo-threads timer"))
            print("threads", len(names))
            """,
            timeout=30,
        )
        assert result.returncode == 0, result.stderr
        assert "after import ['MainThread']" in result.stdout
        assert "timers 1" in result.stdout
        assert "threads 2" in result.stdout

    @pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
    def test_timers_work_in_a_forked_child(self):
        # the child has no timer thread, and the locks may have been held at the fork
        # by threads that do not exist there: Tills (old and new) and Signals still work
        result = run_python(
            """
            import os, signal, threading, time, warnings
            warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads running
            from mo_threads import Signal, Till
            from mo_threads import signals, till

            Till(seconds=0.01).wait()  # the timer thread runs in the parent
            before = Till(seconds=0.3)  # pending across the fork
            held, release = threading.Event(), threading.Event()

            def hold():
                with signals._STATE_LOCK, till._TIMER._lock:
                    held.set()
                    release.wait(10)

            holder = threading.Thread(target=hold)
            holder.start()
            held.wait(10)
            pid = os.fork()
            if pid == 0:
                fired = []
                sig = Signal("child")
                sig.then(lambda: fired.append(1))
                sig.go()
                ok = fired == [1] and Till(seconds=0.05).wait(timeout=5) and before.wait(timeout=5)
                os._exit(0 if ok else 3)
            release.set()
            holder.join()
            deadline = time.time() + 15
            while time.time() < deadline:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    print("child exit", os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") else status >> 8)
                    break
                time.sleep(0.01)
            else:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                print("child hung")
            """,
            timeout=40,
        )
        assert "child exit 0" in result.stdout, result.stdout + result.stderr

    def test_pending_till_does_not_block_exit(self):
        result = run_python(
            """
            from mo_threads import Till
            Till(seconds=600).then(lambda: None)
            print("bye")
            """,
            timeout=30,
        )
        assert result.returncode == 0, result.stderr
        assert "bye" in result.stdout


class TestTillDescription:
    def test_name_repr_deadline_remaining(self):
        till = Till(seconds=30)
        assert "Till(" in till.name
        assert "Till(" in repr(till)
        assert 29 < till.remaining() <= 30
        assert abs(till.deadline - (time.time() + 30)) < 1
        assert Till(seconds=0).remaining() == 0.0

    def test_is_a_signal(self):
        till = Till(seconds=30)
        assert isinstance(till, Signal)
        assert (till | False) is till
        assert not hasattr(till, "__dict__")


class TestTillBadInput:
    def test_non_numeric(self):
        with pytest.raises(TypeError, match="seconds"):
            Till(seconds="1")
        with pytest.raises(TypeError):
            Till(till="tomorrow")
        with pytest.raises(TypeError):
            Till(seconds=True)
        with pytest.raises(TypeError):
            Till(seconds=None, till=None)

    def test_nothing_given(self):
        with pytest.raises(TypeError):
            Till()

    def test_both_given(self):
        with pytest.raises(TypeError):
            Till(till=time.time(), seconds=1)

    def test_negative_timestamp(self):
        with pytest.raises(ValueError):
            Till(till=-5)

    def test_nan(self):
        with pytest.raises(ValueError):
            Till(seconds=float("nan"))
        with pytest.raises(ValueError):
            Till(till=float("nan"))

    def test_error_leaves_nothing_pending(self, fresh_timer):
        before = till_module.timer_statistics()["pending"]
        with pytest.raises(TypeError):
            Till(seconds="1")
        assert till_module.timer_statistics()["pending"] == before
