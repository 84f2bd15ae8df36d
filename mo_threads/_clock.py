"""The clock layer: one policy for time, and the seam a fake clock plugs into (internal).

Policy
------
* Every duration is measured on the **monotonic** clock (`time.monotonic()`):
  `Till(seconds=)`, the `deadline=` of threads and groups, `Repeat(every=)`,
  process silence timeouts, the shutdown watchdog's grace period, and every
  `timeout=` of a blocking call. No wall-clock step (NTP, `date -s`, a VM
  resumed after a suspend) moves a pending duration: it is neither early nor late.
* The **wall** clock (`time.time()`) is read only where the user gives an
  absolute unix timestamp, `Till(till=unix_ts)`, and to show a deadline as a
  unix timestamp (`Till.deadline`). A timestamp is converted **once, at
  creation**, to the monotonic timeline (`convert`): `Till(till=ts)` fires
  after the `ts - time.time()` seconds the wall clock showed when it was made.
  A wall-clock step after that does not move it (as with asyncio's `call_at`,
  trio's deadlines, or a POSIX relative timer); code that must follow the wall
  clock across a step (a job at 03:00 sharp on a machine whose clock is being
  corrected) makes its `Till` again when it wakes.
* A fake clock (`mo_threads.testing.fake_clock()`) replaces both readings at
  once (`set_source`) and moves them together.

Readings
--------
`monotonic()` and `wall()` are module attributes rebound by `set_source`; read
them as `_clock.monotonic()` (never `from _clock import monotonic`, which would
keep the reading of import time). A module on a hot path (the timer) keeps the
two functions in its own globals instead, and registers with `on_change` to be
told, and to act (wake its timer thread), when the source changes.

`REAL_MONOTONIC` / `REAL_WALL` are the real readings: code whose waits go to
the OS as lock timeouts (which take real time whatever a fake clock says)
measures them on `REAL_MONOTONIC`.

This module imports nothing of ours (the layer right above vocabulary), holds
no lock and has nothing to renew after `fork()`.
"""

from __future__ import annotations

import math
import time
from typing import Callable, List, Optional, Tuple

__all__ = (
    "REAL_MONOTONIC",
    "REAL_WALL",
    "monotonic",
    "wall",
    "convert",
    "to_wall",
    "wall_offset",
    "set_source",
    "on_change",
    "is_real",
)

Reading = Callable[[], float]
Listener = Callable[[Reading, Reading], None]

REAL_MONOTONIC: Reading = time.monotonic
REAL_WALL: Reading = time.time

# the readings in force: rebound together by set_source
monotonic: Reading = REAL_MONOTONIC
wall: Reading = REAL_WALL

_listeners: List[Listener] = []


OFFSET_TOLERANCE = 1e-6  # seconds a fresh sample may differ before the cached offset is replaced
SAMPLE_TRIES = 3  # samples taken, at most, to get one that no preemption split
_offset = 0.0  # wall() - monotonic(), as last sampled (see wall_offset); measured below, once the helpers exist


def wall_offset() -> float:
    """`wall() - monotonic()` now: what turns a monotonic reading into a unix timestamp.

    Two readings can not be taken at one instant: the wall reading is taken
    between two monotonic ones, and the sample is as good as the gap between
    those (tens of nanoseconds; milliseconds when the thread is preempted in
    between, which a loaded machine does every few thousand samples). The
    offset is kept while a fresh sample stays within `OFFSET_TOLERANCE` (plus
    that gap) of it, so that converting deadlines one after the other keeps
    their order and their equalities; a wall-clock step, a fake clock or a
    slewed clock replaces it at once.
    """
    return _sample()[0]


def _sample() -> Tuple[float, float]:
    """`(offset, monotonic now)`: the kept offset, replaced when a fresh sample shows the clocks moved apart."""
    global _offset
    sample, gap, now = _measure()
    if abs(sample - _offset) > OFFSET_TOLERANCE + gap / 2:
        _offset = sample
    return _offset, now


def _measure() -> Tuple[float, float, float]:
    """`(wall() - monotonic(), error bound, monotonic now)` from the tightest of a few samples."""
    best_gap = math.inf
    sample = now = 0.0
    for _ in range(SAMPLE_TRIES):
        before = monotonic()
        wall_now = wall()
        after = monotonic()
        gap = after - before
        if gap < best_gap:
            best_gap, sample, now = gap, wall_now - (before + after) / 2, after
            if gap <= OFFSET_TOLERANCE:
                break
    return sample, best_gap, now


def convert(unix_time: float) -> Tuple[float, float]:
    """`(deadline, now)`: `unix_time` on the monotonic timeline through the kept offset, and `monotonic()` now.

    Timestamps converted one after the other keep their order and their
    equalities (see `wall_offset`).
    """
    if monotonic is not REAL_MONOTONIC:
        # a fake clock reads both at one instant: the exact sum, so its deadlines land on its own readings
        wall_now = wall()
        now = monotonic()
        return now + (unix_time - wall_now), now
    offset, now = _sample()
    # one constant taken off: rounding keeps the order of the timestamps
    return unix_time - offset, now


def to_wall(monotonic_time: float) -> float:
    """The unix time that `wall()` will show when `monotonic()` reaches `monotonic_time`, as of now."""
    return monotonic_time + wall_offset()


def set_source(monotonic_reading: Optional[Reading] = None, wall_reading: Optional[Reading] = None) -> None:
    """Read time from other functions; None puts the real reading back.

    `monotonic_reading()` must never go backwards; `wall_reading()` returns unix
    seconds. Every listener registered with `on_change` is told, in order.
    """
    global monotonic, wall
    for reading, what in ((monotonic_reading, "monotonic"), (wall_reading, "wall")):
        if reading is not None and not callable(reading):
            raise TypeError(
                "the " + what + " reading must be a function returning seconds, not " + type(reading).__name__
            )
    monotonic = monotonic_reading if monotonic_reading is not None else REAL_MONOTONIC
    wall = wall_reading if wall_reading is not None else REAL_WALL
    for listener in list(_listeners):
        listener(monotonic, wall)


def on_change(listener: Listener) -> None:
    """Call `listener(monotonic, wall)` now and whenever `set_source` changes the readings."""
    _listeners.append(listener)
    listener(monotonic, wall)


def is_real() -> bool:
    """True when both readings are the real clocks (no fake clock in force)."""
    return monotonic is REAL_MONOTONIC and wall is REAL_WALL


_offset = _measure()[0]
