"""`wait_any`: block until the first of several Signals, Queues, Channels, Futures or Threads is ready.

Theory of operation
-------------------
One `Signal`, `wake`, stands for "something may be ready". A `_Waker` fires
it, and is registered with every source through its public hooks only:
`then()` / `remove_then()` on each Signal (a Future's `done`, a Thread's
`stopped`), `watch()` / `unwatch()` on each Queue and Channel. Then every
source is looked at, in the order given, without blocking; the first ready one
wins. If none is, the thread waits on `wake` (and `till`), unregisters, and
looks again. So there is no polling: the thread sleeps until a source changes.

A Queue wakes one parked consumer per item added. If `wait_any` was the one
woken but returns without taking that item (another source won), it passes
the wake-up on to the next parked consumer, so no consumer sleeps beside an
item.
"""

from __future__ import annotations

from time import monotonic as _now
from typing import Any, List, NamedTuple, Optional, Tuple

from mo_threads import _blocking
from mo_threads._parking import hold_signals, park_on, resume_signals
from mo_threads._vocabulary import PLEASE_STOP, ThreadTimeout, check_wait
from mo_threads.channels import Channel
from mo_threads.futures import Future
from mo_threads.queues import Queue
from mo_threads.signals import Signal

__all__ = ("wait_any", "Fired")


class Fired(NamedTuple):
    """What `wait_any` returns: the `source` that was ready and, for a Queue or Channel, the `item` taken."""

    source: Any
    item: Any


class _Waker:
    """Fires `wake` when any source calls back."""

    __slots__ = ("wake",)

    def __init__(self) -> None:
        self.wake = Signal("wait_any")

    def release(self) -> None:
        self.wake.go()


class _WaitAny:
    """What a thread in `wait_any` is blocked on, for dumps and metrics: `name` lists the `sources`."""

    __slots__ = ("name", "sources")

    def __init__(self, entries: List[_Source]) -> None:
        self.sources = [entry.source for entry in entries]
        self.name = " | ".join(entry.describe() for entry in entries)


class _Source:
    """One source: how to look at it without blocking, and how to watch it."""

    __slots__ = ("source", "signal", "kind")

    def __init__(self, source: Any) -> None:
        self.source = source
        self.signal: Optional[Signal] = None
        if isinstance(source, Signal):
            self.kind = "signal"
            self.signal = source
        elif isinstance(source, Channel):
            self.kind = "channel"
        elif isinstance(source, Queue):
            self.kind = "queue"
        elif isinstance(source, Future):
            self.kind = "signal"
            self.signal = source.done
        elif isinstance(getattr(source, "stopped", None), Signal):
            # a Thread, a PoolThread, a ThreadGroup: ready once stopped
            self.kind = "signal"
            self.signal = source.stopped
        else:
            raise TypeError(
                "wait_any() takes Signals, Queues, Channels, Futures and Threads, not " + type(source).__name__
            )

    def describe(self) -> str:
        name = getattr(self.source, "name", None)
        if not isinstance(name, str):
            name = getattr(self.signal, "name", None)
        return name if isinstance(name, str) and name else type(self.source).__name__

    def poll(self) -> Tuple[bool, Any]:
        """(True, item) when ready now, else (False, None); takes the item of a Queue or Channel."""
        kind = self.kind
        if kind == "signal":
            return bool(self.signal), None
        if kind == "channel":
            received: Tuple[bool, Any] = self.source.try_receive()
            return received
        # a Queue: not pop_one(), whose None when empty would swallow a queued None
        taken: Tuple[bool, Any] = self.source._try_pop()
        return taken

    def arm(self, waker: _Waker) -> Any:
        """Watch the source with `waker` (public hooks only); return what `disarm` needs."""
        if self.kind == "signal":
            self.signal.then(waker.release)  # type: ignore[union-attr]
            return None
        return self.source.watch(waker.release)

    def disarm(self, waker: _Waker, watch: Any) -> None:
        if self.kind == "signal":
            self.signal.remove_then(waker.release)  # type: ignore[union-attr]
        else:
            # for a Queue, a wake-up not used is passed on to the next consumer
            self.source.unwatch(watch)


def wait_any(*sources: Any, till: Optional[Signal] = None, timeout: Optional[float] = None) -> Fired:
    """Block until one of `sources` is ready; return `Fired(source, item)`.

    A Signal is ready once fired, a Future once settled, a Thread once stopped
    (`item` is None for these); a Queue or Channel when it has an item, which
    is taken and returned as `item` (a queued `None` too; `PLEASE_STOP` once it is closed and
    drained; a Queue or Channel closed with an error raises that error, as
    `pop()` and `receive()` do). When several are ready, the first in
    argument order wins.

    Raises `ThreadTimeout` (a `TimeoutError`) when `till` fires or `timeout`
    passes first, `ValueError` without sources.
    """
    timeout = check_wait(till, timeout)
    if not sources:
        raise ValueError("wait_any() needs at least one source")
    entries = [_Source(source) for source in sources]
    found = _poll(entries)
    if found is not None:
        return found
    # slow path: recorded for dumps and metrics (kind "wait_any", named after the sources)
    record = _blocking.begin("wait_any", _WaitAny(entries), bounded=till is not None or timeout is not None)
    try:
        deadline = None if timeout is None else _now() + timeout
        while True:
            if deadline is not None and deadline <= _now():
                break
            if till is not None and till._go:
                break
            waker = _Waker()
            armed: List[Tuple[_Source, Any]] = []
            try:
                for entry in entries:
                    armed.append((entry, entry.arm(waker)))
                found = _poll(entries)
                if found is not None:
                    return found
                # woken, the main thread holds its signal handlers until what _poll takes is
                # returned, or given back (see _parking)
                park_on(waker.wake, till, deadline, hold=True)
                hold_signals()  # also when it did not sleep: the same hold for the take below
            finally:
                for entry, watch in armed:
                    entry.disarm(waker, watch)
            found = None
            try:
                found = _poll(entries)  # may raise a close error
            finally:
                resume_signals(_give_back, found)
            if found is not None:
                return found
    finally:
        _blocking.end(record)
    raise ThreadTimeout("Timeout in wait_any over " + str(len(sources)) + " sources")


def _give_back(found: Optional[Fired]) -> None:
    """Interrupted before `wait_any` returned `found`: a Queue's item or a Channel's value goes back, to its next taker.

    The end of a closed queue or channel is nothing to give back.
    """
    if found is None or found.item is PLEASE_STOP:
        return
    source = found.source
    if isinstance(source, Queue):
        source._give_back(found.item)
    elif isinstance(source, Channel):
        source._put_back(found.item)


def _poll(entries: List[_Source]) -> Optional[Fired]:
    for entry in entries:
        ready, item = entry.poll()
        if ready:
            return Fired(entry.source, item)
    return None
