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
