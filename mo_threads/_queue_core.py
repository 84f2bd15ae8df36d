"""The queue core: `Queue` and `PriorityQueue` (and `Watch`); their public home is `mo_threads.queues`.

Theory of operation
-------------------
A `Queue` is a deque guarded by one raw `_thread` lock. Items pass by
reference: nothing is copied or serialized.

The add-to-pop path is kept lean: under the lock `add` appends, and `pop`
takes without the lock (taking from the left of a deque is atomic); neither
allocates anything. Only a thread that must wait allocates: a consumer that
finds the queue empty (or a producer that finds it full) parks in the
`_getters` (or `_putters`) `ParkingLot` (see `_parking`, which holds the race
reasoning once). A producer wakes one parked consumer only when there is one
(`unpark()`); a consumer likewise wakes one parked producer after it takes an
item. A woken thread always looks at the queue again before deciding what to
return, so a wake-up that raced with a timeout is never lost: if an item is
there, it is taken; and a thread woken and then interrupted (Ctrl-C) passes the
wake-up to the next in line. A producer looks at the room again once in line
(`park(ready=)`), since pops take no lock. Only a thread that parks is recorded
in `_blocking` (kind "Queue"), once per call.

`watch(callback)` puts a `Watch` in the consumers' line: an add wakes it like a
parked consumer, by calling `release()`, which runs the callback. `unwatch()`
passes on a wake-up the watcher did not use. This is how `wait_any` and
`async_pop` wait on a queue without a thread parked in `pop()`.

A wait with `till=` parks the same waiter on that Signal too, so whichever
comes first wakes it; `timeout=` is a deadline of the park, honoured to within
the OS wake-up latency. No `Till` is made per item or per wait.

The storage is reached only through hooks that `_init()` binds: `_put`,
`_put_front`, `_put_all`, `_get`, `_get_all`, `_qsize`, `_contains` (as in the stdlib
`queue.Queue` template). `PriorityQueue` rebinds them to its lanes; everything
else (closing, blocking, waking, timeouts) is shared.

The `queue.Queue` interface (`put`, `get`, `qsize`, `task_done`, `join`, ...)
is the mixin `QueueStdlibMethods` (`_queue_stdlib`), on these same hooks. The
core keeps what it needs: every add counts in `_unfinished`, and a take wakes a
closed queue's joiner through `_wake_putter` (see `join()` there).

Closing (`close()`, or adding `PLEASE_STOP`) wakes every waiting thread.
Consumers still get what was queued before the close; once the queue is closed
and drained, `pop()` returns `PLEASE_STOP` (the same object every time), or,
after `close(error)`, raises that error (every consumer, every time).
"""

from __future__ import annotations

import _thread
from collections import deque
from time import monotonic as _monotonic
from typing import Any, Callable, Deque, Generic, Iterable, Iterator, List, Optional, Tuple, TypeVar

from mo_logs import logger

from mo_threads._blocking import begin as _begin_wait
from mo_threads._blocking import end as _end_wait
from mo_threads import _parking
from mo_threads._parking import ParkingLot, resume_signals
from mo_threads._queue_stdlib import QueueStdlibMethods
from mo_threads._queue_stdlib import deadline as _deadline
from mo_threads._vocabulary import (
    PLEASE_STOP,
    QueueClosed,
    QueueEmpty,
    QueueFull,
    as_closed,
    check_count,
    check_name,
    check_till,
    raise_as_closed,
)
from mo_threads.signals import Signal

__all__ = ("Queue", "PriorityQueue", "Watch")

_allocate_lock = _thread.allocate_lock
_T = TypeVar("_T")

# a producer blocked on a full queue logs a warning this often (unless silent)
FULL_WARNING_SECONDS = 10.0

class _NoMessage:
    """What `pop_message()` returns beside the item: there is nothing to acknowledge."""

    __slots__ = ()

    def __bool__(self) -> bool:
        return False

    def delete(self) -> None:
        """Acknowledge the message (nothing to do for an in-memory queue)."""

    def __repr__(self) -> str:
        return "<no message>"


NO_MESSAGE = _NoMessage()


def _split_at_stop(values: Iterable[Any]) -> Tuple[List[Any], bool, List[Any]]:
    """Split `values` at the first PLEASE_STOP: (before, seen, after without markers)."""
    values = list(values)
    for i, value in enumerate(values):
        if value is PLEASE_STOP:
            return values[:i], True, [v for v in values[i + 1 :] if v is not PLEASE_STOP]
    return values, False, []


class Watch:
    """A callback registered with `Queue.watch()` or `Channel.watch()`; give it back to `unwatch()`.

    The queue calls `release()` (as it releases a parked consumer's lock),
    which runs the callback; a failing callback is logged, never raised in the
    thread that added the item.
    """

    __module__ = "mo_threads.queues"  # its public home

    __slots__ = ("callback", "parked")

    def __init__(self, callback: Callable[[], Any]) -> None:
        if not callable(callback):
            raise TypeError("watch() expects a callable, not " + type(callback).__name__)
        self.callback = callback
        self.parked = False  # waiting in a Queue's line of consumers

    def release(self) -> None:
        """Run the callback (called by the queue or channel, once)."""
        try:
            self.callback()
        except Exception as cause:
            logger.warning("A queue watch callback failed", cause=cause)

    def __repr__(self) -> str:
        return "<Watch " + repr(self.callback) + ">"


class Queue(QueueStdlibMethods, Generic[_T]):
    """A thread-safe FIFO queue that can be closed.

    `max=None` means unbounded; otherwise `add` blocks while `max` items are
    queued. `unique=True` drops an item equal to one already queued.
    Adding to a closed queue raises `QueueClosed`, unless
    `allow_add_after_close=True`: then the add is accepted (never blocks, never
    raises) and the item is queued for any consumer still draining — this is
    what mo-logs' threaded logger relies on. Generic in the item type for
    type checkers (`Queue[int]("numbers")`). A producer blocked on a full queue
    logs a warning every `FULL_WARNING_SECONDS` unless `silent=True`.

    Consumers: `pop()` blocks and returns the next item, `None` when `till`
    fires first, and `PLEASE_STOP` once the queue is closed and drained — or
    raises the error the producer gave to `close(error)`.
    The `queue.Queue` methods (`put`, `get`, ...) are here too (inherited
    from `QueueStdlibMethods`) and raise `queue.Empty` / `queue.Full` like the stdlib.
    """

    __module__ = "mo_threads.queues"  # its public home

    __slots__ = (
        "name",
        "max",
        "silent",
        "unique",
        "allow_add_after_close",
        "closed",
        "_error",
        "_error_as_closed",
        "_lock",
        "_is_closed",
        "_fast",
        "_plain",
        "_limit",
        "_acquire",
        "_unlock",
        "_getters",
        "_putters",
        "_joiners",
        "_items",
        "_put",
        "_put_front",
        "_put_all",
        "_get",
        "_get_all",
        "_qsize",
        "_contains",
        "__weakref__",
    )

    def __init__(
        self,
        name: str,
        max: Optional[int] = None,
        silent: bool = False,
        unique: bool = False,
        allow_add_after_close: bool = False,
    ) -> None:
        check_name(name, "Queue name")
        if max is not None and (max.__class__ is not int or max < 1):  # the message is built only to raise
            check_count(max, "Queue " + repr(name) + ": max", 1, none="unbounded")
        self.name = name
        self.max = max
        self.silent = bool(silent)
        self.unique = bool(unique)
        self.allow_add_after_close = bool(allow_add_after_close)
        self.closed = Signal("closed " + name)
        lock = self._lock = _allocate_lock()
        self._acquire = lock.acquire
        self._unlock = lock.release
        self._is_closed = False
        self._error: Optional[BaseException] = None
        self._error_as_closed: Any = None
        # the common cases, checked first by add(): open and not unique, and unbounded
        self._plain = not unique
        self._fast = max is None and not unique
        self._limit = max
        self._getters = ParkingLot()  # consumers waiting for an item (and watches)
        self._putters = ParkingLot()  # producers waiting for room; joiners of a closed queue
        self._unfinished = 0  # for join() / task_done()
        self._joiners = ParkingLot()  # joiners of an open queue
        self._init()

    # --- storage hooks (rebound by subclasses) ----------------------------------
    def _init(self) -> None:
        """Make the storage and bind the hooks; called once by `__init__`."""
        items: Deque[Any] = deque()
        self._items = items
        self._put = items.append
        self._put_front = items.appendleft
        self._put_all = items.extend
        self._get = items.popleft  # raises IndexError when empty
        self._qsize = items.__len__
        self._contains = self._contains_item
        self._get_all = self._take_all_items

    def _take_all_items(self) -> List[Any]:
        # one item at a time: pop() takes from the left without the lock
        output: List[Any] = []
        append, get = output.append, self._items.popleft
        try:
            while True:
                append(get())
        except IndexError:
            return output

    def _contains_item(self, value: Any) -> bool:
        while True:
            try:
                return value in self._items
            except RuntimeError:
                # a lock-free pop() changed the deque while comparing: look again
                continue

    # --- producing ---------------------------------------------------------------
    def add(self, value: _T, timeout: Optional[float] = None, force: bool = False, till: Optional[Signal] = None) -> Queue[_T]:
        """Append `value`; adding `PLEASE_STOP` closes the queue instead.

        When the queue is full, block until there is room; raise `QueueFull`
        (a `queue.Full`) if `timeout` seconds pass or `till` fires first.
        `force=True` adds without waiting for room. Raises `QueueClosed` when
        the queue is closed (see `allow_add_after_close`). Returns the queue.
        """
        if value is PLEASE_STOP:
            self.close()
            return self
        if till is not None or timeout is not None:
            check_till(till)
            _deadline(timeout)
        self._acquire()  # acquire()/release() cost half of `with lock:`
        try:
            if self._fast or (self._plain and self._qsize() < self._limit):  # type: ignore[operator]
                self._put(value)
                self._unfinished += 1
                if self._getters:
                    self._getters.unpark()
            else:
                self._add_slow((value,), False, timeout, force, till)
        finally:
            self._unlock()
        return self

    def push(self, value: _T, timeout: Optional[float] = None, force: bool = False, till: Optional[Signal] = None) -> Queue[_T]:
        """Put `value` at the front, so it is popped next; otherwise like `add`."""
        self._add_one(value, True, timeout, force, till, None)
        return self

    def extend(self, values: Iterable[_T], timeout: Optional[float] = None, force: bool = False, till: Optional[Signal] = None) -> Queue[_T]:
        """Append every value, in order; all or nothing.

        Like `add`, wait until the queue is below `max` (or raise `QueueFull`),
        then add them all at once — a batch may take the queue past `max`.
        A `PLEASE_STOP` among the values closes the queue after the values
        before it are added.
        """
        self._extend(values, timeout, force, till, None)
        return self

    def push_all(self, values: Iterable[_T], timeout: Optional[float] = None, force: bool = False, till: Optional[Signal] = None) -> Queue[_T]:
        """Push each of `values` to the front in turn, as 6.x does: the last one is popped next.

        `push_all([1, 2])` then `pop()` gives 2, then 1 (as `deque.extendleft`).
        Otherwise like `push`; `PLEASE_STOP` is refused (use `close()`).
        """
        self._push_all(values, timeout, force, till, None)
        return self

    # what add, push, extend and push_all share with PriorityQueue's (which pass a priority)
    def _entries(self, values: List[Any], priority: Optional[int]) -> List[Any]:
        """What the storage hooks take for `values` (PriorityQueue pairs them with `priority`)."""
        return values

    def _add_one(self, value: Any, front: bool, timeout: Optional[float], force: bool, till: Optional[Signal], priority: Optional[int]) -> None:
        if value is PLEASE_STOP:
            self.close()
            return
        with self._lock:
            self._add_slow(self._entries([value], priority), front, timeout, force, till)

    def _extend(self, values: Iterable[Any], timeout: Optional[float], force: bool, till: Optional[Signal], priority: Optional[int]) -> None:
        if till is not None or timeout is not None:
            check_till(till)
            _deadline(timeout)
        before, stop, after = _split_at_stop(values)
        if stop and after and not self.allow_add_after_close:
            raise QueueClosed(
                "Can not extend queue " + repr(self.name) + " with values after PLEASE_STOP: it would be closed"
            )
        if before:
            with self._lock:
                if self._fast:
                    self._put_all(before)
                    self._unfinished += len(before)
                    self._wake_getters(len(before))
                else:
                    self._add_slow(self._entries(before, priority), False, timeout, force, till)
        if stop:
            self.close()
            if after:
                self._extend(after, None, False, None, priority)

    def _push_all(self, values: Iterable[Any], timeout: Optional[float], force: bool, till: Optional[Signal], priority: Optional[int]) -> None:
        check_till(till)
        if timeout is not None:
            _deadline(timeout)
        before, stop, after = _split_at_stop(values)
        if stop or after:
            raise ValueError("push_all() of queue " + repr(self.name) + " can not take PLEASE_STOP; use close()")
        if before:
            # each to the front in turn: the storage's front hook, item by item, does it
            with self._lock:
                self._add_slow(self._entries(before, priority), True, timeout, force, till)

    def _add_slow(self, values: Any, front: bool, timeout: Optional[float], force: bool, till: Optional[Signal]) -> None:
        """Add `values` (lock held): check closed and unique, wait for room."""
        check_till(till)
        deadline = _deadline(timeout)
        if self._is_closed:
            self._refuse_closed()
        elif not force and self._limit is not None and self._qsize() >= self._limit:
            if self.unique and len(values) == 1 and self._contains(values[0]):
                return
            self._wait_for_room(deadline, till)
            if self._is_closed:
                self._refuse_closed()
        put = self._put_front if front else self._put
        added = 0
        if self.unique:
            contains = self._contains
            for value in values:
                if not contains(value):
                    put(value)
                    added += 1
        else:
            for value in values:
                put(value)
            added = len(values)
        if added:
            self._unfinished += added
            self._wake_getters(added)

    def _refuse_closed(self) -> None:
        if self.allow_add_after_close:
            return
        error = self._error
        if error is None:
            raise QueueClosed("Can not add to queue " + repr(self.name) + ": it is closed")
        raise QueueClosed(
            "Can not add to queue " + repr(self.name) + ": it was closed with error " + type(error).__name__
        ) from error

    def _end(self) -> Any:
        """What a consumer gets past the end of a closed, drained queue: `PLEASE_STOP`, or the close error raised."""
        error = self._error
        if error is None:
            return PLEASE_STOP
        raise_as_closed(error, self._error_as_closed)

    def _wait_for_room(self, deadline: Optional[float], till: Optional[Signal]) -> None:
        """Block (lock held, released while parked) until below max or closed.

        Raises `QueueFull` when `deadline` passes or `till` fires first.
        """
        limit = self._limit
        started = _monotonic()
        next_warning = started + FULL_WARNING_SECONDS
        lock = self._lock
        record = None  # the blocking record, made at the first park (one per call)

        def room() -> bool:
            # looked at once in line: a lock-free pop() may have made room before it saw us
            return self._qsize() < limit  # type: ignore[operator]

        try:
            while self._qsize() >= limit and not self._is_closed:  # type: ignore[operator]
                if till is not None and till._go:
                    raise QueueFull("Queue " + repr(self.name) + " is full and till fired before there was room")
                now = _monotonic()
                if deadline is not None and now >= deadline:
                    raise QueueFull("Queue " + repr(self.name) + " is full (" + str(limit) + " items) past the timeout")
                if not self.silent and now >= next_warning:
                    next_warning = now + FULL_WARNING_SECONDS
                    lock.release()
                    try:
                        # outside the lock: the logger may write to a queue itself
                        logger.warning(
                            "Queue {name|quote} is full ({num} items): a producer has waited {seconds|round(places=2)} seconds",
                            name=self.name,
                            num=limit,
                            seconds=now - started,
                        )
                    finally:
                        lock.acquire()
                    continue
                wake_at = deadline
                if not self.silent:
                    wake_at = next_warning if wake_at is None else min(wake_at, next_warning)
                if record is None:
                    record = _begin_wait("Queue", self, till is not None or deadline is not None)
                self._putters.park(lock, till, wake_at, room, hold=True)
                # a signal handler held since the wake-up (Ctrl-C) passes the room on, before this adds
                if _parking._held:  # only the main thread holds, once woken
                    resume_signals(self._pass_room)
        finally:
            if record is not None:
                _end_wait(record)  # lock held: end() takes only its own leaf lock

    def _give_back(self, value: Any) -> None:
        """An interrupted consumer took `value`: put it back at the front, for the next consumer."""
        with self._lock:
            # the front of the most urgent lane: it was the next item to take
            self._put_front(self._entries([value], 0)[0])
            self._getters.unpark()

    def _wake_getters(self, count: int) -> None:
        unpark = self._getters.unpark
        while count and unpark():
            count -= 1

    def _pass_room(self, _: Any) -> None:
        # an interrupted producer (lock held): the room it was woken for goes to the next one
        self._putters.unpark()

    def _wake_putters(self) -> None:
        self._putters.unpark_all()

    def close(self, error: Optional[BaseException] = None) -> None:
        """Close the queue: no more adds; waiting consumers and producers wake.

        Consumers still get the items queued before the close, then
        `PLEASE_STOP` — or, when `error` (an exception) is given, every
        consumer that pops past the end (`pop`, `pop_one`, `get`, iteration,
        `async_pop`) gets `error` raised, every time, so it learns why the
        producer stopped. Adding afterwards raises `QueueClosed` (with `error`
        as its cause), unless `allow_add_after_close`. Closing again does
        nothing (the first error stays).
        """
        if error is not None and not isinstance(error, BaseException):
            raise TypeError("Queue.close(error=) expects an exception, not " + type(error).__name__)
        with self._lock:
            if self._is_closed:
                return
            self._error = error
            if error is not None:
                self._error_as_closed = as_closed(error)
            self._is_closed = True
            self._fast = self._plain = False
            self._getters.unpark_all()
            self._putters.unpark_all()
            self._joiners.unpark_all()  # closed and maybe drained already: join() looks again
        self.closed.go()

    # --- consuming ---------------------------------------------------------------
    def pop(self, till: Optional[Signal] = None, timeout: Optional[float] = None) -> Any:
        """Remove and return the next item, blocking while the queue is empty.

        Returns `None` when `till` fires (or `timeout` seconds pass) with the
        queue still empty, and `PLEASE_STOP` once the queue is closed and drained.
        """
        if till is not None or timeout is not None:
            check_till(till)
            deadline = _deadline(timeout)
        else:
            deadline = None
        try:
            # no lock: taking from the left of a deque is atomic
            value = self._get()
        except IndexError:
            value = self._wait_for_item(till, deadline, None)
            if value is PLEASE_STOP:
                return self._end()
            return value
        if self._putters:
            self._wake_putter()
        return value

    async def async_pop(self, till: Optional[Signal] = None) -> Any:
        """`pop()` for asyncio code: await the next item without blocking the event loop.

        Returns the next item, `None` when `till` fires with the queue still
        empty, and `PLEASE_STOP` once the queue is closed and drained (or
        raises the error given to `close()`). Await it
        inside a running asyncio event loop (for a timeout, wrap it in
        `asyncio.wait_for`); a cancelled wait takes nothing, and a wake-up meant
        for it goes to the next consumer.
        """
        if till is not None:
            check_till(till)
        while True:
            try:
                value = self._get()  # no lock, as in pop()
            except IndexError:
                if self._is_closed:
                    try:
                        # closed after we looked: nothing more comes, so one more look is final
                        value = self._get()
                    except IndexError:
                        return self._end()
                else:
                    if till is not None and till._go:
                        return None
                    wake = Signal("async_pop " + self.name)
                    watch = self.watch(wake.go)
                    try:
                        # look again: an add or close may have come before we were parked
                        if not self._qsize() and not self._is_closed:
                            await (wake if till is None else wake | till)
                    finally:
                        self.unwatch(watch)
                    continue
            if self._putters:
                self._wake_putter()
            return value

    def _wake_putter(self) -> None:
        # no lock: taking from a deque is atomic, and a parked producer looks at
        # the queue again once in line (see _wait_for_room)
        if self._is_closed and self._qsize():
            # closed: only join() waits in this line, and only for the queue to be empty
            return
        self._putters.unpark()

    def _wait_for_item(self, till: Optional[Signal], deadline: Optional[float], empty: Optional[str]) -> Any:
        """Block until an item, close, or give-up; call it without the lock.

        Returns the item, `PLEASE_STOP` once closed and drained, and on give-up
        None, or raises `QueueEmpty(empty)` when `empty` is given. A woken
        consumer looks at the queue without the lock first (as `pop()` does):
        it takes the lock again only to park again.
        """
        lock = self._lock
        getters = self._getters
        record = None  # the blocking record, made at the first park (one per call)
        try:
            while True:
                lock.acquire()
                try:
                    value = self._get()
                except IndexError:
                    if self._is_closed:
                        lock.release()
                        return PLEASE_STOP
                    if (till is not None and till._go) or (deadline is not None and _monotonic() >= deadline):
                        lock.release()
                        break
                    try:
                        if record is None:
                            record = _begin_wait("Queue", self, till is not None or deadline is not None)
                    except BaseException:
                        lock.release()
                        raise
                    # adds wake consumers under the lock: no look needed once in line
                    getters.park(lock, till, deadline, hold_again=False, hold=True)
                    try:
                        # no lock: taking from the left of a deque is atomic
                        value = self._get()
                    except IndexError:
                        if _parking._held:  # only the main thread holds, once woken
                            resume_signals()  # taken by another consumer first: nothing to pass on
                        continue
                    # taken: a signal handler held since the wake-up (Ctrl-C) gives it back
                    if _parking._held:  # only the main thread holds, once woken
                        resume_signals(self._give_back, value)
                else:
                    lock.release()
                if self._putters:
                    self._wake_putter()
                return value
        finally:
            if record is not None:
                _end_wait(record)
        if empty is not None:
            raise QueueEmpty(empty)
        return None

    def pop_one(self) -> Any:
        """Remove and return the next item without blocking.

        Returns `None` when the queue is empty and open, `PLEASE_STOP` when it
        is closed and drained (or raises the error given to `close()`).
        """
        # _try_pop()'s body again, without its tuple: this is a fast path
        try:
            value = self._get()  # no lock, as in pop()
        except IndexError:
            if not self._is_closed:
                return None
            return self._last_look()[1]
        if self._putters:
            self._wake_putter()
        return value

    def _try_pop(self) -> Tuple[bool, Any]:
        """`pop_one()` that tells a queued None from nothing: `(True, item)`, or `(False, None)` when empty and open.

        Once closed and drained: `(True, PLEASE_STOP)`, or raises the close
        error (as `Channel.try_receive`). `wait_any` uses it.
        """
        try:
            value = self._get()
        except IndexError:
            if not self._is_closed:
                return False, None
            return self._last_look()
        if self._putters:
            self._wake_putter()
        return True, value

    def _last_look(self) -> Tuple[bool, Any]:
        # found empty, then closed: nothing more comes, so one more look is final
        try:
            value = self._get()
        except IndexError:
            return True, self._end()
        if self._putters:
            self._wake_putter()
        return True, value

    def pop_all(self) -> List[Any]:
        """Remove and return every queued item, without blocking (maybe `[]`)."""
        with self._lock:
            output = self._get_all()
            if output and self._putters:
                self._wake_putters()
            return output

    def pop_message(self, till: Optional[Signal] = None) -> Tuple[Any, Any]:
        """Like `pop`, as a `(message, item)` pair for code written against message queues.

        The message is falsy and its `delete()` does nothing.
        """
        return NO_MESSAGE, self.pop(till=till)

    def _take(self, limit: int, deadline: Optional[float]) -> Any:
        """Wait until `deadline` for an item, then take up to `limit` items.

        Returns a list (empty when the deadline passed first), or `PLEASE_STOP`
        once closed and drained.
        """
        output: List[Any] = []
        if not self._qsize():
            first = self._wait_for_item(None, deadline, None)
            if first is None:
                return output
            if first is PLEASE_STOP:
                return PLEASE_STOP
            output.append(first)
        with self._lock:
            get = self._get
            try:
                while len(output) < limit:
                    output.append(get())
            except IndexError:
                pass
            if self._putters:
                self._wake_putters()
            return output

    # --- watching (wait on many sources at once: wait_any, async_pop) -----------------
    def watch(self, callback: Callable[[], Any]) -> Watch:
        """Call `callback()` once, when an item may be ready to take or the queue closes.

        Returns at once: the callback runs later, on the thread that adds the
        next item or closes the queue — or now, on this thread, when an item
        is queued or the queue is closed already. It takes nothing itself:
        follow with `pop_one()`. It runs under the queue's lock, so keep it
        short (firing a Signal is the usual body) and do not use this queue in
        it; an exception it raises is logged.

        A watch waits in line with the consumers blocked in `pop()`: an add
        wakes one of them. So always call `unwatch(watch)` once you have
        looked at the queue, woken or not: a wake-up you did not use (you took
        nothing) is passed to the next waiting consumer, and no consumer
        sleeps beside an item.
        """
        watch = Watch(callback)
        with self._lock:
            if not self._qsize() and not self._is_closed:
                watch.parked = True
                self._getters.append(watch)
                return watch
        watch.release()
        return watch

    def unwatch(self, watch: Watch) -> None:
        """Forget `watch` (from `watch()`); pass on a wake-up it got and did not use.

        Call it after taking what you want. Calling it again does nothing.
        """
        if not watch.parked:
            return
        with self._lock:
            watch.parked = False
            try:
                self._getters.remove(watch)
            except ValueError:
                # an add popped it to wake it: hand the wake-up on if an item is left
                if self._qsize():
                    self._getters.unpark()

    # --- the rest --------------------------------------------------------------------
    def __len__(self) -> int:
        return self._qsize()

    def __bool__(self) -> bool:
        return bool(self._qsize())

    def __iter__(self) -> Iterator[Any]:
        """Yield items until the queue is closed and drained; then raise the close error, if any."""
        pop = self.pop
        while True:
            value = pop()
            if value is PLEASE_STOP:
                return
            yield value

    def __enter__(self) -> Queue[_T]:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = " closed" if self._is_closed else ""
        return "<" + type(self).__name__ + " " + repr(self.name) + " " + str(self._qsize()) + " items" + state + ">"


class PriorityQueue(Queue[_T]):
    """A Queue with `numpriorities` lanes: `add(value, priority=p)`.

    Priority 0 is the most urgent (and the default, as upstream); a lower number
    pops first, FIFO within a priority. Closing and `PLEASE_STOP` work as for
    `Queue`. With `unique=True` an item equal to one queued at the same priority
    is dropped. `max` bounds the total over all priorities.
    """

    __module__ = "mo_threads.queues"  # its public home

    __slots__ = ("numpriorities", "_lanes")

    def __init__(
        self,
        name: str,
        numpriorities: int,
        max: Optional[int] = None,
        silent: bool = False,
        unique: bool = False,
        allow_add_after_close: bool = False,
    ) -> None:
        check_count(numpriorities, "PriorityQueue " + repr(name) + ": numpriorities", 1, wrong_type=ValueError)
        self.numpriorities = numpriorities
        Queue.__init__(self, name, max=max, silent=silent, unique=unique, allow_add_after_close=allow_add_after_close)
        # entries are (priority, value): always take the general path
        self._fast = self._plain = False

    def _init(self) -> None:
        self._lanes: List[Deque[Any]] = [deque() for _ in range(self.numpriorities)]
        self._put = self._put_entry
        self._put_front = self._put_entry_front
        self._put_all = self._put_entries
        self._get = self._get_most_urgent
        self._qsize = self._count
        self._contains = self._contains_entry  # type: ignore[assignment]
        self._get_all = self._get_all_lanes

    def _put_entry(self, entry: Tuple[int, Any]) -> None:
        self._lanes[entry[0]].append(entry[1])

    def _put_entries(self, entries: Iterable[Tuple[int, Any]]) -> None:
        for entry in entries:
            self._lanes[entry[0]].append(entry[1])

    def _put_entry_front(self, entry: Tuple[int, Any]) -> None:
        self._lanes[entry[0]].appendleft(entry[1])

    def _get_most_urgent(self) -> Any:
        for lane in self._lanes:
            try:
                return lane.popleft()
            except IndexError:
                continue
        raise IndexError("empty")

    def _count(self) -> int:
        return sum(len(lane) for lane in self._lanes)

    def _contains_entry(self, entry: Tuple[int, Any]) -> bool:
        while True:
            try:
                return entry[1] in self._lanes[entry[0]]
            except RuntimeError:
                continue

    def _get_all_lanes(self) -> List[Any]:
        output: List[Any] = []
        append = output.append
        for lane in self._lanes:
            get = lane.popleft
            try:
                while True:
                    append(get())
            except IndexError:
                continue
        return output

    def _priority(self, priority: Any) -> int:
        if priority.__class__ is int and 0 <= priority < self.numpriorities:
            return priority
        return check_count(
            priority,
            "PriorityQueue " + repr(self.name) + ": priority (0 is the most urgent)",
            0,
            self.numpriorities - 1,
            wrong_type=ValueError,
        )

    def _entries(self, values: List[Any], priority: Optional[int]) -> List[Any]:
        return [(priority, value) for value in values]

    def add(  # type: ignore[override]
        self, value: Any, timeout: Optional[float] = None, force: bool = False, till: Optional[Signal] = None, priority: int = 0
    ) -> PriorityQueue[_T]:
        """Add `value` at `priority` (0 is most urgent); `PLEASE_STOP` closes. See `Queue.add`."""
        self._add_one(value, False, timeout, force, till, self._priority(priority))
        return self

    def push(  # type: ignore[override]
        self, value: Any, timeout: Optional[float] = None, force: bool = False, till: Optional[Signal] = None, priority: int = 0
    ) -> PriorityQueue[_T]:
        """Put `value` at the front of its priority; see `Queue.push`."""
        self._add_one(value, True, timeout, force, till, self._priority(priority))
        return self

    def extend(  # type: ignore[override]
        self, values: Iterable[Any], timeout: Optional[float] = None, force: bool = False, till: Optional[Signal] = None, priority: int = 0
    ) -> PriorityQueue[_T]:
        """Add every value at `priority`, in order; see `Queue.extend`."""
        self._extend(values, timeout, force, till, self._priority(priority))
        return self

    def push_all(  # type: ignore[override]
        self, values: Iterable[Any], timeout: Optional[float] = None, force: bool = False, till: Optional[Signal] = None, priority: int = 0
    ) -> PriorityQueue[_T]:
        """Push each of `values` to the front of `priority` in turn (the last is popped next); see `Queue.push_all`."""
        self._push_all(values, timeout, force, till, self._priority(priority))
        return self
