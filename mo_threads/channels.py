"""`Channel`: hand values from senders to receivers, with rendezvous or a buffer, and a close that says why.

Theory of operation
-------------------
All state sits behind one raw lock, held for a few bytecodes:

- `_buffer`: values accepted and not yet received (at most `capacity`);
- `_senders`: senders parked with their value, when the buffer is full (or,
  for a rendezvous channel, always);
- `_receivers`: receivers parked for a value.

Both lines are `HandOffLot`s (see `_parking`, which holds the race reasoning
once). A sender that finds a parked receiver hands it the value; otherwise it
buffers the value if there is room, otherwise it parks offering it. A receiver
takes from the buffer (moving the first parked sender's offer into the room it
made), or takes the first offer, or parks. Whether a party was served is decided
under the lock, so one whose `till` fired at the same moment still gets its
value (or delivered it), and a receiver handed a value and then interrupted
(Ctrl-C) hands it to the next receiver, or puts it back at the front of the
buffer: a value is never lost nor delivered twice.

`close(error=None)` fails every parked sender with `ChannelClosed` (its
value was not delivered) and wakes every parked receiver. Receivers still get
every buffered value; after that, `receive()` returns `PLEASE_STOP` (as
`Queue.pop` does) or, when closed with an error, raises that error.

Watchers (`watch(callback)`, used by `wait_any`) are called when a value
becomes available or the channel closes.
"""

from __future__ import annotations

import _thread
from collections import deque
from time import monotonic as _monotonic
from typing import Any, Callable, Deque, Generic, Iterator, List, Optional, Tuple, TypeVar

from mo_threads import _blocking
from mo_threads._vocabulary import (
    PLEASE_STOP,
    ChannelClosed,
    ThreadTimeout,
    as_closed,
    check_count,
    check_name,
    check_wait,
    raise_as_closed,
)
from mo_threads._parking import NOT_HANDED, HandOffLot
from mo_threads._queue_core import Watch
from mo_threads.signals import Signal
from mo_threads.till import Till

__all__ = ("Channel", "ChannelClosed")

_T = TypeVar("_T")


class Channel(Generic[_T]):
    """Pass values between threads: `send(value)` in one, `receive()` in another.

    `capacity=0` (the default) is a rendezvous: `send` blocks until a receiver
    has taken the value. With `capacity=n`, `send` returns once the value is
    buffered, blocking only while `n` values wait. Any number of threads may
    send and receive; values come out in the order they were accepted.

    `send(v, till=)` and `receive(till=)` raise `ThreadTimeout` (a
    `TimeoutError`) when `till` fires, or `timeout` passes, first. `close(error)`
    ends the channel: `send` then raises `ChannelClosed`; receivers drain the
    buffer, then `receive()` returns `PLEASE_STOP`, or raises `error` when one
    was given. Iterating yields values until then. Values pass by reference.
    Generic in the value type for type checkers (`Channel[int]()`); asyncio
    code receives with `await channel.async_receive()`.
    """

    __slots__ = ("name", "capacity", "closed", "_lock", "_buffer", "_senders", "_receivers", "_watchers", "_error", "_error_as_closed", "__weakref__")

    def __init__(self, name: str = "channel", capacity: int = 0) -> None:
        check_name(name, "Channel name")
        if capacity.__class__ is not int or capacity < 0:  # the message is built only to raise
            check_count(capacity, "Channel " + repr(name) + ": capacity (0: rendezvous)", 0)
        self.name = name
        self.capacity = capacity
        self.closed = Signal("closed " + name)
        self._lock = _thread.allocate_lock()
        self._buffer: Deque[Any] = deque()
        self._senders = HandOffLot()  # parked senders, offering their value
        self._receivers = HandOffLot()  # parked receivers, each handed its value
        self._watchers: List[Any] = []
        self._error: Optional[BaseException] = None
        self._error_as_closed: Any = None

    # --- sending -------------------------------------------------------------------
    def send(self, value: _T, till: Optional[Signal] = None, *, timeout: Optional[float] = None) -> None:
        """Hand `value` over: return once a receiver took it (capacity 0) or it is buffered.

        Raises `ChannelClosed` when the channel is (or gets) closed before the
        value was accepted, and `ThreadTimeout` when `till` fires or `timeout`
        passes first; in both cases the value was not delivered. Sending
        `PLEASE_STOP` closes the channel instead (as adding it to a Queue does).
        """
        timeout = check_wait(till, timeout)
        if value is PLEASE_STOP:
            self.close()
            return
        lock = self._lock
        with lock:
            if self.closed._go:
                self._refuse()
            if self._receivers.hand(value):
                return
            if len(self._buffer) < self.capacity:
                self._buffer.append(value)
                self._wake_watchers()
                return
            self._wake_watchers()  # a parked sender is a value ready to receive
            # slow path: recorded for dumps and metrics
            record = _blocking.begin("Channel", self, bounded=till is not None or timeout is not None)
            try:
                deadline = None if timeout is None else _monotonic() + timeout
                if self._senders.park(lock, till, deadline, value) is not NOT_HANDED:
                    return  # taken by a receiver
            finally:
                _blocking.end(record)
            if self.closed._go:
                raise ChannelClosed(
                    "Channel " + repr(self.name) + " was closed before the value was received"
                ) from self._error
        raise ThreadTimeout("Timeout sending on channel " + repr(self.name))

    def try_send(self, value: _T) -> bool:
        """Send without blocking: True when a receiver took `value` or it was buffered, False otherwise.

        Raises `ChannelClosed` when the channel is closed. `PLEASE_STOP` closes it.
        """
        if value is PLEASE_STOP:
            self.close()
            return True
        with self._lock:
            if self.closed._go:
                self._refuse()
            if self._receivers.hand(value):
                return True
            if len(self._buffer) < self.capacity:
                self._buffer.append(value)
                self._wake_watchers()
                return True
        return False

    def _refuse(self) -> None:
        # lock held, closed
        error = self._error
        if error is None:
            raise ChannelClosed("Can not send on channel " + repr(self.name) + ": it is closed")
        raise ChannelClosed(
            "Can not send on channel " + repr(self.name) + ": it was closed with error " + type(error).__name__
        ) from error

    def close(self, error: Optional[BaseException] = None) -> None:
        """Close: no more sends; waiting senders raise `ChannelClosed`; receivers drain, then stop.

        Once drained, `receive()` returns `PLEASE_STOP`, or raises `error` when
        given. Closing again does nothing (the first error stays).
        """
        if error is not None and not isinstance(error, BaseException):
            raise TypeError("Channel.close(error=) expects an exception, not " + type(error).__name__)
        with self._lock:
            if self.closed._go:
                return
            self._error = error
            if error is not None:
                self._error_as_closed = as_closed(error)
            self.closed.go()
            self._senders.dismiss_all()
            self._receivers.dismiss_all()
            self._wake_watchers()

    # --- receiving -----------------------------------------------------------------
    def receive(self, till: Optional[Signal] = None, *, timeout: Optional[float] = None) -> Any:
        """Take the next value, blocking until one is sent.

        Once the channel is closed and drained, returns `PLEASE_STOP`, or
        raises the error given to `close()`. Raises `ThreadTimeout` when `till`
        fires or `timeout` passes first.
        """
        timeout = check_wait(till, timeout)
        lock = self._lock
        with lock:
            found, value = self._take()
            if found:
                return value
            if self.closed._go:
                return self._end()
            # slow path: recorded for dumps and metrics
            record = _blocking.begin("Channel", self, bounded=till is not None or timeout is not None)
            try:
                deadline = None if timeout is None else _monotonic() + timeout
                value = self._receivers.park(lock, till, deadline, None, self._give_back)
            finally:
                _blocking.end(record)
            if value is not NOT_HANDED:
                return value
            if self.closed._go:
                # a value may have been buffered before the close
                found, value = self._take()
                if found:
                    return value
                return self._end()
        raise ThreadTimeout("Timeout receiving from channel " + repr(self.name))

    async def async_receive(self, till: Optional[Signal] = None, *, timeout: Optional[float] = None) -> Any:
        """`receive()` for asyncio code: await the next value without blocking the event loop.

        Same results as `receive()`: the value; `PLEASE_STOP` (or the close
        error raised) once closed and drained; `ThreadTimeout` when `till`
        fires or `timeout` passes first. Await it inside a running asyncio
        event loop; a cancelled wait takes nothing.
        """
        timeout = check_wait(till, timeout)
        if timeout is not None:
            till = Till(seconds=timeout) if till is None else till | Till(seconds=timeout)
        while True:
            found, value = self.try_receive()
            if found:
                return value
            if till is not None and till._go:
                raise ThreadTimeout("Timeout receiving from channel " + repr(self.name))
            wake = Signal("async_receive " + self.name)
            watch = self.watch(wake.go)
            try:
                await (wake if till is None else wake | till)
            finally:
                self.unwatch(watch)

    def try_receive(self) -> Tuple[bool, Any]:
        """Receive without blocking: `(True, value)`, or `(False, None)` when no value is waiting.

        Once the channel is closed and drained: `(True, PLEASE_STOP)`, or
        raises the error given to `close()`.
        """
        with self._lock:
            found, value = self._take()
            if found:
                return True, value
            if self.closed._go:
                return True, self._end()
            return False, None

    def _take(self) -> Tuple[bool, Any]:
        # lock held
        buffer, senders = self._buffer, self._senders
        if buffer:
            value = buffer.popleft()
            if senders:
                buffer.append(senders.take())  # into the room just made, in order
            return True, value
        if senders:
            return True, senders.take()
        return False, None

    def _give_back(self, value: Any) -> None:
        # lock held: a value handed to a receiver interrupted with nobody behind it,
        # taken next (rule 7 of _parking)
        self._buffer.appendleft(value)
        self._wake_watchers()

    def _put_back(self, value: Any) -> None:
        """A receiver took `value` without the line (wait_any) and was interrupted: the next receiver gets it."""
        with self._lock:
            if not self._receivers.hand(value):  # one is parked only while nothing is buffered
                self._give_back(value)

    def _end(self) -> Any:
        # lock held, closed and drained
        error = self._error
        if error is not None:
            raise_as_closed(error, self._error_as_closed)
        return PLEASE_STOP

    # --- watching (wait on many sources at once: wait_any, async_receive) ---------
    def watch(self, callback: Callable[[], Any]) -> Watch:
        """Call `callback()` once, when a value may be ready to receive or the channel closes.

        Returns at once: the callback runs later, on the thread that sends
        the value or closes the channel — or now, on this thread, when a value
        is waiting or the channel is closed already. Every watch is called
        (another receiver may take the value first: look again with a
        non-blocking receive). It runs under the channel's lock, so keep it
        short (firing a Signal is the usual body) and do not use this channel
        in it; an exception it raises is logged. Pair with `unwatch(watch)`.
        """
        watch = Watch(callback)
        with self._lock:
            if not (self._buffer or self._senders or self.closed._go):
                self._watchers.append(watch)
                return watch
        watch.release()
        return watch

    def unwatch(self, watch: Watch) -> None:
        """Forget `watch` (from `watch()`), called or not; calling it again does nothing."""
        with self._lock:
            try:
                self._watchers.remove(watch)
            except ValueError:
                pass

    def _wake_watchers(self) -> None:
        # lock held: every watcher looks again (one of them may find nothing left)
        watchers = self._watchers
        if watchers:
            self._watchers = []
            for watcher in watchers:
                watcher.release()

    # --- the rest ------------------------------------------------------------------
    @property
    def error(self) -> Optional[BaseException]:
        """The error given to `close()`, if any."""
        return self._error

    def __len__(self) -> int:
        """Values buffered now (senders waiting at a rendezvous are not counted)."""
        return len(self._buffer)

    def __iter__(self) -> Iterator[Any]:
        """Yield values until the channel is closed and drained; then raise the close error, if any."""
        receive = self.receive
        while True:
            value = receive()
            if value is PLEASE_STOP:
                return
            yield value

    def __enter__(self) -> Channel[_T]:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = " closed" if self.closed._go else ""
        return "<Channel " + repr(self.name) + " " + str(len(self._buffer)) + "/" + str(self.capacity) + state + ">"
