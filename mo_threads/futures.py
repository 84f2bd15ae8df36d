"""`Future`: a value that one thread assigns and others wait for."""

from __future__ import annotations

import _thread
from typing import Any, Optional

from mo_threads.signals import Signal
from mo_threads.threads import ThreadTimeout

__all__ = ("Future",)

_UNSET: Any = object()
# guards settling (rare): assign() and fail() from two threads at once must not both win
_SETTLE_LOCK = _thread.allocate_lock()


class Future:
    """A value that is not ready yet: one `assign(value)` (or `fail(error)`), many `wait()`s.

    `done` is a Signal that fires once the future is settled (also known by
    upstream's name, `is_ready`). Settling twice raises `RuntimeError`.
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
    def value(self) -> Any:
        """The assigned value, or None while not ready (or when it failed)."""
        value = self._value
        return None if value is _UNSET else value

    def assign(self, value: Any) -> Future:
        """Set the value and wake every waiter; raises RuntimeError if already settled."""
        self._settle(value, None)
        return self

    def fail(self, failure: BaseException) -> Future:
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

    def wait(self, till: Optional[Signal] = None, *, timeout: Optional[float] = None) -> Any:
        """Block until settled; return the value, or raise the failure given to `fail()`.

        Raises `THREAD_TIMEOUT` (a `TimeoutError`) when `till` fires, or
        `timeout` seconds pass, first.
        """
        if not self.done.wait(till=till, timeout=timeout):
            raise ThreadTimeout("Timeout waiting for a Future")
        if self._failure is not None:
            raise self._failure
        return self._value

    def __repr__(self) -> str:
        if not self.done:
            return "<Future pending>"
        if self._failure is not None:
            return "<Future failed " + type(self._failure).__name__ + ">"
        return "<Future done>"
