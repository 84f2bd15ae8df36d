"""`Lock`: a named, non-reentrant monitor with `wait(till=)`.

A `Lock` is a mutex plus a condition: inside `with lock:` a thread may call
`lock.wait(...)`, which releases the lock while it waits and holds it again on
return. Leaving the lock (the end of a `with` block) wakes one waiter, so a
producer does not have to call `notify`.

Each waiter parks on a raw lock of its own, kept in a deque; leaving the lock
pops one and releases it. A wait with a `till=` Signal parks the same raw lock
on that signal too, so whichever comes first wakes it.
"""

from __future__ import annotations

import _thread
import functools
from collections import deque
from typing import Any, Callable, Deque, Optional, TypeVar

from mo_threads.signals import Signal, check_timeout
from mo_threads.till import Till

__all__ = ("Lock", "locked")

_get_ident = _thread.get_ident
_allocate_lock = _thread.allocate_lock
_TIMEOUT_MAX = _thread.TIMEOUT_MAX

F = TypeVar("F", bound=Callable[..., Any])


class Lock:
    """A non-reentrant lock with monitor-style `wait()`.

    Re-entering from the thread that holds it raises `RuntimeError` naming the
    lock, instead of deadlocking silently.
    """

    __slots__ = ("name", "_lock", "_owner", "_waiters", "__weakref__")

    def __init__(self, name: str = "", debug: bool = False, sample: bool = False) -> None:
        """Make a free lock called `name`.

        `debug` and `sample` are accepted for compatibility with mo-threads 6.x
        and have no effect: use `repr(lock)` and the mo-logs debug level instead.
        """
        if not isinstance(name, str):
            raise TypeError("Lock name must be a str, not " + type(name).__name__)
        self.name = name
        self._lock = _allocate_lock()
        self._owner: Optional[int] = None
        self._waiters: Deque[Any] = deque()

    def __repr__(self) -> str:
        state = "held" if self._lock.locked() else "free"
        return "<Lock " + repr(self.name) + " " + state + ">"

    def __enter__(self) -> Lock:
        ident = _get_ident()
        if self._owner == ident:
            raise RuntimeError(
                "Lock " + repr(self.name) + " is already held by this thread; it is not reentrant"
            )
        self._lock.acquire()
        self._owner = ident
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._owner = None
        waiters = self._waiters
        if waiters:
            try:
                waiters.popleft().release()
            except (IndexError, RuntimeError):
                # empty, or that waiter gave up and was released by its till
                pass
        self._lock.release()

    def acquire(self, till: Optional[Signal] = None, *, timeout: Optional[float] = None) -> bool:
        """Take the lock; with `till=` and/or `timeout=`, give up when the first fires.

        Returns True when the lock is held, False when the wait was cut short.
        Raises RuntimeError when this thread holds the lock already, TypeError
        for a `till` that is not a Signal, ValueError for a negative timeout.
        """
        ident = _get_ident()
        if self._owner == ident:
            raise RuntimeError(
                "Lock " + repr(self.name) + " is already held by this thread; it is not reentrant"
            )
        if till is not None and not isinstance(till, Signal):
            raise TypeError("till must be a Signal (for example Till(seconds=1)), not " + type(till).__name__)
        if timeout is not None:
            timeout = min(check_timeout(timeout), _TIMEOUT_MAX)
        if till is None:
            if timeout is None:
                self._lock.acquire()
            elif not self._lock.acquire(True, timeout):
                return False
            self._owner = ident
            return True
        lock = self._lock
        if not lock.acquire(False):
            # wait in short slices: a raw lock can not be woken by a Signal; a Till's
            # deadline is known, so the last slice ends on it
            if timeout is not None:
                limit: Optional[Till] = Till(seconds=timeout)  # both given: whichever comes first
            else:
                limit = till if isinstance(till, Till) else None
            remaining = limit.remaining if limit is not None else None
            while True:
                if till._go:
                    return False
                pause = 0.01
                if remaining is not None:
                    left = remaining()
                    if left <= 0:
                        if lock.acquire(False):
                            break
                        return False
                    if left < pause:
                        pause = left
                if lock.acquire(True, pause):
                    break
        self._owner = ident
        return True

    def release(self) -> None:
        """Leave the lock (as the end of `with lock:` does), waking one waiter."""
        if self._owner != _get_ident():
            raise RuntimeError("Lock " + repr(self.name) + " is not held by this thread")
        self.__exit__()

    def wait(
        self,
        till: Optional[Signal] = None,
        *,
        seconds: Optional[float] = None,
        timeout: Optional[float] = None,
    ) -> bool:
        """Release the lock until another thread leaves it, or `till` fires.

        Must be called holding the lock; always returns holding it, even when
        interrupted (KeyboardInterrupt). Returns True when woken by another thread
        leaving the lock, False when `till` fired (or `seconds`, also spelt
        `timeout`, passed) first. Raises RuntimeError when this thread does not
        hold the lock, TypeError for a bad `till` or both `seconds` and `timeout`,
        ValueError for a negative number of seconds.
        """
        ident = _get_ident()
        if self._owner != ident:
            raise RuntimeError("Lock " + repr(self.name) + ".wait() called without holding the lock")
        if till is not None and not isinstance(till, Signal):
            raise TypeError("till must be a Signal (for example Till(seconds=1)), not " + type(till).__name__)
        if seconds is None:
            seconds = timeout
        elif timeout is not None:
            raise TypeError("Lock " + repr(self.name) + ".wait() takes seconds= or timeout=, not both")
        if seconds is not None:
            seconds = min(check_timeout(seconds, "seconds"), _TIMEOUT_MAX)
        if till is not None and till._go:
            return False

        waiter = _allocate_lock()
        waiter.acquire()
        waiters = self._waiters
        waiters.append(waiter)
        if till is not None and not till._add_waiter(waiter):
            waiters.remove(waiter)
            return False
        self._owner = None
        self._lock.release()
        try:
            if seconds is None:
                waiter.acquire()
            else:
                waiter.acquire(True, seconds)
        finally:
            if till is not None:
                till._remove_waiter(waiter)
            self._lock.acquire()
            self._owner = ident
            # leave the queue even when interrupted (KeyboardInterrupt): a waiter
            # left behind would swallow the wake-up of the next thread leaving
            # still queued: nobody woke us, the till or the timeout did. (Usually the
            # queue is empty by now: no exception to raise and catch on that path.)
            if waiters and waiter in waiters:
                waiters.remove(waiter)
                woken = False
            else:
                woken = True
        return woken


def locked(func: F) -> F:
    """Decorate `func` so that one thread at a time runs it (one Lock per function).

    Calling it again from inside (recursion) raises RuntimeError: the Lock is not
    reentrant. Raises TypeError at once for a `func` that is not callable.
    """
    if not callable(func):
        raise TypeError("locked expects a callable, not " + type(func).__name__)
    lock = Lock("locked " + getattr(func, "__qualname__", repr(func)))

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with lock:
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
