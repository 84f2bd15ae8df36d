"""Test helpers: a fake clock for Till.

    with fake_clock() as clock:
        hour = Till(seconds=3600)
        clock.advance(3600)   # hour fires now, without waiting

Inside the block every Till reads the fake time, which starts at the real time
and moves only by `advance`. So does every timer built on Till's clock
(`mo_threads.till.now()`): any `till=Till(...)`, the `deadline=` of threads,
thread groups and `supervise`, `Repeat(every=, until=)`, `Process` silence
timeouts and kill grace period, `Command(timeout=)`, and
`Channel.async_receive(timeout=)`.

A `timeout=` (or `seconds=`) given to a blocking call goes to the OS as a lock
timeout and takes real time: `Thread.join`, `Signal.wait`, `Lock.acquire`/`wait`, `Queue`
adds and pops, `Future.wait`, `Channel.send`/`receive`, `Semaphore`, `Barrier`,
`Latch`, `wait_any`; so do restart `backoff=` and `ThreadedQueue(period=)`.
Pass `till=Till(seconds=...)` instead to have such a wait follow the fake clock.

Leaving the block restores the real clock; Tills made inside the block keep
their fake deadlines.
"""

from __future__ import annotations

import threading
from time import time as _real_time
from typing import Iterator
from contextlib import contextmanager

from mo_threads import _runtime, till as _till

__all__ = ("FakeClock", "fake_clock")

_activation = threading.Lock()
_active = False


def _after_fork_in_child() -> None:
    # a thread that is gone may have held it (_runtime)
    global _activation
    _activation = threading.Lock()


_runtime.on_fork("testing", _after_fork_in_child)


class FakeClock:
    """A clock that moves only when told to; read it with `now()`."""

    __slots__ = ("_now", "_lock")

    def __init__(self, start: float) -> None:
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> float:
        """The fake time, as a unix timestamp."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward `seconds` (>= 0) and wake the timer so due Tills fire.

        Raises ValueError for a negative amount. Firing happens on the timer
        thread: a Till that came due is fired shortly after this returns; wait
        on it to be sure.
        """
        if seconds < 0:
            raise ValueError("FakeClock.advance(seconds) can not go backwards: " + repr(seconds))
        with self._lock:
            self._now += seconds
        _till.wake_timer()


@contextmanager
def fake_clock() -> Iterator[FakeClock]:
    """Make Till read a fake clock inside the block; the real clock comes back on exit.

    Not reentrant: raises RuntimeError if a fake clock is already active.
    """
    global _active
    with _activation:
        if _active:
            raise RuntimeError("fake_clock() is already active")
        _active = True
    clock = FakeClock(_real_time())
    _till.set_clock(clock.now)
    try:
        yield clock
    finally:
        _till.set_clock(None)
        _active = False
