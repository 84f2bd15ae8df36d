"""The one way a thread waits: a line of parked threads (internal).

Theory of operation
-------------------
A `ParkingLot` is a first-in, first-out line of parked threads, in the spirit of
trio's `ParkingLot`. A primitive (a Queue's consumers, its producers, a Lock's
acquirers and waiters) keeps its own state behind its own lock and uses a lot
only to sleep and to be woken:

    with state_lock:                      # the caller's lock, a raw lock
        while not condition():
            lot.park(state_lock, till, deadline)   # released while parked
    ...
    lot.unpark()                          # from the thread that changed the state

Each parked thread sleeps on a raw lock of its own (the *waiter*), made locked
and queued in the line. `unpark()` takes the first waiter out of the line and
releases it; `till` (a Signal) releases it too, and a deadline ends the sleep.
The parked thread then leaves the line itself, under the caller's lock when one
is given. Whether it was *handed* the wake-up is told by one atomic step: if its
waiter is no longer in the line, an unparker took it out to wake it.

Rules that hold at every instant:

1. Register, then look, then sleep. A thread that changes the state without the
   caller's lock (a Queue's lock-free pop) wakes the first waiter only if it sees
   one; so `park(ready=)` looks at the state again after the waiter is queued,
   and does not sleep if it is ready already. A wake-up can not fall between the
   look and the sleep: an early release makes the sleep return at once.
2. A wake-up handed over is never dropped. A thread handed a wake-up and then
   interrupted by an exception (KeyboardInterrupt from a Ctrl-C, SystemExit from
   SIGTERM, an exception thrown into it) before it could use it passes it on to
   the next in line before the exception leaves `park()`. A thread handed a
   wake-up and not interrupted returns True: its caller looks at the state and
   takes what it was woken for (the item, the room, the lock).
3. No waiter is left behind. Every way out of `park()` (woken, `till`, the
   deadline, an exception) takes the waiter out of the line first, so a stale
   waiter never swallows the wake-up meant for another thread.
4. A thread woken by `till` or the deadline at the moment an unparker chose it
   counts as handed (rule 2's look says so): it returns True and its caller looks
   at the state, so the wake-up is used or passed on, never lost between the two.
5. The main thread sleeps in slices of `MAIN_THREAD_SLICE` seconds: the kernel may
   deliver SIGINT/SIGTERM to another thread, and Python runs its handlers only on
   the main thread, between two slices at the latest.

Waiters are raw locks: nothing is allocated on the fast paths of the primitives
(a lot's line is made with the primitive; the waiter only when a thread parks).

Hand-off lots
-------------
A `HandOffLot` is a line where a wake-up carries something to one thread: a
Semaphore's permit, a Channel's value (`hand(value)`), or takes what the parked
thread offered (`take()`, a Channel's waiting sender). There the thing is not
left in the primitive's state for the woken thread to find: it is given to that
thread alone, so a newcomer can not take it first (no barging). Everything
happens under the caller's lock (`outer`, required): the unparkers hold it, and
a parked thread looks only under it whether it was served.

6. Served is final. `hand()`/`take()` take the first place out of the line and
   mark it served before waking it. A thread that wakes for any reason (its
   `till`, its deadline, an exception) looks at the mark under the lock: served,
   it returns what it was handed, even when its `till` fired at the same moment
   (rule 4); not served, it leaves the line and nothing was handed.
7. What an interrupted thread was handed goes on: to the next in line, or, with
   nobody in line, back to the primitive (`give_back(value)`: a permit counted
   again, a value back at the front of a channel's buffer), under the lock, before
   the exception leaves `park()`. An offer that was taken (a sender's value) was
   delivered: the exception only comes after.
8. In both kinds of lot, `outer` is taken again whatever comes: an exception
   raised while taking it (a second Ctrl-C) waits until it is held, and the first
   exception is raised after, so `park()` always returns holding `outer` and no
   look is skipped. A `ParkingLot` thread passes a wake-up on before it takes
   `outer` again (rule 2); a `HandOffLot` thread after, as it looks under `outer`.
"""

from __future__ import annotations

import _thread
import threading
from time import monotonic as _monotonic
from typing import Any, Callable, Deque, Optional

from mo_threads import _runtime

__all__ = ("ParkingLot", "HandOffLot", "NOT_HANDED", "MAIN_THREAD_SLICE", "sleep_on")

_allocate_lock = _thread.allocate_lock
_get_ident = _thread.get_ident
_TIMEOUT_MAX = _thread.TIMEOUT_MAX

# the longest the main thread sleeps before it looks for OS signal handlers to run
MAIN_THREAD_SLICE = 0.1
_main_ident = threading.main_thread().ident


def sleep_on(waiter: Any, deadline: Optional[float]) -> bool:
    """Acquire the raw lock `waiter` (True), or give up at `deadline` (monotonic seconds; False).

    On the main thread the sleep goes in slices, so OS signal handlers run
    within `MAIN_THREAD_SLICE` (and may raise out of this call).
    """
    if _get_ident() != _main_ident:
        if deadline is None:
            return waiter.acquire()  # type: ignore[no-any-return]
        left = deadline - _monotonic()
        return left > 0 and waiter.acquire(True, min(left, _TIMEOUT_MAX))  # type: ignore[no-any-return]
    while True:
        step = MAIN_THREAD_SLICE
        if deadline is not None:
            left = deadline - _monotonic()
            if left <= 0:
                return waiter.acquire(False)  # type: ignore[no-any-return]
            step = min(step, left)
        if waiter.acquire(True, step):
            return True


def _hold(outer: Any, late: Optional[BaseException]) -> Optional[BaseException]:
    """Take `outer` whatever comes (rule 8); return the first exception met, `late` if one was already."""
    while True:
        try:
            outer.acquire()
            return late
        except BaseException as error:
            if late is None:
                late = error


class ParkingLot(Deque[Any]):
    """A first-in, first-out line of parked threads: `park()` to wait, `unpark()` to wake (see the module).

    The lot is the line itself, a deque of waiters: `if lot:` and `len(lot)`
    cost what they cost on a deque, for the fast paths that look whether
    anybody waits. Anything with a `release()` method may stand in the line
    (a Queue's watches do): `unpark()` calls it.
    """

    __slots__ = ()

    def park(
        self,
        outer: Any = None,
        till: Any = None,
        deadline: Optional[float] = None,
        ready: Optional[Callable[[], bool]] = None,
        hold_again: bool = True,
    ) -> bool:
        """Sleep until `unpark()` wakes this thread (True), or `till` fires or `deadline` passes (False).

        `outer`, a raw lock the caller holds, is released while parked and held
        again on every way out, an exception included (with `hold_again=False`
        it is left released on every way out). `till` is a Signal; `deadline`
        is in `time.monotonic()` seconds. `ready()`, when given, is looked at
        once the thread is in line, `outer` still held: True returns True at
        once, for a state changed without `outer` just before. A thread handed
        a wake-up and then interrupted passes it to the next in line.
        """
        waiter = _allocate_lock()
        waiter.acquire()
        self.append(waiter)
        if till is not None and not till._add_waiter(waiter):
            # fired already: leave before sleeping (handed meanwhile counts as woken)
            woken = not self._left_line(waiter)
        elif ready is not None and ready():
            if till is not None:
                till._remove_waiter(waiter)
            self._left_line(waiter)
            woken = True  # the caller looks again at what changed
        else:
            if outer is not None:
                outer.release()
                if not hold_again:
                    outer = None
            try:
                if deadline is None and _get_ident() != _main_ident:
                    waiter.acquire()  # the usual wait, without a call more
                else:
                    sleep_on(waiter, deadline)
            except BaseException:
                self._leave(waiter, till, outer, interrupted=True)
                raise
            # _leave(interrupted=False), inline: this is every wait's way out
            if till is not None:
                till._remove_waiter(waiter)
            handed = waiter not in self or not self._left_line(waiter)
            if outer is not None:
                try:
                    outer.acquire()
                except BaseException as error:
                    # interrupted while taking it again (rule 8): pass the wake-up on, hold it, raise
                    if handed:
                        self.unpark()
                    _hold(outer, error)
                    raise
            return handed
        if outer is not None and not hold_again:
            outer.release()
        return woken

    def _left_line(self, waiter: Any) -> bool:
        """Take `waiter` out of the line: True when it was still there (nobody handed it a wake-up)."""
        if waiter not in self:
            return False  # the usual wake-up: an unparker took it out (no exception raised and caught)
        try:
            self.remove(waiter)
        except ValueError:
            return False  # taken out just now
        return True

    def _leave(self, waiter: Any, till: Any, outer: Any, interrupted: bool) -> bool:
        """Leave the line, then hold `outer` again; True when an unparker had chosen this thread.

        When `interrupted`, a wake-up handed to this thread goes to the next in
        line. The line is left and the wake-up passed on before `outer` is taken
        again, so an exception raised while taking it (a second Ctrl-C) loses
        nothing either.
        """
        if till is not None:
            till._remove_waiter(waiter)
        handed = not self._left_line(waiter)
        if handed and interrupted:
            self.unpark()
        if outer is not None:
            _hold(outer, None)  # a second exception meanwhile: the first one is raised (rule 8)
        return handed

    def unpark(self) -> bool:
        """Wake the first parked thread; False when nobody is parked."""
        try:
            waiter = self.popleft()
        except IndexError:
            return False
        try:
            waiter.release()
        except RuntimeError:
            pass  # released by its till as well: it leaves as handed (rule 4)
        return True

    def unpark_all(self) -> int:
        """Wake every parked thread; return how many."""
        count = 0
        while self.unpark():
            count += 1
        return count


class _NotHanded:
    """The type of `NOT_HANDED`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NOT_HANDED"


NOT_HANDED: Any = _NotHanded()  # HandOffLot.park(): nothing was handed (till, deadline, dismissed)

_WAITING, _SERVED, _DISMISSED = 0, 1, 2


class _Place:
    """A thread's place in a HandOffLot: the raw lock it sleeps on, what it carries, whether it was served."""

    __slots__ = ("lock", "value", "state")

    def __init__(self, value: Any) -> None:
        self.lock = _allocate_lock()
        self.lock.acquire()
        self.value = value
        self.state = _WAITING


def _wake(lock: Any) -> None:
    try:
        lock.release()
    except RuntimeError:
        pass  # released by its till as well: the mark says it was served (rule 6)


class HandOffLot(Deque[_Place]):
    """A first-in, first-out line where each wake-up hands something over (see the module, rules 6 to 8).

    Every method is called holding the primitive's lock, the `outer` of `park()`.
    """

    __slots__ = ()

    def park(
        self,
        outer: Any,
        till: Any = None,
        deadline: Optional[float] = None,
        offer: Any = None,
        give_back: Optional[Callable[[Any], None]] = None,
    ) -> Any:
        """Sleep until served: return the value `hand()` gave, or None once `take()` took `offer`.

        Returns `NOT_HANDED` when `till` (a Signal) fires, `deadline`
        (`time.monotonic()` seconds) passes or `dismiss_all()` comes first.
        `outer`, the raw lock the caller holds, is released while parked and
        held again on every way out, an exception included. A thread handed a
        value and then interrupted hands it to the next in line, or, with
        nobody in line, calls `give_back(value)`.
        """
        place = _Place(offer)
        lock = place.lock
        self.append(place)
        if till is not None and not till._add_waiter(lock):
            self.remove(place)  # fired already; nobody could serve us: we held `outer`
            return NOT_HANDED
        outer.release()
        late: Optional[BaseException] = None
        try:
            sleep_on(lock, deadline)
        except BaseException as error:
            late = error
        late = _hold(outer, late)
        if till is not None:
            till._remove_waiter(lock)
        if place.state == _WAITING:
            self.remove(place)
        elif place.state == _SERVED:
            if late is None:
                return place.value
            if give_back is not None and not self.hand(place.value):
                give_back(place.value)
        if late is not None:
            raise late
        return NOT_HANDED

    def hand(self, value: Any) -> bool:
        """Give `value` to the first parked thread and wake it; False when nobody is parked."""
        if not self:
            return False
        place = self.popleft()
        place.value = value
        place.state = _SERVED
        _wake(place.lock)
        return True

    def take(self) -> Any:
        """Take and return the offer of the first parked thread, and wake it; the line must not be empty."""
        place = self.popleft()
        value, place.value = place.value, None
        place.state = _SERVED
        _wake(place.lock)
        return value

    def dismiss_all(self) -> None:
        """Wake every parked thread with nothing: its `park()` returns `NOT_HANDED`."""
        while self:
            place = self.popleft()
            place.state = _DISMISSED
            _wake(place.lock)


def _after_fork_in_child() -> None:
    global _main_ident
    _main_ident = threading.main_thread().ident


_runtime.on_fork("_parking", _after_fork_in_child)
