"""Cancellable synchronization: `Semaphore`, `BoundedSemaphore`, `Barrier`, `Latch`.

The first three have the stdlib's signatures (`acquire(blocking=True,
timeout=None)`, `release(n=1)`, `Barrier(parties, action=None, timeout=None)`,
`wait(timeout=None)`, `reset()`, `abort()`, ...) and pass CPython's own
contract suite (tests/test_stdlib_contract.py). On top of that, every wait
takes `till=` (a Signal, such as `please_stop` or a `Till`) as a keyword;
whichever of `till` and `timeout` comes first cuts the wait short. Calls that
only say whether they got what they asked for return False then
(`Semaphore.acquire`, `Latch.wait`, as `Lock.acquire` and `Signal.wait` do);
`Barrier.wait`, which hands back an arrival index, raises an error that is
both `ThreadTimeout` (the library's `THREAD_TIMEOUT`, a `TimeoutError`) and
the stdlib's `BrokenBarrierError`.

Theory of operation: the state of each primitive sits behind one raw lock held
for a few bytecodes. A Semaphore's waiters park in a `HandOffLot` (see
`_parking`, which holds the race reasoning once): `release()` hands each permit
to the longest waiter, under the lock, so no newcomer takes it first, and a
waiter handed a permit and then interrupted passes it on (or counts it back).
Barrier and Latch waiters wait on the `Signal` of their generation (a
one-shot gate); whoever changes the state fires it under the raw lock, so a
waiter whose `till` fired at the same moment can tell, under the lock, whether
its round was over.
"""

from __future__ import annotations

import _thread
from time import monotonic as _monotonic
from typing import Any, Callable, Optional, Union

from mo_threads import _blocking
from mo_threads._parking import HandOffLot
from mo_threads._vocabulary import (
    BarrierTimeout,
    BrokenBarrierError,
    check_blocking,
    check_count,
    check_name,
    check_timeout,
    check_wait,
)
from mo_threads._waits import wait_for
from mo_threads.signals import Signal

__all__ = ("Semaphore", "BoundedSemaphore", "Barrier", "BrokenBarrierError", "BarrierTimeout", "Latch")


class Semaphore:
    """A counter of permits: `acquire()` takes one (waiting while none is left), `release()` returns one.

    `threading.Semaphore`'s shape, plus `till=` and a `name`. Waiters are
    served first come, first served: a released permit goes straight to the
    longest waiter. `with semaphore:` acquires without limit of time and
    releases at the end of the block.
    """

    __slots__ = ("name", "_value", "_lock", "_waiters")

    def __init__(self, value: int = 1, name: Optional[str] = None) -> None:
        self.name = "semaphore" if name is None else check_name(name, type(self).__name__ + " name")
        self._value = check_count(value, "Semaphore " + repr(self.name) + " value", 0)
        self._lock = _thread.allocate_lock()
        self._waiters = HandOffLot()  # parked acquirers, each handed its permit by release()

    @property
    def value(self) -> int:
        """The permits available now."""
        return self._value

    def acquire(
        self, blocking: bool = True, timeout: Optional[float] = None, *, till: Optional[Signal] = None
    ) -> bool:
        """Take one permit, as `threading.Semaphore.acquire(blocking, timeout)` does; `till=` may cut the wait short too.

        Returns True with the permit; False, and no permit, when
        `blocking=False` finds none, or when `timeout` seconds pass or `till`
        fires first. Raises ValueError for a negative timeout (the stdlib
        would not wait at all) or a timeout or till given with
        `blocking=False`, TypeError for a `blocking` that is not a bool or a
        `till` that is not a Signal.
        """
        if blocking is not True:
            blocking = check_blocking(blocking, timeout, till, type(self).__name__, self.name)
        timeout = check_wait(till, timeout)
        lock = self._lock
        with lock:
            if self._value > 0 and not self._waiters:
                self._value -= 1
                return True
            if not blocking:
                return False
            # slow path: recorded for dumps and metrics
            record = _blocking.begin("Semaphore", self, bounded=till is not None or timeout is not None)
            try:
                deadline = None if timeout is None else _monotonic() + timeout
                return self._waiters.park(lock, till, deadline, None, self._give_back) is True
            finally:
                _blocking.end(record)

    def release(self, n: int = 1) -> None:
        """Return `n` permits, waking as many waiters; ValueError for an `n` below 1."""
        n = check_count(n, "Semaphore " + repr(self.name) + ".release(n)", 1)
        with self._lock:
            self._check_release(n)
            hand = self._waiters.hand
            while n and hand(True):  # straight to the longest waiters: no newcomer barges in
                n -= 1
            self._value += n

    def _give_back(self, permit: Any) -> None:
        # lock held: a permit handed to a waiter interrupted with nobody behind it
        self._value += 1

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
    """One round of a Barrier: the Signal its parties wait on, whether it is over, whether it broke.

    `over` is set under the barrier's lock when the last party arrives or the
    round breaks; `gate` fires then, or, with an `action`, once the action has run.
    """

    __slots__ = ("gate", "over", "broken")

    def __init__(self, name: str) -> None:
        self.gate = Signal("round of " + name)
        self.over = False
        self.broken = False


class Barrier:
    """`parties` threads wait for each other: `wait()` returns once all have arrived.

    `threading.Barrier`'s shape, plus `till=` and a `name`. Reusable: once a
    round is complete the next one starts. The last party to arrive calls
    `action` (if any) before the others are released; if it raises, the
    barrier breaks and that party gets the error. `abort()` breaks the
    barrier: every party waiting, and every later `wait()`, raises
    `BrokenBarrierError` (the stdlib's) until `reset()`. A party whose
    `till`/`timeout` comes first breaks the barrier for the others (they could
    never complete the round), as in the stdlib, and raises an error that is
    both `ThreadTimeout` and `BrokenBarrierError`.
    """

    __slots__ = ("name", "parties", "_action", "_timeout", "_lock", "_count", "_round", "_broken")

    def __init__(
        self,
        parties: int,
        action: Union[Callable[[], object], str, None] = None,
        timeout: Optional[float] = None,
        *,
        name: Optional[str] = None,
    ) -> None:
        """`parties` threads meet; the last to arrive calls `action()`; `timeout` is `wait()`'s default.

        A str in `action`'s place is the barrier's name (`Barrier(3, "start
        line")`, as before the stdlib's signature came first): no action is a str.
        """
        if isinstance(action, str) and name is None:
            action, name = None, action
        self.name = "barrier" if name is None else check_name(name, "Barrier name")
        self.parties = check_count(parties, "Barrier " + repr(self.name) + " parties", 1)
        if action is not None and not callable(action):
            raise TypeError("Barrier " + repr(self.name) + " action must be callable, not " + type(action).__name__)
        self._action = action
        self._timeout = None if timeout is None else check_timeout(timeout, "Barrier " + repr(self.name) + " timeout")
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

    def wait(self, timeout: Optional[float] = None, *, till: Optional[Signal] = None) -> int:
        """Arrive and block until every party has arrived; return the arrival index (0 first).

        `timeout` (seconds) defaults to the barrier's. Raises
        `BrokenBarrierError` when the barrier is or becomes broken, and an
        error that is both `ThreadTimeout` and `BrokenBarrierError` when
        `till` fires or `timeout` passes first (which breaks the barrier for
        the other parties). The last party to arrive raises what `action` raises.
        """
        if timeout is None:
            timeout = self._timeout
        elif isinstance(timeout, Signal):
            raise TypeError(
                "Barrier " + repr(self.name) + ".wait(timeout) takes seconds, not a Signal: pass a Signal as till="
            )
        timeout = check_wait(till, timeout)
        with self._lock:
            if self._broken:
                raise BrokenBarrierError("Barrier " + repr(self.name) + " is broken")
            index = self._count
            round_ = self._round
            last = index + 1 == self.parties
            if last:
                self._count = 0
                self._round = _Generation(self.name)
                round_.over = True
                if self._action is None:
                    round_.gate.go()
                    return index
            else:
                self._count = index + 1
        if last:
            self._run_action(round_)
            return index
        # slow path: recorded for dumps and metrics
        record = _blocking.begin("Barrier", self, bounded=till is not None or timeout is not None)
        try:
            arrived = wait_for(round_.gate, till, timeout)
        except BaseException:
            self._give_up(round_)
            raise
        finally:
            _blocking.end(record)
        if not arrived:
            if not self._give_up(round_):
                raise BarrierTimeout("Timeout waiting on barrier " + repr(self.name))
            wait_for(round_.gate, None, None)  # the round was over already: only its action, running now, holds the gate
        if round_.broken:
            raise BrokenBarrierError("Barrier " + repr(self.name) + " is broken")
        return index

    def _run_action(self, round_: _Generation) -> None:
        # the last party's part (the round is over, its gate not yet open): call the action, then release the others
        action = self._action
        assert action is not None
        try:
            action()
        except BaseException:
            with self._lock:
                round_.broken = True
                round_.gate.go()
                self._break()  # the barrier is broken, as the stdlib's is after a failed action
            raise
        round_.gate.go()

    def _give_up(self, round_: _Generation) -> bool:
        """Break the barrier unless `round_` is over (completed or broken) already; return whether it was."""
        with self._lock:
            if round_.over:
                return True
            self._break()
            return False

    def _break(self) -> None:
        # lock held
        round_ = self._round
        self._broken = True
        self._count = 0
        round_.over = round_.broken = True
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
