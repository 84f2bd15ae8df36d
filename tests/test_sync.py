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
        with pytest.raises(THREAD_TIMEOUT):
            barrier.wait(till=Till(seconds=0.05))
        other.join(10)
        assert len(errors) == 1 and isinstance(errors[0], BrokenBarrierError)

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
