"""`BusyLock`: a spin lock for very short critical sections.

Theory of operation
-------------------
Taking a free `BusyLock` is one non-blocking acquire of a raw lock: no
waiter list, no Signal, no owner bookkeeping beyond one attribute. When the
lock is taken, the caller spins: it yields the GIL (`time.sleep(0)`) so the
holder can run and leave, and tries again. Spinning pays only when the
holder leaves within a few bytecodes; after `_SPINS` tries the caller parks
on the raw lock (a blocking acquire), so a holder that takes longer costs
the waiters no CPU. Mutual exclusion always comes from the raw lock, so the
lock is correct under any contention; spinning only decides how the waiter
passes the time.

Use `Lock` (lock.py) when the critical section may block, or when a thread
must `wait()` inside it.
"""

from __future__ import annotations

import _thread
from time import monotonic as _monotonic
from time import sleep as _sleep
from typing import Any, Optional

from mo_threads._vocabulary import check_blocking, check_name, check_timeout

__all__ = ("BusyLock",)

_get_ident = _thread.get_ident
_SPINS = 64  # tries, each yielding the GIL, before parking on the raw lock
_TIMEOUT_MAX = _thread.TIMEOUT_MAX


class BusyLock:
    """A non-reentrant spin lock: `with lock:` around a few lines of work.

    `acquire(blocking=True, timeout=None)` takes `threading.Lock`'s
    arguments; re-entering from the thread that holds it raises `RuntimeError`
    naming the lock, instead of spinning for ever. It is thread-safe and has
    no `wait()`: see `Lock` for that.
    """

    __slots__ = ("name", "_lock", "_owner", "__weakref__")

    def __init__(self, name: str = "") -> None:
        self.name = check_name(name, "BusyLock name")
        # the user's lock, as a threading.Lock is: held at a fork, it stays held in the child (see _runtime)
        self._lock = _thread.allocate_lock()
        self._owner: Optional[int] = None

    def __repr__(self) -> str:
        state = "held" if self._lock.locked() else "free"
        return "<BusyLock " + repr(self.name) + " " + state + ">"

    def acquire(self, blocking: bool = True, timeout: Optional[float] = None) -> bool:
        """Take the lock, spinning and then blocking until it is free, as `threading.Lock.acquire(blocking, timeout)`.

        Returns True when held; False when `blocking=False` found it taken, or
        `timeout` seconds passed first (a timeout longer than the OS allows
        means "for ever"). Raises RuntimeError when this thread holds it
        already, ValueError for a negative timeout or one given with
        `blocking=False`, TypeError for a `blocking` that is not a bool.
        """
        if blocking is not True or timeout is not None:
            blocking = check_blocking(blocking, timeout, None, "BusyLock", self.name)
            if timeout is not None:
                timeout = min(check_timeout(timeout), _TIMEOUT_MAX)
        lock = self._lock
        if lock.acquire(False):
            self._owner = _get_ident()
            return True
        ident = _get_ident()
        if self._owner == ident:
            raise RuntimeError("BusyLock " + repr(self.name) + " is already held by this thread; it is not reentrant")
        if not blocking:
            return False
        deadline = None if timeout is None else _monotonic() + timeout
        for _ in range(_SPINS):
            _sleep(0)
            if lock.acquire(False):
                break
            if deadline is not None and _monotonic() >= deadline:
                return False
        else:
            if deadline is None:
                lock.acquire()
            elif not lock.acquire(True, max(0.0, deadline - _monotonic())):
                return False
        self._owner = ident
        return True

    def release(self) -> None:
        """Leave the lock. Raises `RuntimeError` when it is not held."""
        self._owner = None
        try:
            self._lock.release()
        except RuntimeError:
            raise RuntimeError("BusyLock " + repr(self.name) + " is not held") from None

    def locked(self) -> bool:
        """True while some thread holds the lock (a snapshot)."""
        return self._lock.locked()

    def __enter__(self) -> BusyLock:
        self.acquire()
        return self

    def __exit__(self, exc_type: Any = None, exc: Any = None, tb: Any = None) -> None:
        self.release()
