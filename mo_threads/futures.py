"""`Future`: a value that one thread assigns and others wait for."""

from __future__ import annotations

import _thread
import concurrent.futures as _cf
from typing import Any, Generic, Optional, TypeVar

from mo_threads.signals import Signal
from mo_threads.threads import ThreadTimeout

__all__ = ("Future",)

_T = TypeVar("_T")
_UNSET: Any = object()
# guards settling (rare): assign() and fail() from two threads at once must not both win
_SETTLE_LOCK = _thread.allocate_lock()


class Future(Generic[_T]):
    """A value that is not ready yet: one `assign(value)` (or `fail(error)`), many `wait()`s.

    `done` is a Signal that fires once the future is settled (also known by
    upstream's name, `is_ready`). Settling twice raises `RuntimeError`.
    Generic in its value type for type checkers: `Future[int]()`.
    """

    __slots__ = ("done", "_value", "_failure")

    def __init__(self) -> None:
        self.done = Signal("future")
        self._value: Any = _UNSET
        self._failure: Optional[BaseException] = None

    @property
    def is_ready(self) -> Signal:
        """The `done` Signal (upstream's name)."""
        return self.done

    @property
    def value(self) -> Optional[_T]:
        """The assigned value, or None while not ready (or when it failed)."""
        value = self._value
        return None if value is _UNSET else value

    def assign(self, value: _T) -> Future[_T]:
        """Set the value and wake every waiter; raises RuntimeError if already settled."""
        self._settle(value, None)
        return self

    def fail(self, failure: BaseException) -> Future[_T]:
        """Settle with an exception: every `wait()` raises it."""
        if not isinstance(failure, BaseException):
            raise TypeError("Future.fail() expects an exception, not " + type(failure).__name__)
        self._settle(None, failure)
        return self

    def _settle(self, value: Any, failure: Optional[BaseException]) -> None:
        with _SETTLE_LOCK:
            if self._value is not _UNSET:
                raise RuntimeError("Future was already settled; assign() or fail() only once")
            self._value = value
            self._failure = failure
        self.done.go()

    def wait(self, till: Optional[Signal] = None, *, timeout: Optional[float] = None) -> _T:
        """Block until settled; return the value, or raise the failure given to `fail()`.

        Raises `THREAD_TIMEOUT` (a `TimeoutError`) when `till` fires, or
        `timeout` seconds pass, first.
        """
        if not self.done.wait(till=till, timeout=timeout):
            raise ThreadTimeout("Timeout waiting for a Future")
        if self._failure is not None:
            raise self._failure
        value: _T = self._value
        return value

    def to_concurrent(self) -> _cf.Future[_T]:
        """A `concurrent.futures.Future` that completes with this future's value or exception.

        It completes on the thread that settles this future (at once if settled
        already). Cancelling it does not affect this future.
        """
        output: _cf.Future[_T] = _cf.Future()
        output.set_running_or_notify_cancel()

        def copy() -> None:
            if output.done():
                return  # cancelled by its owner
            failure = self._failure
            try:
                if failure is not None:
                    output.set_exception(failure)
                else:
                    output.set_result(self._value)
            except _cf.InvalidStateError:
                pass  # cancelled meanwhile

        self.done.then(copy)
        return output

    @classmethod
    def from_concurrent(cls, future: _cf.Future[_T]) -> Future[_T]:
        """A Future settled when `future` (a `concurrent.futures.Future`) completes.

        Assigned its result, or failed with its exception; a cancelled `future`
        fails it with `concurrent.futures.CancelledError`. Works with any object
        having `add_done_callback`, `cancelled`, `exception` and `result`.
        """
        add_done_callback = getattr(future, "add_done_callback", None)
        if not callable(add_done_callback):
            raise TypeError("Future.from_concurrent() expects a future with add_done_callback(), not " + type(future).__name__)
        output: Future[_T] = cls()

        def copy(done: Any) -> None:
            if done.cancelled():
                output.fail(_cf.CancelledError("concurrent future was cancelled"))
                return
            failure = done.exception()
            if failure is not None:
                output.fail(failure)
            else:
                output.assign(done.result())

        add_done_callback(copy)
        return output

    def __repr__(self) -> str:
        if not self.done:
            return "<Future pending>"
        if self._failure is not None:
            return "<Future failed " + type(self._failure).__name__ + ">"
        return "<Future done>"
