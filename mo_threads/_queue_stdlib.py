"""The `queue.Queue` adapter of `Queue`: the methods that exist to look like the stdlib's queue (internal).

`QueueStdlibMethods` is a mixin that the queue core's `Queue` (`_queue_core`)
inherits; its public home is `mo_threads.queues`. It holds no state and adds
no call on the hot paths: Python finds its methods on `Queue` as it finds
`Queue`'s own, and each does what it did when it was written in `Queue`:

- `put` / `put_nowait` are `add` (`put_nowait` forces the add, as 6.x does);
- `get` / `get_nowait` are `pop` that raise `QueueEmpty` (a `queue.Empty`)
  instead of returning None on give-up (`timeout=0` when not blocking);
- `qsize`, `empty`, `full`, `maxsize` read the storage hooks;
- `task_done` and `join` keep the stdlib's count of unfinished items.

It works on the core's storage hooks and lines of waiters (declared below for
type checkers; `Queue` binds them), so `PriorityQueue` gets it unchanged.

join()
------
`join()` returns when every item added was `task_done()`'d (the stdlib rule)
or when the queue is closed and drained (the 6.x rule). Every add counts in
`_unfinished`. An open queue's joiner parks in `_joiners`, woken by the
`task_done()` that brings the count to zero and by `close()`. A closed queue's
joiner parks in `_putters`: once closed, no producer waits there, and every
take already wakes one waiter of that line, so the take that empties the queue
wakes a joiner at no cost to the fast path (the core's `_wake_putter` skips the
wake-up while items are left); that joiner wakes the others.

It sits below the queue core (which imports it), so the deadline of a
`timeout=` (`deadline()`) is here too, for both.
"""

from __future__ import annotations

from threading import TIMEOUT_MAX as _TIMEOUT_MAX
from time import monotonic as _monotonic
from typing import Any, Callable, Optional, TypeVar

from mo_threads._blocking import begin as _begin_wait
from mo_threads._blocking import end as _end_wait
from mo_threads._parking import ParkingLot
from mo_threads._vocabulary import PLEASE_STOP, ThreadTimeout, check_till, check_timeout
from mo_threads.signals import Signal

__all__ = ("QueueStdlibMethods", "deadline")

_Q = TypeVar("_Q", bound="QueueStdlibMethods")


def deadline(timeout: Optional[float]) -> Optional[float]:
    """The monotonic deadline of a checked `timeout=` (None: no deadline, also past what the OS can wait)."""
    if timeout is None:
        return None
    seconds = check_timeout(timeout, "timeout")
    if seconds >= _TIMEOUT_MAX:
        return None  # longer than the OS can wait: for ever, as Signal.wait and Lock treat it
    return _monotonic() + seconds


class QueueStdlibMethods:
    """The `queue.Queue` methods of `Queue`: `put`, `get`, `task_done`, `join`, ... (a mixin)."""

    # items added and not yet task_done(): every add of the core counts here
    __slots__ = ("_unfinished",)
    _unfinished: int

    # what the queue core binds (see _queue_core.Queue)
    name: str
    _lock: Any
    _limit: Optional[int]
    _is_closed: bool
    _putters: ParkingLot
    _joiners: ParkingLot
    _get: Callable[[], Any]
    _qsize: Callable[[], int]
    add: Callable[..., Any]
    _wait_for_item: Callable[[Optional[Signal], Optional[float], Optional[str]], Any]
    _end: Callable[[], Any]
    _wake_putter: Callable[[], None]
    _wake_putters: Callable[[], None]

    def put(self, item: Any, block: bool = True, timeout: Optional[float] = None, till: Optional[Signal] = None) -> None:
        """`queue.Queue.put`: add, waiting up to `timeout` for room (or until `till` fires); raise `queue.Full`."""
        self.add(item, timeout=timeout if block else 0, till=till)

    def put_nowait(self, item: Any) -> None:
        """Add `item` now, even past `max`: it never waits and never raises `queue.Full`.

        This is what 6.x does (it forces the add), and differs from
        `queue.Queue.put_nowait`; use `put(item, block=False)` to get
        `queue.Full` from a full queue. A closed queue still raises
        `QueueClosed` (see `allow_add_after_close`).
        """
        self.add(item, force=True)

    def get(self, block: bool = True, timeout: Optional[float] = None, till: Optional[Signal] = None) -> Any:
        """`queue.Queue.get`: take the next item; raise `queue.Empty` if none comes in `timeout` (or before `till` fires).

        On a closed and drained queue returns `PLEASE_STOP` (never blocks for
        ever), or raises the error given to `close()`.
        """
        wait_until = deadline(timeout if block else 0)
        if till is not None:
            check_till(till)
        try:
            value = self._get()
        except IndexError:
            value = self._wait_for_item(till, wait_until, "Queue " + repr(self.name) + " is empty")
            if value is PLEASE_STOP:
                return self._end()
            return value
        if self._putters:
            self._wake_putter()
        return value

    def get_nowait(self) -> Any:
        """`queue.Queue.get_nowait`: take the next item or raise `queue.Empty`."""
        return self.get(block=False)

    def qsize(self) -> int:
        """How many items are queued now."""
        return self._qsize()

    def empty(self) -> bool:
        """True when no item is queued now."""
        return not self._qsize()

    def full(self) -> bool:
        """True when `max` items are queued now (never for an unbounded queue)."""
        return self._limit is not None and self._qsize() >= self._limit

    @property
    def maxsize(self) -> int:
        """`queue.Queue.maxsize`: the bound, 0 for unbounded."""
        return self._limit or 0

    def task_done(self) -> None:
        """`queue.Queue.task_done`: one item taken earlier is fully processed.

        Raises ValueError when called more times than items were added.
        """
        with self._lock:
            if self._unfinished <= 0:
                raise ValueError("task_done() called too many times on queue " + repr(self.name))
            self._unfinished -= 1
            if not self._unfinished:
                self._joiners.unpark_all()

    def join(self: _Q, till: Optional[Signal] = None) -> _Q:
        """Block until the queue is done with; return the queue.

        It is done with when either holds:

        - `task_done()` was called for every item added (the `queue.Queue`
          rule): a queue that was never given an item, or whose every item
          was `task_done()`'d, returns at once, closed or not;
        - the queue is closed and drained: every item was taken, whether or
          not anybody called `task_done()` (the 6.x rule).

        So code that closes a queue and lets consumers take everything
        returns from `join()` without calling `task_done()`, and code written
        for `queue.Queue` works unchanged. Unlike 6.x, an open queue with
        nothing unfinished does not wait for the close. Raises
        `THREAD_TIMEOUT` when `till` fires first (6.x returned instead).
        """
        check_till(till)
        lock = self._lock
        record = None  # the blocking record, made at the first park (one per call)

        def drained() -> bool:
            # looked at once in line: a lock-free pop may have taken the last item before it saw us
            return not self._qsize()

        try:
            with lock:
                while True:
                    if not self._unfinished:
                        return self
                    closed = self._is_closed
                    if closed and not self._qsize():
                        # drained: one joiner was woken (by the pop that took the last
                        # item); wake the rest of the line, all joiners once closed
                        self._wake_putters()
                        return self
                    if till is not None and till._go:
                        break
                    if record is None:
                        record = _begin_wait("Queue", self, till is not None)
                    if closed:
                        # it waits for the queue to be empty, in the producers' line (no
                        # producer waits there once closed), which every pop looks at
                        self._putters.park(lock, till, None, drained)
                    else:
                        # task_done() (to zero) or close() wakes it
                        self._joiners.park(lock, till)
        finally:
            if record is not None:
                _end_wait(record)
        raise ThreadTimeout("Timeout on join of queue " + repr(self.name))
