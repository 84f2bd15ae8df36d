"""Test helpers: a fake clock for Till.

    with fake_clock() as clock:
        hour = Till(seconds=3600)
        clock.advance(3600)   # hour fires now, without waiting

Inside the block Till reads the fake clock, which has the two readings of the
clock policy (`mo_threads._clock`): a monotonic one, the timeline of every
deadline (`Till(seconds=)`, `mo_threads.till.monotonic()`), and a wall one, for
unix timestamps (`Till(till=)`, `Till.deadline`, `mo_threads.till.now()`).
They start at the real `time.monotonic()` and `time.time()` and move only by
`advance`, both by the same amount: `Till(seconds=3600)` and
`Till(till=mo_threads.till.now() + 3600)` fire together after `advance(3600)`.
So does every timer built on Till's clock: any `till=Till(...)`, the
`deadline=` of threads, thread groups and `supervise`, `Repeat(every=, until=)`,
`Process` silence timeouts and kill grace period, `Command(timeout=)`, and
`Channel.async_receive(timeout=)`.

A `timeout=` (or `seconds=`) given to a blocking call goes to the OS as a lock
timeout and takes real time: `Thread.join`, `Signal.wait`, `Lock.acquire`/`wait`, `Queue`
adds and pops, `Future.wait`, `Channel.send`/`receive`, `Semaphore`, `Barrier`,
`Latch`, `wait_any`; so do restart `backoff=` and `ThreadedQueue(period=)`.
Pass `till=Till(seconds=...)` instead to have such a wait follow the fake clock.

Leaving the block restores the real clocks; Tills made inside the block keep
their fake deadlines (on the monotonic timeline, which the fake one started
from: a Till of a fake hour not advanced through fires an hour of real time after it was made).
"""

from __future__ import annotations

import math
import threading
from contextlib import contextmanager
from typing import Iterator, Optional

from mo_threads import _clock, _runtime, till as _till
from mo_threads._vocabulary import check_number

__all__ = ("FakeClock", "fake_clock")

_activation = threading.Lock()
_active = False


def _after_fork_in_child() -> None:
    # a thread that is gone may have held it (_runtime)
    global _activation
    _activation = threading.Lock()


_runtime.on_fork("testing", _after_fork_in_child)


class FakeClock:
    """A clock that moves only when told to: `now()` (unix seconds) and `monotonic()` move together."""

    __slots__ = ("_wall", "_monotonic", "_elapsed", "_lock")

    def __init__(self, start: float, monotonic_start: Optional[float] = None) -> None:
        self._wall = start
        self._monotonic = _clock.REAL_MONOTONIC() if monotonic_start is None else monotonic_start
        self._elapsed = 0.0  # one number, so the two readings never disagree
        self._lock = threading.Lock()

    def now(self) -> float:
        """The fake wall-clock time, as a unix timestamp."""
        return self._wall + self._elapsed

    def monotonic(self) -> float:
        """The fake monotonic time: the timeline of durations and deadlines."""
        return self._monotonic + self._elapsed

    def advance(self, seconds: float) -> None:
        """Move both readings forward `seconds` (>= 0) and wake the timer so due Tills fire.

        Raises TypeError for a non-number, ValueError for a negative, NaN or
        infinite amount, at the call (a NaN reaching the timer would stop it for
        good). Firing happens on the timer thread: a Till that came due is fired
        shortly after this returns; wait on it to be sure.
        """
        seconds = check_number(seconds, "FakeClock.advance(seconds)", "a finite number of seconds")
        if seconds < 0 or math.isinf(seconds):
            raise ValueError("FakeClock.advance(seconds) takes a finite number of seconds >= 0, not " + repr(seconds))
        with self._lock:
            self._elapsed += seconds
        _till.wake_timer()


@contextmanager
def fake_clock() -> Iterator[FakeClock]:
    """Make Till read a fake clock inside the block; the real clocks come back on exit.

    Not reentrant: raises RuntimeError if a fake clock is already active.
    """
    global _active
    with _activation:
        if _active:
            raise RuntimeError("fake_clock() is already active")
        _active = True
    try:
        clock = FakeClock(_clock.REAL_WALL(), _clock.REAL_MONOTONIC())
        _till.set_clock(clock.now, monotonic=clock.monotonic)
        try:
            yield clock
        finally:
            _till.set_clock(None)
    finally:
        _active = False
