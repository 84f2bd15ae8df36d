"""`Lock`: a named, non-reentrant monitor with `wait(till=)`.

A `Lock` is a mutex plus a condition: inside `with lock:` a thread may call
`lock.wait(...)`, which releases the lock while it waits and holds it again on
return. Leaving the lock (the end of a `with` block) wakes one waiter, so a
producer does not have to call `notify`.

Waiters park in a `ParkingLot` (see `_parking`); leaving the lock wakes the
first. `till=` and `timeout=` cut a wait short without polling.
`acquire(blocking, timeout)` takes `threading.Lock`'s arguments, and
`acquire(till=)` parks the same way, in a second lot that leaving the lock
serves after releasing it. A waiter woken and then interrupted (Ctrl-C) passes
the wake-up to the next in line, so nobody sleeps beside a free lock.

The inner lock is an `_thread.RLock` used as a plain mutex (re-entry is refused
before it is touched) for its owner, kept in C and set in the same step that
takes it: a signal handler that raises (Ctrl-C) just after the inner lock was
taken can not leave an owner field behind in a wrong state, and `_is_owned()`
tells the way out exactly whether this thread holds it, so it releases it.
The owner is read from the inner lock alone, never copied into Python.

Contended acquisitions and waits are recorded in `_blocking` (what each thread
waits on, blocking metrics); an acquisition that would close a cycle of threads
waiting on each other's locks raises `DeadlockError` instead of hanging.
"""

from __future__ import annotations

import _thread
import functools
from time import monotonic as _monotonic
from typing import Any, Callable, Optional, TypeVar

from mo_threads._blocking import begin as _begin_wait
from mo_threads._blocking import end as _end_wait
from mo_threads import _parking
from mo_threads._parking import ParkingLot, resume_signals
from mo_threads._vocabulary import ThreadTimeout, bad_till, check_blocking, check_name, check_till, check_timeout
from mo_threads.signals import Signal

__all__ = ("Lock", "locked")

_TIMEOUT_MAX = _thread.TIMEOUT_MAX

F = TypeVar("F", bound=Callable[..., Any])


def _owner_of(inner: Any) -> Optional[int]:
    # the C-kept owner, as the inner lock's repr gives it ("... owner=140... count=1 ..."); no API reads it
    text = repr(inner)
    start = text.find(" owner=") + 7
    if start < 7 or not text.startswith("<locked"):
        return None
    end = text.find(" ", start)
    return int(text[start:end]) or None


if hasattr(_thread.RLock, "locked"):  # Python 3.14+
    _is_locked: Callable[[Any], bool] = _thread.RLock.locked
else:

    def _is_locked(inner: Any) -> bool:
        # True while some thread holds the inner lock: its C repr says so, exactly
        return repr(inner).startswith("<locked")


class Lock:
    """A non-reentrant lock with monitor-style `wait()`.

    Re-entering from the thread that holds it raises `RuntimeError` naming the
    lock, instead of deadlocking silently.
    """

    __slots__ = ("name", "_lock", "_waiters", "_acquirers", "__weakref__")

    def __init__(self, name: str = "", debug: bool = False, sample: bool = False) -> None:
        """Make a free lock called `name`.

        `debug` and `sample` are accepted for compatibility with mo-threads 6.x
        and have no effect: use `repr(lock)` and the mo-logs debug level instead.
        """
        check_name(name, "Lock name")
        self.name = name
        # a plain RLock, not a subclass: a method called on a subclass costs a type check (~10 ns)
        self._lock: Any = _thread.RLock()  # Any: typeshed leaves out its _is_owned()
        # made on first use: most locks are never waited on
        self._waiters: Optional[ParkingLot] = None  # in wait(), for a thread leaving the lock
        self._acquirers: Optional[ParkingLot] = None  # in acquire(till=), for the lock to be free

    def __repr__(self) -> str:
        state = "held" if _is_locked(self._lock) else "free"
        return "<Lock " + repr(self.name) + " " + state + ">"

    @property
    def _owner(self) -> Optional[int]:
        """The ident of the thread holding the lock, None when free (deadlock detection reads it)."""
        return _owner_of(self._lock)

    def __enter__(self) -> Lock:
        lock = self._lock
        if lock._is_owned():
            raise self._reentered()
        try:
            if not lock.acquire(False):
                self._acquire_contended()
            return self  # in the try: PyPy runs signal handlers between any two bytecodes
        except BaseException:
            self._undo()
            raise

    def _acquire_contended(self) -> None:
        record = _begin_wait("Lock", self)  # raises DeadlockError on a cycle
        try:
            self._lock.acquire()
        finally:
            _end_wait(record)

    def __exit__(self, exc_type: Any = None, exc: Any = None, tb: Any = None) -> None:
        # named parameters: no tuple to pack on every exit (about 30 ns of a ~250 ns `with`)
        if self._waiters:
            self._waiters.unpark()
        self._lock.release()
        if self._acquirers:
            self._acquirers.unpark()  # after the release, so the woken thread finds the lock free

    def acquire(
        self, blocking: bool = True, timeout: Optional[float] = None, *, till: Optional[Signal] = None
    ) -> bool:
        """Take the lock, as `threading.Lock.acquire(blocking, timeout)` does; `till=` may cut the wait short too.

        Returns True when the lock is held, False when `blocking=False` found it
        taken or the wait was cut short (`timeout` seconds passed, or `till`
        fired, first; `acquiring(till=)` raises instead). Unlike the stdlib, a
        timeout longer than the OS allows means "for ever" (not OverflowError),
        -1 is not "no timeout" (leave `timeout` out, or pass None), and
        re-entering, even with `blocking=False`, is a bug reported at once.

        Raises RuntimeError when this thread holds the lock already,
        DeadlockError when waiting would close a cycle of threads waiting on
        each other's locks (only for a wait without till or timeout: a bounded
        wait ends by itself), TypeError for a `blocking` that is not a bool or a
        `till` that is not a Signal, ValueError for a negative timeout or one
        given with `blocking=False`.
        """
        if blocking is not True and not check_blocking(blocking, timeout, till, "Lock", self.name):
            return self._try_acquire()
        if till is not None and not isinstance(till, Signal):
            raise bad_till(till)
        if timeout is not None:
            timeout = min(check_timeout(timeout), _TIMEOUT_MAX)
        lock = self._lock
        if lock._is_owned():
            raise self._reentered()
        try:
            if lock.acquire(False):
                return True
            if till is None and timeout is None:
                self._acquire_contended()
                return True
            if till is not None and till._go:
                return False
            record = _begin_wait("Lock", self, True)
            try:
                if till is None and timeout is not None:
                    got: bool = lock.acquire(True, timeout)
                else:
                    assert till is not None
                    got = self._acquire_till(till, timeout)
            finally:
                _end_wait(record)
            return got
        except BaseException:
            self._undo()
            raise

    def _try_acquire(self) -> bool:
        # acquire(blocking=False)
        lock = self._lock
        if lock._is_owned():
            raise self._reentered()
        try:
            if lock.acquire(False):
                return True
        except BaseException:
            self._undo()
            raise
        return False

    def _undo(self) -> None:
        # an exception (a signal handler's, one thrown in) leaves the way in: this
        # thread may have taken the inner lock just before it came; the inner lock
        # knows, and only ever says yes for this thread's own
        if self._lock._is_owned():
            self._give_up()

    def _reentered(self) -> RuntimeError:
        return RuntimeError("Lock " + repr(self.name) + " is already held by this thread; it is not reentrant")

    def locked(self) -> bool:
        """True while some thread holds the lock (a snapshot, as `threading.Lock.locked()`)."""
        return _is_locked(self._lock)

    def _acquire_till(self, till: Signal, timeout: Optional[float]) -> bool:
        # Park in line, known to `till`: leaving the lock wakes the first in line
        # after releasing the lock itself, so once in line we look at the lock
        # again (`ready`): a release we did not see wakes us.
        deadline = None if timeout is None else _monotonic() + timeout
        lock = self._lock
        acquirers = self._acquirers
        if acquirers is None:
            acquirers = self._acquirers = ParkingLot()

        def free() -> bool:
            return not _is_locked(lock)

        while True:
            if lock.acquire(False):
                # a signal handler held since the wake-up (Ctrl-C) makes this leave the lock again
                if _parking._held:  # only the main thread holds, once woken
                    resume_signals(self._give_up)
                return True
            if till._go or (deadline is not None and _monotonic() >= deadline):
                if _parking._held:  # only the main thread holds, once woken
                    resume_signals()
                return False
            acquirers.park(None, till, deadline, free, hold=True)

    def _give_up(self, _: Any = None) -> None:
        # taken, then interrupted before acquire() returned: free for the next in line
        self._lock.release()
        if self._acquirers:
            self._acquirers.unpark()

    def acquiring(self, till: Optional[Signal] = None, *, timeout: Optional[float] = None) -> _Acquiring:
        """`with lock.acquiring(till=...):` holds the lock for the block, or raises.

        Raises `ThreadTimeout` (a TimeoutError, the library's THREAD_TIMEOUT) on
        entering when `till` fires (or `timeout` seconds pass) before the lock is
        free, so the block never runs without the lock. Same errors as `acquire`.
        """
        check_till(till)
        if timeout is not None:
            check_timeout(timeout)
        return _Acquiring(self, till, timeout)

    def release(self) -> None:
        """Leave the lock (as the end of `with lock:` does), waking one waiter."""
        if not self._lock._is_owned():
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
        if not self._lock._is_owned():
            raise RuntimeError("Lock " + repr(self.name) + ".wait() called without holding the lock")
        deadline = None
        if till is not None or seconds is not None or timeout is not None:  # a plain wait() skips the checks
            if till is not None and not isinstance(till, Signal):
                raise bad_till(till)
            what = "seconds"
            if seconds is None:
                seconds, what = timeout, "timeout"
            elif timeout is not None:
                raise TypeError("Lock " + repr(self.name) + ".wait() takes seconds= or timeout=, not both")
            if seconds is not None:
                deadline = _monotonic() + min(check_timeout(seconds, what), _TIMEOUT_MAX)
            if till is not None and till._go:
                return False

        waiters = self._waiters
        if waiters is None:
            waiters = self._waiters = ParkingLot()
        # no owner edge: any thread leaving the lock ends this wait
        record = _begin_wait("Lock.wait", self, till is not None or deadline is not None)
        try:
            # released while parked; held again on every way out, KeyboardInterrupt included.
            # No shield (see _parking): a handler of the application's that raises before the
            # hold ends leaves wait() holding the lock, and leaving it wakes the next waiter.
            # (positional: park(outer, till, deadline, ready, hold_again, hold, shield), the cheaper call)
            handed = waiters.park(self._lock, till, deadline, None, True, True, False)
        finally:
            _end_wait(record)
        # a signal handler held since the wake-up (Ctrl-C) passes the wake-up on
        if _parking._held:  # only the main thread holds, once woken
            resume_signals(self._pass_wake_up, handed)
        return handed

    def _pass_wake_up(self, handed: bool) -> None:
        if handed and self._waiters:
            self._waiters.unpark()


class _Acquiring:
    """The context manager `Lock.acquiring()` returns."""

    __slots__ = ("_lock", "_till", "_timeout")

    def __init__(self, lock: Lock, till: Optional[Signal], timeout: Optional[float]) -> None:
        self._lock = lock
        self._till = till
        self._timeout = timeout

    def __enter__(self) -> Lock:
        lock = self._lock
        if not lock.acquire(till=self._till, timeout=self._timeout):
            raise ThreadTimeout("Timeout waiting for Lock " + repr(lock.name))
        return lock

    def __exit__(self, *exc_info: Any) -> None:
        self._lock.__exit__()


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
