"""Tests for mo_threads.sync: Semaphore, BoundedSemaphore, Barrier (with abort), Latch."""

from __future__ import annotations

import threading
import time
from typing import Any, List

import pytest

from mo_threads import THREAD_TIMEOUT, Signal, Thread, Till
from mo_threads.sync import Barrier, BoundedSemaphore, BrokenBarrierError, Latch, Semaphore
from tests.helpers import wait_true


def _start(target: Any, *args: Any) -> threading.Thread:
    thread = threading.Thread(target=target, args=args, daemon=True)
    thread.start()
    return thread


class TestSemaphore:
    def test_permits_are_counted(self) -> None:
        semaphore = Semaphore(2, name="pair")
        assert semaphore.acquire() and semaphore.acquire()
        assert semaphore.value == 0
        assert semaphore.acquire(blocking=False) is False
        semaphore.release()
        assert semaphore.acquire(timeout=0) is True

    def test_acquire_gives_up_on_till_and_takes_no_permit(self) -> None:
        semaphore = Semaphore(0)
        start = time.time()
        assert semaphore.acquire(till=Till(seconds=0.05)) is False
        assert time.time() - start >= 0.04
        assert semaphore.acquire(timeout=0.01) is False
        semaphore.release()
        assert semaphore.value == 1  # nobody left queued to swallow it
        assert semaphore.acquire(timeout=0)

    def test_release_wakes_waiter_in_order(self) -> None:
        semaphore = Semaphore(0)
        order: List[int] = []
        threads = []
        for i in range(3):
            threads.append(_start(lambda i=i: (semaphore.acquire(), order.append(i))))
            assert wait_true(lambda: len(semaphore._waiters) == i + 1)
        for n in range(3):
            semaphore.release()
            assert wait_true(lambda: len(order) == n + 1)
        for thread in threads:
            thread.join(10)
        assert order == [0, 1, 2]  # first come, first served
        assert semaphore.value == 0

    def test_at_most_n_inside(self) -> None:
        semaphore = Semaphore(3)
        inside, most = [0], [0]
        guard = threading.Lock()

        def work(please_stop: Signal) -> None:
            for _ in range(50):
                with semaphore:
                    with guard:
                        inside[0] += 1
                        most[0] = max(most[0], inside[0])
                    time.sleep(0.0005)
                    with guard:
                        inside[0] -= 1

        threads = [Thread.run("worker", work) for _ in range(8)]
        for thread in threads:
            thread.join()
        assert 1 <= most[0] <= 3
        assert semaphore.value == 3

    def test_please_stop_cuts_a_wait(self) -> None:
        semaphore = Semaphore(0)
        thread = Thread.run("waiter", lambda please_stop: semaphore.acquire(till=please_stop))
        assert wait_true(lambda: semaphore._waiters)
        thread.stop()
        assert thread.join(till=Till(seconds=10)) is False

    def test_stdlib_signature(self) -> None:
        # issue 23, point 2: acquire(False) and acquire(True, 5) raised TypeError ("till must be a Signal")
        semaphore = Semaphore(1, "stdlib")
        assert semaphore.acquire(False) is True
        assert semaphore.acquire(False) is False
        assert semaphore.acquire(0) is False  # 0 and 1 pass, as the stdlib takes them
        started = time.monotonic()
        assert semaphore.acquire(True, 0.05) is False
        assert time.monotonic() - started >= 0.05
        semaphore.release()
        assert semaphore.acquire(True, 5) is True
        semaphore.release()
        assert semaphore.acquire(blocking=True, timeout=5, till=Till(seconds=5)) is True
        semaphore.release()
        with semaphore as entered:
            assert entered is semaphore and semaphore.value == 0
        assert semaphore.value == 1  # released at the end of the block
        semaphore.release(2)
        assert semaphore.value == 3

    def test_bad_blocking_is_refused_at_the_call(self) -> None:
        semaphore = Semaphore(0, "picky")
        with pytest.raises(ValueError, match="can't specify a timeout for a non-blocking call.*'picky'"):
            semaphore.acquire(False, 1)
        with pytest.raises(ValueError, match="can't specify a till for a non-blocking call"):
            semaphore.acquire(False, till=Signal())
        with pytest.raises(TypeError, match="'picky'.*must be a bool, not a Signal: pass a Signal as till="):
            semaphore.acquire(Signal())  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="BoundedSemaphore.*must be a bool, not str"):
            BoundedSemaphore(1).acquire("yes")  # type: ignore[arg-type]
        assert semaphore.value == 0 and not semaphore._waiters  # nothing half-done

    def test_bad_arguments(self) -> None:
        with pytest.raises(ValueError):
            Semaphore(-1)
        with pytest.raises(TypeError):
            Semaphore("2")  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            Semaphore(1).acquire(till=1)  # type: ignore[arg-type]


class TestBoundedSemaphore:
    def test_over_release_raises(self) -> None:
        semaphore = BoundedSemaphore(1, name="one")
        with pytest.raises(ValueError, match="one"):
            semaphore.release()
        assert semaphore.acquire()
        semaphore.release()
        assert semaphore.value == 1

    def test_release_to_a_waiter_is_fine(self) -> None:
        semaphore = BoundedSemaphore(1)
        semaphore.acquire()
        got: List[bool] = []
        waiter = _start(lambda: got.append(semaphore.acquire(timeout=10)))
        assert wait_true(lambda: semaphore._waiters)
        semaphore.release()
        waiter.join(10)
        assert got == [True]
        semaphore.release()
        with pytest.raises(ValueError):
            semaphore.release()


class TestBarrier:
    def test_parties_wait_for_each_other(self) -> None:
        barrier = Barrier(3)
        indexes: List[int] = []
        threads = [_start(lambda: indexes.append(barrier.wait(timeout=10))) for _ in range(2)]
        assert wait_true(lambda: barrier.n_waiting == 2)
        assert indexes == []
        indexes.append(barrier.wait())
        for thread in threads:
            thread.join(10)
        assert sorted(indexes) == [0, 1, 2]
        assert barrier.n_waiting == 0  # ready for the next round

    def test_abort_wakes_all_parties(self) -> None:
        barrier = Barrier(5, name="start line")
        errors: List[BaseException] = []

        def party() -> None:
            try:
                barrier.wait(timeout=30)
            except BaseException as error:
                errors.append(error)

        threads = [_start(party) for _ in range(4)]
        assert wait_true(lambda: barrier.n_waiting == 4)
        start = time.time()
        barrier.abort()
        for thread in threads:
            thread.join(10)
        assert time.time() - start < 5
        assert len(errors) == 4 and all(isinstance(e, BrokenBarrierError) for e in errors)
        assert barrier.broken
        with pytest.raises(BrokenBarrierError):
            barrier.wait()
        barrier.reset()
        assert not barrier.broken

    def test_timeout_raises_and_breaks_for_the_others(self) -> None:
        barrier = Barrier(3)
        errors: List[BaseException] = []
        other = _start(lambda: errors.append(_catch(lambda: barrier.wait(timeout=30))))
        assert wait_true(lambda: barrier.n_waiting == 1)
        with pytest.raises(THREAD_TIMEOUT) as info:
            barrier.wait(till=Till(seconds=0.05))
        assert isinstance(info.value, BrokenBarrierError)  # what threading.Barrier raises then
        other.join(10)
        assert len(errors) == 1 and isinstance(errors[0], BrokenBarrierError)
        assert barrier.broken

    def test_reset_breaks_waiters_then_works_again(self) -> None:
        barrier = Barrier(2)
        errors: List[Any] = []
        waiter = _start(lambda: errors.append(_catch(lambda: barrier.wait(timeout=30))))
        assert wait_true(lambda: barrier.n_waiting == 1)
        barrier.reset()
        waiter.join(10)
        assert isinstance(errors[0], BrokenBarrierError)
        results: List[int] = []
        waiter = _start(lambda: results.append(barrier.wait(timeout=10)))
        results.append(barrier.wait(timeout=10))
        waiter.join(10)
        assert sorted(results) == [0, 1]


class TestBarrierStdlibShape:
    """`Barrier(parties, action=None, timeout=None)` and `wait(timeout=None)` (issue 23, point 2)."""

    def test_action_runs_once_per_round_before_anyone_leaves(self) -> None:
        calls: List[int] = []
        seen: List[int] = []
        barrier = Barrier(3, lambda: calls.append(threading.get_ident()))
        threads = [_start(lambda: (barrier.wait(10), seen.append(len(calls)))) for _ in range(2)]
        assert wait_true(lambda: barrier.n_waiting == 2)
        assert barrier.wait(10) == 2  # the last to arrive ...
        assert calls == [threading.get_ident()]  # ... is the one that called the action
        for thread in threads:
            thread.join(10)
        assert seen == [1, 1]

    def test_failing_action_breaks_the_barrier(self) -> None:
        def action() -> None:
            raise ZeroDivisionError("action")

        barrier = Barrier(2, action, name="failing")
        errors: List[Any] = []
        other = _start(lambda: errors.append(_catch(lambda: barrier.wait(10))))
        assert wait_true(lambda: barrier.n_waiting == 1)
        with pytest.raises(ZeroDivisionError):
            barrier.wait(10)  # the last party gets the action's error
        other.join(10)
        assert isinstance(errors[0], BrokenBarrierError) and barrier.broken
        barrier.reset()
        assert not barrier.broken

    def test_timeout_while_the_action_runs_still_passes(self) -> None:
        # the round was complete when the waiter's timeout came: it passes, as in the stdlib
        barrier = Barrier(2, lambda: time.sleep(0.3))
        got: List[Any] = []
        other = _start(lambda: got.append(_catch(lambda: barrier.wait(0.1))))
        assert wait_true(lambda: barrier.n_waiting == 1)
        assert barrier.wait() == 1
        other.join(10)
        assert got == [0] and not barrier.broken

    def test_default_timeout(self) -> None:
        barrier = Barrier(2, timeout=0.05)
        started = time.monotonic()
        with pytest.raises(BrokenBarrierError) as info:
            barrier.wait()
        assert time.monotonic() - started >= 0.05
        assert isinstance(info.value, THREAD_TIMEOUT) and barrier.broken
        barrier.reset()
        with pytest.raises(THREAD_TIMEOUT):
            barrier.wait(till=Till(seconds=0.02))  # till= and the default timeout: the first cuts it short

    def test_name_in_the_action_place_is_a_name(self) -> None:
        barrier = Barrier(2, "meeting point")
        assert barrier.name == "meeting point"
        assert Barrier(parties=2, action=None, timeout=None, name="all keywords").name == "all keywords"

    def test_bad_arguments(self) -> None:
        with pytest.raises(TypeError, match="'bad'.*action must be callable, not int"):
            Barrier(2, 3, name="bad")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="timeout"):
            Barrier(2, timeout=-1)
        with pytest.raises(TypeError, match="timeout"):
            Barrier(2, timeout="1")  # type: ignore[arg-type]
        barrier = Barrier(2)
        with pytest.raises(TypeError, match="till"):
            barrier.wait(Signal())  # type: ignore[arg-type]
        assert barrier.n_waiting == 0 and not barrier.broken


def _catch(call: Any) -> Any:
    try:
        return call()
    except BaseException as error:
        return error


class TestLatch:
    def test_wait_until_counted_down(self) -> None:
        latch = Latch(3)
        assert latch.wait(timeout=0.01) is False
        done: List[bool] = []
        waiter = _start(lambda: done.append(latch.wait(timeout=10)))
        latch.count_down()
        latch.count_down()
        time.sleep(0.02)
        assert done == [] and latch.count == 1
        latch.count_down()
        waiter.join(10)
        assert done == [True] and latch.done
        latch.count_down()  # past zero: nothing
        assert latch.count == 0 and latch.wait()

    def test_zero_is_done_and_till_cuts_short(self) -> None:
        assert Latch(0).wait()
        assert Latch(1).wait(till=Till(seconds=0.02)) is False
        with pytest.raises(ValueError):
            Latch(-1)
