"""Cancellable synchronization: `Semaphore`, `BoundedSemaphore`, `Barrier`, `Latch`.

Every wait takes `till=` (a Signal, such as `please_stop` or a `Till`) and
`timeout=` (seconds); whichever comes first cuts the wait short. Calls that
only say whether they got what they asked for return False then
(`Semaphore.acquire`, `Latch.wait`, as `Lock.acquire` and `Signal.wait` do);
`Barrier.wait`, which hands back an arrival index, raises `ThreadTimeout` (the
library's `THREAD_TIMEOUT`, a `TimeoutError`).

Theory of operation: the state of each primitive sits behind one raw lock held
for a few bytecodes. A thread that must wait parks on a `Signal` of its own
(a semaphore waiter) or of its generation (a barrier or a latch); whoever
changes the state fires it under the raw lock, so a waiter whose `till` fired
at the same moment can tell, under the lock, whether it was served.
"""

from __future__ import annotations

import _thread
from collections import deque
from typing import Any, Deque, Optional

from mo_threads import _blocking
from mo_threads._vocabulary import BrokenBarrierError, ThreadTimeout, check_count, check_name, check_wait
from mo_threads._waits import wait_for
from mo_threads.signals import Signal

__all__ = ("Semaphore", "BoundedSemaphore", "Barrier", "BrokenBarrierError", "Latch")


class Semaphore:
    """A counter of permits: `acquire()` takes one (waiting while none is left), `release()` returns one.

    Waiters are served first come, first served: a released permit goes
    straight to the longest waiter. `with semaphore:` acquires without limit of
    time and releases at the end of the block.
    """

    __slots__ = ("name", "_value", "_lock", "_waiters")

    def __init__(self, value: int = 1, name: Optional[str] = None) -> None:
        self.name = "semaphore" if name is None else check_name(name, type(self).__name__ + " name")
        self._value = check_count(value, "Semaphore " + repr(self.name) + " value", 0)
        self._lock = _thread.allocate_lock()
        self._waiters: Deque[Signal] = deque()

    @property
    def value(self) -> int:
        """The permits available now."""
        return self._value

    def acquire(self, till: Optional[Signal] = None, *, timeout: Optional[float] = None, blocking: bool = True) -> bool:
        """Take one permit, blocking while there is none.

        Returns True with the permit, False (and no permit) when `till` fires
        or `timeout` seconds pass first, or at once with `blocking=False`.
        """
        timeout = check_wait(till, timeout)
        with self._lock:
            if self._value > 0 and not self._waiters:
                self._value -= 1
                return True
            if not blocking:
                return False
            waiter = Signal("waiter of " + self.name)
            self._waiters.append(waiter)
        # slow path: recorded for dumps and metrics
        record = _blocking.begin("Semaphore", self, bounded=till is not None or timeout is not None)
        try:
            if wait_for(waiter, till, timeout):
                return True
        except BaseException:
            # interrupted (KeyboardInterrupt): leave the queue, or pass on a permit handed over meanwhile
            with self._lock:
                granted = bool(waiter)
                if not granted:
                    self._waiters.remove(waiter)
            if granted:
                self.release()
            raise
        finally:
            _blocking.end(record)
        with self._lock:
            if waiter:
                return True  # handed over as the wait ended
            self._waiters.remove(waiter)
        return False

    def release(self, n: int = 1) -> None:
        """Return `n` permits, waking as many waiters."""
        n = check_count(n, "Semaphore " + repr(self.name) + ".release(n)", 1)
        with self._lock:
            self._check_release(n)
            waiters = self._waiters
            while n and waiters:
                waiters.popleft().go()
                n -= 1
            self._value += n

    def _check_release(self, n: int) -> None:
        """Hook for BoundedSemaphore (lock held)."""

    def __enter__(self) -> Semaphore:
        self.acquire()
        return self

    def __exit__(self, exc_type: Any = None, exc: Any = None, tb: Any = None) -> None:
        self.release()

    def __repr__(self) -> str:
        return "<" + type(self).__name__ + " " + repr(self.name) + " value=" + str(self._value) + ">"


class BoundedSemaphore(Semaphore):
    """A Semaphore that refuses to be released above its initial value.

    `release()` beyond the initial value raises `ValueError` (a bug: more
    releases than acquires), and changes nothing.
    """

    __slots__ = ("initial",)

    def __init__(self, value: int = 1, name: Optional[str] = None) -> None:
        Semaphore.__init__(self, value, name)
        self.initial = self._value

    def _check_release(self, n: int) -> None:
        if self._value + n > self.initial:
            raise ValueError("BoundedSemaphore " + repr(self.name) + " released more times than it was acquired")


class _Generation:
    """One round of a Barrier: the Signal its parties wait on, and whether it broke."""

    __slots__ = ("gate", "broken")

    def __init__(self, name: str) -> None:
        self.gate = Signal("round of " + name)
        self.broken = False


class Barrier:
    """`parties` threads wait for each other: `wait()` returns once all have arrived.

    Reusable, like `threading.Barrier`: once a round is complete the next one
    starts. `abort()` breaks the barrier: every party waiting, and every later
    `wait()`, raises `BrokenBarrierError` (the stdlib's) until `reset()`.
    A party whose `till`/`timeout` comes first raises `ThreadTimeout` and, as
    in the stdlib, breaks the barrier for the others (they could never
    complete the round).
    """

    __slots__ = ("name", "parties", "_lock", "_count", "_round", "_broken")

    def __init__(self, parties: int, name: Optional[str] = None) -> None:
        self.name = "barrier" if name is None else check_name(name, "Barrier name")
        self.parties = check_count(parties, "Barrier " + repr(self.name) + " parties", 1)
        self._lock = _thread.allocate_lock()
        self._count = 0
        self._round = _Generation(self.name)
        self._broken = False

    @property
    def n_waiting(self) -> int:
        """How many parties wait in the current round."""
        return self._count

    @property
    def broken(self) -> bool:
        """True after `abort()` (or a party giving up) until `reset()`."""
        return self._broken

    def wait(self, till: Optional[Signal] = None, *, timeout: Optional[float] = None) -> int:
        """Arrive and block until every party has arrived; return the arrival index (0 first).

        Raises `BrokenBarrierError` when the barrier is or becomes broken, and
        `ThreadTimeout` when `till` fires or `timeout` passes first (which
        breaks the barrier for the other parties).
        """
        timeout = check_wait(till, timeout)
        with self._lock:
            if self._broken:
                raise BrokenBarrierError("Barrier " + repr(self.name) + " is broken")
            index = self._count
            round_ = self._round
            if index + 1 == self.parties:
                self._count = 0
                self._round = _Generation(self.name)
                round_.gate.go()
                return index
            self._count = index + 1
        # slow path: recorded for dumps and metrics
        record = _blocking.begin("Barrier", self, bounded=till is not None or timeout is not None)
        try:
            arrived = wait_for(round_.gate, till, timeout)
        except BaseException:
            self._give_up(round_)
            raise
        finally:
            _blocking.end(record)
        if not arrived and not self._give_up(round_):
            raise ThreadTimeout("Timeout waiting on barrier " + repr(self.name))
        if round_.broken:
            raise BrokenBarrierError("Barrier " + repr(self.name) + " is broken")
        return index

    def _give_up(self, round_: _Generation) -> bool:
        """Break `round_` unless it completed meanwhile; True when it had completed (or broke)."""
        with self._lock:
            if round_.gate:
                return True
            self._break()
            return False

    def _break(self) -> None:
        # lock held
        round_ = self._round
        self._broken = True
        self._count = 0
        round_.broken = True
        self._round = _Generation(self.name)
        round_.gate.go()

    def abort(self) -> None:
        """Break the barrier: every waiting party wakes with `BrokenBarrierError`, and so will later waits."""
        with self._lock:
            self._break()

    def reset(self) -> None:
        """Mend the barrier for a new round; parties waiting now get `BrokenBarrierError`."""
        with self._lock:
            if self._count:
                self._break()
            self._broken = False

    def __repr__(self) -> str:
        state = " broken" if self._broken else ""
        return "<Barrier " + repr(self.name) + " " + str(self._count) + "/" + str(self.parties) + state + ">"


class Latch:
    """A countdown: `wait()` blocks until `count_down()` was called `count` times.

    One-shot (it can not be reset); `done` is the Signal that fires at zero.
    Counting down past zero does nothing.
    """

    __slots__ = ("name", "done", "_count", "_lock")

    def __init__(self, count: int, name: Optional[str] = None) -> None:
        self.name = "latch" if name is None else check_name(name, "Latch name")
        self._count = check_count(count, "Latch " + repr(self.name) + " count", 0)
        self._lock = _thread.allocate_lock()
        self.done = Signal("latch " + self.name)
        if not self._count:
            self.done.go()

    @property
    def count(self) -> int:
        """How many `count_down()` calls are still needed."""
        return self._count

    def count_down(self, n: int = 1) -> None:
        """Count `n` down; at zero every waiter wakes."""
        n = check_count(n, "Latch " + repr(self.name) + ".count_down(n)", 1)
        with self._lock:
            if not self._count:
                return
            self._count = max(0, self._count - n)
            if self._count:
                return
        self.done.go()

    def wait(self, till: Optional[Signal] = None, *, timeout: Optional[float] = None) -> bool:
        """Block until the count reaches zero: True then, False when `till`/`timeout` came first."""
        timeout = check_wait(till, timeout)
        if self.done._go:
            return True
        # slow path: recorded for dumps and metrics
        record = _blocking.begin("Latch", self, bounded=till is not None or timeout is not None)
        try:
            return wait_for(self.done, till, timeout)
        finally:
            _blocking.end(record)

    def __repr__(self) -> str:
        return "<Latch " + repr(self.name) + " count=" + str(self._count) + ">"
