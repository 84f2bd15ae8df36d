"""Tests for the concurrent.futures bridges: Signal.from_future, Future.to_concurrent / from_concurrent."""

from __future__ import annotations

import concurrent.futures
import threading
import time
from typing import Any, Callable, List

import pytest

from mo_threads.futures import Future
from mo_threads.signals import Signal


class _DuckFuture:
    """A future of another library: only `add_done_callback` and the result methods."""

    def __init__(self) -> None:
        self._callbacks: List[Callable[[Any], Any]] = []
        self._result: Any = None

    def add_done_callback(self, fn: Callable[[Any], Any]) -> None:
        self._callbacks.append(fn)

    def cancelled(self) -> bool:
        return False

    def exception(self) -> Any:
        return None

    def result(self) -> Any:
        return self._result

    def finish(self, value: Any) -> None:
        self._result = value
        for fn in self._callbacks:
            fn(self)


class TestSignalFromFuture:
    def test_fires_when_executor_future_completes(self) -> None:
        release = threading.Event()
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as executor:
            cf = executor.submit(lambda: release.wait(10) and 42)
            signal = Signal.from_future(cf)
            assert isinstance(signal, Signal)
            assert not signal
            release.set()
            assert signal.wait(timeout=10)
            assert cf.result() == 42

    def test_fires_on_failure_and_when_already_done(self) -> None:
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as executor:
            cf = executor.submit(lambda: 1 / 0)
            concurrent.futures.wait([cf], timeout=10)
            signal = Signal.from_future(cf)
            assert signal  # done already: the callback ran at once
            assert isinstance(cf.exception(), ZeroDivisionError)

    def test_fires_on_cancel(self) -> None:
        cf: concurrent.futures.Future[int] = concurrent.futures.Future()
        signal = Signal.from_future(cf, name="cancel me")
        assert signal.name == "cancel me"
        assert cf.cancel()
        assert signal

    def test_duck_typed_future(self) -> None:
        duck = _DuckFuture()
        signal = Signal.from_future(duck)
        assert not signal
        duck.finish("x")
        assert signal

    def test_refuses_non_future(self) -> None:
        with pytest.raises(TypeError, match="add_done_callback"):
            Signal.from_future(42)


class TestFutureToConcurrent:
    def test_value_reaches_stdlib_waiters(self) -> None:
        future: Future[int] = Future()
        cf = future.to_concurrent()
        assert isinstance(cf, concurrent.futures.Future)
        assert not cf.done()
        threading.Timer(0.05, future.assign, (7,)).start()
        done, _ = concurrent.futures.wait([cf], timeout=10)
        assert cf in done
        assert cf.result() == 7

    def test_failure_reaches_stdlib_waiters(self) -> None:
        future: Future[int] = Future()
        cf = future.to_concurrent()
        error = ValueError("bad")
        future.fail(error)
        assert cf.exception(timeout=10) is error

    def test_already_settled(self) -> None:
        future: Future[str] = Future()
        future.assign("now")
        assert future.to_concurrent().result(timeout=0) == "now"

    def test_works_with_as_completed(self) -> None:
        futures: List[Future[int]] = [Future() for _ in range(3)]
        cfs = [f.to_concurrent() for f in futures]
        for i, f in enumerate(reversed(futures)):
            threading.Timer(0.01 * (i + 1), f.assign, (i,)).start()
        results = sorted(cf.result() for cf in concurrent.futures.as_completed(cfs, timeout=10))
        assert results == [0, 1, 2]


class TestFutureFromConcurrent:
    def test_executor_result(self) -> None:
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as executor:
            future = Future.from_concurrent(executor.submit(lambda: time.sleep(0.05) or "slept"))
            assert future.wait(timeout=10) == "slept"
            assert future.done

    def test_executor_failure(self) -> None:
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as executor:
            future = Future.from_concurrent(executor.submit(lambda: 1 / 0))
            with pytest.raises(ZeroDivisionError):
                future.wait(timeout=10)

    def test_cancelled(self) -> None:
        cf: concurrent.futures.Future[int] = concurrent.futures.Future()
        future = Future.from_concurrent(cf)
        cf.cancel()
        with pytest.raises(concurrent.futures.CancelledError):
            future.wait(timeout=10)

    def test_round_trip(self) -> None:
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as executor:
            cf = executor.submit(pow, 2, 10)
            back = Future.from_concurrent(cf).to_concurrent()
            assert back.result(timeout=10) == 1024

    def test_refuses_non_future(self) -> None:
        with pytest.raises(TypeError, match="add_done_callback"):
            Future.from_concurrent("nope")  # type: ignore[arg-type]
