"""Tests for mo_threads.futures.Future."""

from __future__ import annotations

import threading
import time
from typing import Any, List

import pytest

from mo_threads.futures import Future
from mo_threads.signals import Signal
from mo_threads.threads import THREAD_TIMEOUT
from mo_threads.till import Till


class TestFuture:
    def test_assign_then_wait(self) -> None:
        future = Future()
        assert not future.done and not future.is_ready
        value = {"answer": 42}
        assert future.assign(value) is future
        assert future.done and future.is_ready is future.done
        assert future.wait() is value  # by reference
        assert future.value is value

    def test_wait_blocks_until_assigned(self) -> None:
        future = Future()
        got: List[Any] = []
        waiter = threading.Thread(target=lambda: got.append(future.wait()))
        waiter.start()
        time.sleep(0.05)
        assert got == []
        future.assign("late")
        waiter.join(10)
        assert got == ["late"]

    def test_wait_till_raises_timeout(self) -> None:
        future = Future()
        start = time.time()
        with pytest.raises(THREAD_TIMEOUT):
            future.wait(till=Till(seconds=0.05))
        assert 0.04 <= time.time() - start < 3
        with pytest.raises(TimeoutError):
            future.wait(timeout=0.01)
        assert future.value is None

    def test_fail_makes_wait_raise(self) -> None:
        future = Future()
        problem = ValueError("bad")
        future.fail(problem)
        assert future.done
        with pytest.raises(ValueError) as info:
            future.wait()
        assert info.value is problem
        assert "failed" in repr(future)

    def test_settle_only_once(self) -> None:
        future = Future().assign(1)
        with pytest.raises(RuntimeError):
            future.assign(2)
        with pytest.raises(RuntimeError):
            future.fail(ValueError("late"))
        assert future.wait() == 1

    def test_bad_input(self) -> None:
        future = Future()
        with pytest.raises(TypeError):
            future.fail("not an exception")  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            future.wait(till=0.5)  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            future.wait(timeout=-1)
        assert not future.done
        done = Signal()
        done.go()
        with pytest.raises(THREAD_TIMEOUT):
            future.wait(till=done)

    def test_failure_is_raised_by_a_waiter_blocked_before_it(self) -> None:
        future: Future[int] = Future("result")
        got: List[BaseException] = []

        def waiter() -> None:
            try:
                future.wait(timeout=30)
            except KeyError as error:
                got.append(error)

        thread = threading.Thread(target=waiter)
        thread.start()
        time.sleep(0.05)
        problem = KeyError("missing")
        future.fail(problem)
        thread.join(10)
        assert got == [problem]
        assert "'result'" in repr(future)


def _later(seconds: float, action: Any) -> threading.Thread:
    thread = threading.Thread(target=lambda: (time.sleep(seconds), action()))
    thread.start()
    return thread


class TestThen:
    def test_maps_the_value_and_chains(self) -> None:
        future: Future[str] = Future()
        doubled = future.then(int).then(lambda n: n * 2)
        assert not doubled.done
        future.assign("21")
        assert doubled.wait(timeout=5) == 42

    def test_already_settled_runs_at_once(self) -> None:
        assert Future().assign(3).then(lambda n: n + 1).wait(timeout=0) == 4

    def test_failure_propagates_without_calling_fn(self) -> None:
        future: Future[int] = Future()
        calls: List[int] = []
        problem = ValueError("upstream failed")
        after = future.then(lambda n: calls.append(n)).then(lambda _: "never")
        future.fail(problem)
        with pytest.raises(ValueError) as info:
            after.wait(timeout=5)
        assert info.value is problem and calls == []

    def test_fn_raising_fails_the_new_future(self) -> None:
        future: Future[int] = Future()
        after = future.then(lambda n: 1 // n)
        thread = _later(0.02, lambda: future.assign(0))
        with pytest.raises(ZeroDivisionError):
            after.wait(timeout=10)
        thread.join(10)
        assert future.wait() == 0  # the source is unaffected

    def test_bad_input(self) -> None:
        with pytest.raises(TypeError):
            Future().then("not callable")  # type: ignore[arg-type]


class TestAllOf:
    def test_values_in_argument_order(self) -> None:
        a, b, c = Future(), Future(), Future()
        both = Future.all_of(a, b, c)
        c.assign("c")
        a.assign("a")
        assert not both.done
        thread = _later(0.02, lambda: b.assign("b"))
        assert both.wait(timeout=10) == ["a", "b", "c"]
        thread.join(10)
        assert Future.all_of().wait(timeout=0) == []

    def test_first_failure_fails_it_at_once(self) -> None:
        a, b = Future(), Future()
        both = Future.all_of(a, b)
        problem = OSError("b broke")
        b.fail(problem)
        with pytest.raises(OSError) as info:
            both.wait(timeout=5)  # a is still pending
        assert info.value is problem
        a.fail(ValueError("later"))  # a second failure changes nothing
        a2 = Future()
        with pytest.raises(OSError):
            Future.all_of(a2, b).wait(timeout=5)

    def test_till_cuts_the_wait_short(self) -> None:
        pending = Future.all_of(Future().assign(1), Future())
        with pytest.raises(THREAD_TIMEOUT):
            pending.wait(till=Till(seconds=0.05))
        with pytest.raises(TypeError):
            Future.all_of(Future(), "not a future")  # type: ignore[arg-type]


class TestAnyOf:
    def test_first_value_wins(self) -> None:
        a, b = Future(), Future()
        first = Future.any_of(a, b)
        thread = _later(0.02, lambda: b.assign("b"))
        assert first.wait(timeout=10) == "b"
        thread.join(10)
        a.assign("a")  # later values change nothing
        assert first.wait() == "b"

    def test_failures_are_ignored_while_one_may_succeed(self) -> None:
        a, b = Future(), Future()
        first = Future.any_of(a, b)
        a.fail(ValueError("a broke"))
        assert not first.done
        b.assign(2)
        assert first.wait(timeout=5) == 2

    def test_fails_when_all_fail_with_every_failure(self) -> None:
        from mo_threads.futures import AllFailed

        a, b = Future(), Future()
        first = Future.any_of(a, b)
        problem_b, problem_a = OSError("b"), ValueError("a")
        b.fail(problem_b)
        a.fail(problem_a)
        with pytest.raises(AllFailed) as info:
            first.wait(timeout=5)
        assert list(info.value.exceptions) == [problem_a, problem_b]  # argument order

    def test_till_cuts_the_wait_short_and_bad_input(self) -> None:
        with pytest.raises(THREAD_TIMEOUT):
            Future.any_of(Future(), Future()).wait(till=Till(seconds=0.05))
        with pytest.raises(ValueError):
            Future.any_of()
        with pytest.raises(TypeError):
            Future.any_of(Signal())  # type: ignore[arg-type]
