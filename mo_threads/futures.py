"""`Future`: a value that one thread assigns and others wait for.

Combinators (`then`, `all_of`, `any_of`) make a new Future settled by
callbacks on the `done` Signal of the futures they read: they run on the
thread that settles the last future needed, and no thread waits for them.
"""

from __future__ import annotations

import _thread
import concurrent.futures as _cf
import functools
from typing import Any, Callable, Generic, List, Optional, TypeVar

from mo_threads import _blocking, _runtime
from mo_threads._vocabulary import AllFailed, ThreadTimeout, check_name, check_wait
from mo_threads.signals import Signal

__all__ = ("Future", "AllFailed")

_T = TypeVar("_T")
_R = TypeVar("_R")

def _check_futures(futures: Any, what: str) -> List[Future[Any]]:
    for future in futures:
        if not isinstance(future, Future):
            raise TypeError(what + "() takes Futures, not " + type(future).__name__)
    return list(futures)


_UNSET: Any = object()
# guards settling (rare): assign() and fail() from two threads at once must not both win.
# Made anew in a forked child: a thread that is gone may have held it.
_SETTLE_LOCK = _thread.allocate_lock()


def _after_fork_in_child() -> None:
    global _SETTLE_LOCK
    _SETTLE_LOCK = _thread.allocate_lock()


_runtime.on_fork("futures", _after_fork_in_child)


class Future(Generic[_T]):
    """A value that is not ready yet: one `assign(value)` (or `fail(error)`), many `wait()`s.

    `done` is a Signal that fires once the future is settled (also known by
    upstream's name, `is_ready`). Settling twice raises `RuntimeError`.
    `name` (default "future") names it in dumps and blocking statistics.
    Combine with `then(fn)`, `Future.all_of(*futures)`, `Future.any_of(*futures)`.
    Generic in its value type for type checkers: `Future[int]()`.
    """

    __slots__ = ("done", "_value", "_failure")

    def __init__(self, name: str = "future") -> None:
        if name.__class__ is not str:
            check_name(name, "Future name")
        self.done = Signal(name)
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
        `timeout` seconds pass, first. Does not block when already settled.
        """
        done = self.done
        if till is not None or timeout is not None:
            check_wait(till, timeout)  # refused even when settled: the error comes from the call that made it
        if not done._go:
            # slow path: recorded for dumps and metrics
            record = _blocking.begin("Future", self, bounded=till is not None or timeout is not None)
            try:
                settled = done.wait(till=till, timeout=timeout)
            finally:
                _blocking.end(record)
            if not settled:
                raise ThreadTimeout("Timeout waiting for " + repr(self))
        if self._failure is not None:
            raise self._failure
        value: _T = self._value
        return value

    @property
    def name(self) -> str:
        """How this future reads in dumps and statistics: the name of its `done` Signal."""
        return self.done.name

    # --- combinators ---------------------------------------------------------------
    def then(self, fn: Callable[[_T], _R]) -> Future[_R]:
        """A new Future settled with `fn(value)` once this one is assigned.

        When this future fails, the new one fails with the same exception
        (`fn` is not called); when `fn` raises, the new one fails with that.
        `fn` runs on the thread that settles this future, or at once on this
        thread when it is settled already: keep it short. Chains:
        `future.then(parse).then(store)`.
        """
        if not callable(fn):
            raise TypeError("Future.then() expects a callable, not " + type(fn).__name__)
        output: Future[_R] = Future(self.done.name + " then")

        def run() -> None:
            failure = self._failure
            if failure is not None:
                output.fail(failure)
                return
            try:
                result = fn(self._value)
            except BaseException as cause:
                output.fail(cause)
                return
            output.assign(result)

        self.done.then(run)
        return output

    @staticmethod
    def all_of(*futures: Future[Any]) -> Future[List[Any]]:
        """A Future of the list of every future's value, in argument order.

        It fails as soon as one of them fails, with that failure (the first to
        happen); the others are not waited for. `all_of()` is assigned `[]`.
        """
        given = _check_futures(futures, "Future.all_of")
        output: Future[List[Any]] = Future("all_of")
        if not given:
            output.assign([])
            return output
        # one token per future, taken as each is assigned: the one taking token 0 is
        # the last. list.pop() is one atomic step, so no lock (none to leave held across a fork)
        tokens = list(range(len(given)))

        def one_settled(future: Future[Any]) -> None:
            if future._failure is not None:
                output._try_settle(None, future._failure)
                return
            if tokens.pop() == 0:
                output._try_settle([f._value for f in given], None)

        for future in given:
            future.done.then(functools.partial(one_settled, future))
        return output

    @staticmethod
    def any_of(*futures: Future[Any]) -> Future[Any]:
        """A Future of the value of the first future assigned (the first to happen).

        Failures are ignored while one of the futures may still succeed; it
        fails only when all failed, with `AllFailed` holding every failure in
        argument order. `any_of()` with no futures raises ValueError.
        """
        given = _check_futures(futures, "Future.any_of")
        if not given:
            raise ValueError("Future.any_of() needs at least one Future")
        output: Future[Any] = Future("any_of")
        tokens = list(range(len(given)))  # one per future, taken as each fails (see all_of)

        def one_settled(future: Future[Any]) -> None:
            if future._failure is None:
                output._try_settle(future._value, None)
                return
            if tokens.pop() == 0:
                failures = [f._failure for f in given]
                output._try_settle(
                    None, AllFailed("every one of " + str(len(given)) + " futures failed", failures)
                )

        for future in given:
            future.done.then(functools.partial(one_settled, future))
        return output

    def _try_settle(self, value: Any, failure: Optional[BaseException]) -> bool:
        """Settle unless settled already; True when this call did."""
        with _SETTLE_LOCK:
            if self._value is not _UNSET:
                return False
            self._value = value
            self._failure = failure
        self.done.go()
        return True

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
        name = self.done.name
        label = "" if name == "future" else " " + repr(name)
        if not self.done:
            return "<Future" + label + " pending>"
        if self._failure is not None:
            return "<Future" + label + " failed " + type(self._failure).__name__ + ">"
        return "<Future" + label + " done>"
