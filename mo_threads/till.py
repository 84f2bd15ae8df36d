"""`Till`: a Signal that fires at a deadline, driven by one timer thread.

Theory of operation
-------------------
Every pending `Till` is an entry `(deadline, sequence, reference)` in one heap,
owned by the `_Timer` below and guarded by its lock. A single daemon thread
sleeps until the earliest deadline (a timed acquire of its "bell" lock, which
lasts as long as `time.sleep` would), fires every entry that is due, and sleeps
again. Adding a deadline earlier than the one it sleeps towards rings the bell,
so there is no polling interval and a timer is never late by more than the OS
wake-up latency.

The heap holds a `Till` weakly, so a timer nobody references (a dropped
`Till(seconds=60) | please_stop`) costs nothing once collected: a weakref
callback counts such entries, and the heap is rebuilt without them when they
outnumber the live ones. A `Till` given `then()` callbacks, or a part of a
combination given some, is held strongly until it fires (or until they are
removed, or the combination fired), so its callbacks run even when the caller
keeps no reference.

The thread starts on the first `Till` (if it can not, that Till raises, and the
next one tries again). `stop_main_thread` takes every pending `Till` off the
heap as it begins (`take_pending()`) and fires them at once once it asked the
threads to stop, before it joins them (`fire_taken()`), so no thread asleep
on one holds the shutdown up; timers made meanwhile wait their time. `shutdown()` (called last) fires what is pending again and stops the
thread; later timers fire at once until `reset()`.

Clock
-----
Deadlines live on one timeline, the monotonic clock (the policy is in
`_clock`): `Till(seconds=)` reads `time.monotonic()` once, and the timer
thread compares the heap with it, so a wall-clock step (NTP, `date -s`, a VM
resumed after a suspend) never makes a pending Till fire early or late.
`Till(till=unix_ts)` reads the wall clock once, at creation, and converts the
timestamp to that timeline: it fires after the `ts - time.time()` seconds the
wall clock showed then, and a later step does not move it. `Till.deadline`
converts back, by the wall clock of the moment it is read. A fake clock
(`set_clock`, `mo_threads.testing.fake_clock()`) replaces both readings.
"""

from __future__ import annotations

import _thread
import heapq
import math
import sys
import threading
from typing import Any, Callable, Dict, List, Optional, Tuple
from weakref import ref

from mo_logs import logger

from mo_threads import _clock, _runtime
from mo_threads._vocabulary import check_number
from mo_threads.signals import ErrorHandler, Signal

__all__ = ("Till",)

# Till's readings of the clock, kept as globals for speed; `_follow` rebinds
# them whenever `_clock.set_source` (set_clock, a fake clock) changes the source
_monotonic = _clock.REAL_MONOTONIC  # the timeline of every deadline
_wall = _clock.REAL_WALL  # read only to convert a unix timestamp


class Till(Signal):
    """A Signal that fires at a time: `Till(seconds=2)` or `Till(till=unix_timestamp)`.

    It never fires before its deadline. `Till(seconds=0)` (or a deadline already
    past, or a negative number of seconds) is done at once.
    """

    __slots__ = ("_deadline",)

    def __init__(self, till: Optional[float] = None, seconds: Optional[float] = None) -> None:
        if seconds is not None:
            if till is not None:
                raise TypeError("Till() takes till= or seconds=, not both")
            now = _monotonic()
            deadline = now + check_number(seconds, "Till(seconds=)")
        elif till is not None:
            at = check_number(till, "Till(till=)")
            if at < 0:
                raise ValueError("Till(till=) is a unix timestamp and can not be negative: " + repr(till))
            # converted once, now, to the monotonic timeline: a later wall-clock step does not move it.
            # Through the kept offset (not two fresh readings), so that timestamps made one after
            # the other keep their order once converted
            deadline, now = _clock.convert(at)
        else:
            raise TypeError("Till() needs seconds= (a duration) or till= (a unix timestamp)")
        Signal.__init__(self, None)
        self._deadline = deadline
        if deadline <= now:
            self._go = True
        else:
            _TIMER.add(self, deadline)

    @property
    def name(self) -> str:
        if self._name is None:
            return "Till(" + ("done" if self._go else _describe(self._deadline)) + ")"
        return Signal.name.fget(self)  # type: ignore[attr-defined,no-any-return]

    @property
    def deadline(self) -> float:
        """The unix timestamp at which this fires, by the wall clock of the moment it is read.

        The Till itself waits on the monotonic clock: after a wall-clock step
        this moves with the step, and the Till still fires after the same interval.
        """
        return self._deadline + _clock.wall_offset()

    @property
    def monotonic_deadline(self) -> float:
        """When this fires, on the monotonic timeline of `mo_threads.till.monotonic()`."""
        return self._deadline

    def remaining(self) -> float:
        """Seconds left before this fires (0 once done)."""
        if self._go:
            return 0.0
        return max(0.0, self._deadline - _monotonic())

    def then(self, target: Callable[[], Any], error: Optional[ErrorHandler] = None) -> Signal:
        """Run `target()` once when this fires (see `Signal.then`).

        The timer keeps this Till until it fires, so the callback runs even if
        the caller keeps no reference to it.
        """
        Signal.then(self, target, error)
        self._hold()
        return self

    def remove_then(self, target: Callable[[], Any]) -> bool:
        """Forget a callback added with `then()`; True when it was registered.

        A Till whose callbacks were all removed is no longer kept alive by the
        timer: cancelling its callbacks releases it (and what they reference).
        """
        if Signal.remove_then(self, target):
            _TIMER.let_go(self)
            return True
        return False

    def _hold(self) -> None:
        # a timer with callbacks (its own, or a combination's) must fire even if nobody else holds it
        if not self._go:
            _TIMER.keep_alive(self)

    def _unhold(self) -> None:
        # a combination that held this one fired: it no longer needs us
        _TIMER.let_go(self)


def _describe(deadline: float) -> str:
    left = deadline - _monotonic()
    return "in %.3fs" % left if left > 0 else "due now"


class _Exit:
    """Whether the interpreter has begun to exit (set by the exit hook of `threads`).

    From then on Python may refuse new threads (3.12 does, to threads other than
    main, while the main thread still counts as alive), so a timer thread that
    can not start means no timer would ever fire: they all fire at once instead.
    """

    started = False


_EXIT = _Exit()


def interpreter_exiting() -> None:
    """Say that the interpreter exits (the exit hook calls this before shutting down)."""
    _EXIT.started = True


class _Timer:
    """The heap of pending timers and the one thread that fires them."""

    __slots__ = (
        "_lock",
        "_heap",
        "_sequence",
        "_bell",
        "_bell_rung",
        "_next",
        "_thread",
        "_closed",
        "_strong",
        "_dead",
        "_on_collected",
    )

    def __init__(self) -> None:
        self._lock = _thread.allocate_lock()
        self._heap: List[Tuple[float, int, Any]] = []
        self._sequence = 0
        self._bell = _thread.allocate_lock()  # held by the timer thread; released to wake it
        self._bell_rung = False
        self._next = math.inf  # the deadline the timer thread sleeps towards
        self._thread: Optional[threading.Thread] = None
        self._closed = False
        # timers held until they fire, with how many reasons: their own then()
        # callbacks, and combinations with callbacks that rely on them
        self._strong: Dict[Till, int] = {}
        # entries whose Till was collected before its deadline (roughly: the count is
        # kept without a lock); when they outnumber the live ones the heap is rebuilt
        self._dead = 0
        self._on_collected = self._count_collected  # one bound method, shared by every entry

    def add(self, till: Till, deadline: float) -> None:
        """Fire `till` at `deadline`; starts the timer thread on first use.

        Raises RuntimeError when the thread can not start (and nothing is left
        half-done); while the interpreter exits, fires every pending timer at
        once instead, as `shutdown()` does.
        """
        failure = None
        with self._lock:
            if self._closed:
                till._go = True
                return
            self._sequence += 1
            heap = self._heap
            if self._dead > _PURGE_AT and self._dead * 2 > len(heap):
                self._purge()
            heapq.heappush(heap, (deadline, self._sequence, ref(till, self._on_collected)))
            if deadline < self._next:
                self._next = deadline
                if self._thread is None:
                    failure = self._start()
                else:
                    self._ring()
        if failure is not None:
            if threading.main_thread().is_alive() and not _EXIT.started:
                raise RuntimeError("Till: the timer thread can not start: " + str(failure)) from failure
            # the interpreter is exiting and refuses new threads: nothing would ever
            # fire these timers, so fire them all now
            self.shutdown()

    def _count_collected(self, _: Any) -> None:
        # a weakref callback: it may run anywhere, even inside a garbage collection
        # that started under self._lock, so it takes no lock
        self._dead += 1

    def _purge(self) -> None:
        # caller holds self._lock: drop the entries of collected timers
        heap = self._heap
        heap[:] = [entry for entry in heap if entry[2]() is not None]
        heapq.heapify(heap)
        self._dead = 0

    def keep_alive(self, till: Till) -> None:
        """Hold `till` strongly until it fires (or `let_go` undoes this)."""
        strong = self._strong
        with self._lock:
            if not self._closed:
                strong[till] = strong.get(till, 0) + 1
        if till._go:
            # fired while we added it: the timer thread may have let go already
            strong.pop(till, None)

    def let_go(self, till: Till) -> None:
        """Undo one `keep_alive(till)`."""
        strong = self._strong
        with self._lock:
            count = strong.get(till)
            if count is not None:
                if count > 1:
                    strong[till] = count - 1
                else:
                    strong.pop(till, None)

    def _ring(self) -> None:
        # caller holds self._lock
        if not self._bell_rung and self._thread is not None:
            self._bell_rung = True
            self._bell.release()

    def _start(self) -> Optional[BaseException]:
        # caller holds self._lock; returns why the thread could not start, if it could not.
        # Each thread gets its own bell, so a thread left over from before a
        # reset can never swallow a wake-up meant for its successor
        bell = _thread.allocate_lock()
        bell.acquire()
        self._bell = bell
        self._bell_rung = False
        thread = threading.Thread(target=self._run, args=(bell,), name="mo-threads timer", daemon=True)
        self._thread = thread
        try:
            thread.start()
        except RuntimeError as cause:
            # no thread: the next timer tries again
            self._thread = None
            self._next = math.inf
            return cause
        return None

    def _run(self, bell: Any) -> None:
        lock, heap = self._lock, self._heap
        while True:
            due: List[Any] = []
            with lock:
                if self._bell is not bell:
                    return
                now = _monotonic()
                while heap and heap[0][0] <= now:
                    due.append(heapq.heappop(heap)[2])
                delay = heap[0][0] - now if heap else None
                self._next = heap[0][0] if heap else math.inf
                if self._bell_rung:
                    # rung since our last sleep; if that sleep timed out the bell is
                    # still released: take it, so the next ring finds it held
                    bell.acquire(False)
                    self._bell_rung = False
            if due:
                for reference in due:
                    self._fire(reference())
                # callbacks take time: look at the clock again before sleeping
                continue
            if delay is None:
                bell.acquire()
            else:
                bell.acquire(True, min(delay, _LONGEST_SLEEP))

    def _fire(self, till: Optional[Till]) -> None:
        if till is None:
            # its entry leaves the heap: one dead entry fewer
            if self._dead > 0:
                self._dead -= 1
            return
        try:
            till.go()
        except BaseException as cause:
            logger.warning("Failed to fire {name}", name=till.name, cause=cause)
        finally:
            self._strong.pop(till, None)

    def take_pending(self) -> List[Any]:
        """Take every timer pending now off the heap, for `fire`; later ones wait their time."""
        with self._lock:
            return self._take_pending()

    def fire(self, taken: List[Any]) -> None:
        """Fire the timers `take_pending` took."""
        for reference in taken:
            self._fire(reference())

    def _take_pending(self) -> List[Any]:
        # caller holds self._lock: empty the heap, in deadline order; the timer
        # thread, woken, finds nothing due and sleeps until the next timer
        pending = [entry[2] for entry in sorted(self._heap)]
        self._heap.clear()
        self._dead = 0
        self._next = math.inf
        self._ring()
        return pending

    def shutdown(self) -> None:
        """Fire every pending timer now and stop the thread (last step of shutdown)."""
        with self._lock:
            self._closed = True
            pending = self._take_pending()
            thread, self._thread = self._thread, None
            self._bell = _thread.allocate_lock()  # orphan the old thread's bell: it exits
        for reference in pending:
            self._fire(reference())
        self._strong.clear()
        if thread is not None and thread is not threading.current_thread():
            thread.join(5)

    def after_fork(self) -> None:
        """In a forked child: only the forking thread survives, the timer thread
        does not, and the lock may have been held by a thread that is gone."""
        self._lock = _thread.allocate_lock()
        self._thread = None
        self._bell_rung = False
        self._next = math.inf
        if self._heap and not self._closed:
            # timers made before the fork still fire in the child
            self._start()

    def reopen(self) -> None:
        """Accept timers again after `shutdown()`."""
        with self._lock:
            self._closed = False

    def pending(self) -> int:
        """How many timers wait in the heap (dropped ones included until due)."""
        return len(self._heap)


_PURGE_AT = 1000  # collected-but-pending entries tolerated before a purge is considered

# Before 3.11 CPython times a lock acquire on the wall clock (sem_timedwait), so a
# step backwards would stretch the timer's sleep by the size of the step; it wakes
# at least once a second there to look at the monotonic clock. From 3.11 on (glibc
# 2.30+) the OS waits on CLOCK_MONOTONIC and the timer sleeps to the deadline in one piece.
_LONGEST_SLEEP = threading.TIMEOUT_MAX if sys.version_info >= (3, 11) else 1.0

_TIMER = _Timer()

_runtime.on_fork("till", _TIMER.after_fork)


def take_pending() -> List[Any]:
    """Take every Till pending now off the timer, to fire with `fire_taken`; the ones made later wait their time.

    The shutdown takes them before it asks the threads to stop and fires them
    after: a thread woken by its Till finds please_stop set, and a Till made
    while the threads are asked (a Process's kill timer, say) is not one of them.
    """
    return _TIMER.take_pending()


def fire_taken(taken: List[Any]) -> None:
    """Fire, at once, the Tills `take_pending()` took."""
    _TIMER.fire(taken)


def shutdown() -> None:
    """Fire every pending Till at once and stop the timer thread."""
    _TIMER.shutdown()


def reset() -> None:
    """Start afresh after `shutdown()`: new timers wait again (tests use this)."""
    _TIMER.shutdown()
    _TIMER.reopen()


def now() -> float:
    """The wall-clock time on Till's clock, in unix seconds: `time.time()` unless a fake clock replaced it.

    For an absolute timestamp only (`Till(till=now() + ...)` follows a fake
    clock in tests). To measure a duration, read `monotonic()`: a wall-clock
    step moves this reading, not that one.
    """
    return _wall()


def monotonic() -> float:
    """Till's timeline, in seconds: `time.monotonic()` unless a fake clock replaced it.

    Durations and deadlines computed from them belong here: a wall-clock step
    does not move this reading. `at(deadline)` makes a Till on it.
    """
    return _monotonic()


def at(deadline: float) -> Till:
    """A Till that fires when `monotonic()` reaches `deadline` (seconds on Till's monotonic timeline).

    For code that keeps a schedule (`next = monotonic() + period`, then
    `at(next)`, ...) without a wall-clock reading, so no wall-clock step moves it.
    """
    deadline = check_number(deadline, "at(deadline)")
    till = Till.__new__(Till)
    Signal.__init__(till, None)
    till._deadline = deadline
    if deadline <= _monotonic():
        till._go = True
    else:
        _TIMER.add(till, deadline)
    return till


def then_unless_dropped(
    till: Signal, callback: Callable[[], Any], lock: Any, armed: Callable[[], Optional[Tuple[Any, Any]]]
) -> None:
    """`till.then(callback)` for a timer kept as `(till, callback)` in a slot that `armed()` reads under `lock`.

    Another thread may drop (or replace) the slot just before `then()` runs; its
    `remove_then()` found nothing to remove. So once registered, the slot is
    looked at again under `lock`, and the callback removed if it is no longer
    the armed one: a dropped timer never keeps its owner alive until it fires.
    """
    till.then(callback)
    with lock:
        timer = armed()
    if timer is None or timer[1] is not callback:
        till.remove_then(callback)


def set_clock(now: Optional[Callable[[], float]] = None, monotonic: Optional[Callable[[], float]] = None) -> None:
    """Make every Till read other clocks; `set_clock()` (or None) restores the real ones.

    `now()` gives the wall-clock time (unix seconds), `monotonic()` the timeline
    of durations (never going backwards). Given `now` alone, that one function
    drives both: every Till reads `now()`, as before the clock policy. The timer
    thread is woken so that Tills due by the new clock fire at once.
    `mo_threads.testing.fake_clock()` is built on this.
    """
    for reading in (now, monotonic):
        if reading is not None and not callable(reading):
            raise TypeError("set_clock expects functions returning seconds, not " + type(reading).__name__)
    if monotonic is None and now is not None:
        monotonic = now
    _clock.set_source(monotonic, now)


def _follow(monotonic: Callable[[], float], wall: Callable[[], float]) -> None:
    # told by the clock layer when its source changes
    global _monotonic, _wall
    _monotonic, _wall = monotonic, wall
    wake_timer()


def wake_timer() -> None:
    """Have the timer thread look at the clock again (after the clock moved)."""
    with _TIMER._lock:
        _TIMER._ring()


_clock.on_change(_follow)


def timer_statistics() -> Dict[str, Any]:
    """A snapshot of the timer: pending entries and whether its thread runs."""
    return {"pending": _TIMER.pending(), "running": _TIMER._thread is not None}
