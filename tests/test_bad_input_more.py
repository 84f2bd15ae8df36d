"""Bad input refused at the call (issue 21, points 16-18): each failed on the earlier main."""

from __future__ import annotations

import math
from typing import Any, Callable

import pytest

from mo_threads import Barrier, BoundedSemaphore, BusyLock, Latch, Semaphore, Till, register_thread, set_grace_period
from mo_threads._watchdog import SETTINGS
from mo_threads.testing import fake_clock


def refused(error: Any, call: Callable[[], Any], *words: str) -> None:
    with pytest.raises(error) as caught:
        call()
    for word in words:
        assert word in str(caught.value), str(caught.value)


class TestFakeClockAdvance:
    @pytest.mark.parametrize("bad", [math.nan, "5", None, True, math.inf])
    def test_refused_at_the_call_and_the_timer_lives_on(self, bad: Any) -> None:
        with fake_clock() as clock:
            refused((TypeError, ValueError), lambda: clock.advance(bad), "advance")
            later = Till(seconds=10)
            clock.advance(10)
            assert later.wait(timeout=10), "the timer thread must still fire Tills"


class TestNames:
    @pytest.mark.parametrize(
        "make",
        [
            lambda: Semaphore(1, name=3),
            lambda: BoundedSemaphore(1, name=3),
            lambda: Barrier(2, name=3),
            lambda: Latch(1, name=3),
            lambda: BusyLock(3),
        ],
        ids=["Semaphore", "BoundedSemaphore", "Barrier", "Latch", "BusyLock"],
    )
    def test_a_name_that_is_not_a_str(self, make: Callable[[], Any]) -> None:
        refused(TypeError, make, "name", "int")

    def test_register_thread_needs_a_callable(self) -> None:
        refused(TypeError, lambda: register_thread(3), "register_thread", "callable", "int")  # type: ignore[arg-type]


class TestGracePeriod:
    @pytest.mark.parametrize("bad", [0, -1, math.nan, 0.0])
    def test_zero_negative_and_nan_refused(self, bad: Any) -> None:
        before = SETTINGS.grace_period
        refused(ValueError, lambda: set_grace_period(bad), "grace period")
        assert SETTINGS.grace_period == before  # nothing half-done

    def test_a_positive_period_is_taken(self) -> None:
        before = SETTINGS.grace_period
        try:
            set_grace_period(0.5)
            assert SETTINGS.grace_period == 0.5
        finally:
            set_grace_period(before)


class TestCloseErrorTraceback:
    """Issue 21, point 19: past the end of a queue closed with an error, the error and its cause, no internal IndexError."""

    @staticmethod
    def producer_error(with_cause: bool) -> BaseException:
        if not with_cause:
            return ValueError("the producer failed, the root cause unknown")
        try:
            raise KeyError("the root cause")
        except KeyError as cause:
            error = ValueError("the producer failed")
            error.__cause__ = cause
            return error

    @pytest.mark.parametrize("with_cause", [True, False], ids=["with a cause", "alone"])
    @pytest.mark.parametrize("how", ["iterate", "pop", "pop_one", "get", "receive"])
    def test_the_traceback_shows_the_error_and_its_cause_only(self, how: str, with_cause: bool) -> None:
        import traceback

        from mo_threads import Channel, Queue

        error = self.producer_error(with_cause)
        if how == "receive":
            channel: Channel[int] = Channel("c", capacity=1)
            channel.close(error)
            take: Callable[[], Any] = channel.receive
        else:
            queue: Queue[int] = Queue("q")
            queue.add(1)
            queue.close(error)
            queue.pop()
            take = {"iterate": lambda: list(queue), "pop": queue.pop, "pop_one": queue.pop_one, "get": queue.get}[how]
        for _ in range(2):  # every consumer, every time
            with pytest.raises(ValueError) as caught:
                take()
            text = "".join(traceback.format_exception(caught.type, caught.value, caught.tb))
            assert "IndexError" not in text and "During handling" not in text, text
            assert "the root cause" in text and "the producer failed" in text, text
            assert error.__context__ is None  # as it was made
