"""`Repeat`: call a function, or log a message, on a period, in a thread of its own.

    with Repeat("still working", every=30):
        long_job()

    with Repeat(save_progress, every=5, until=Till(seconds=60)):
        long_job()

Durations are seconds (int or float). When the optional `mo-times` package is
installed, its durations are accepted too (`every="minute"`, `Duration("2second")`).
"""

from __future__ import annotations

import _thread
import math
from typing import Any, Callable, Optional, Union

from mo_logs import logger

from mo_threads._vocabulary import check_number
from mo_threads.signals import Signal
from mo_threads.threads import Thread
from mo_threads.till import Till, at as _at, monotonic as _now

try:  # optional: duration strings such as "minute" or "2second"
    from mo_times import Duration as _Duration
except ImportError:  # pragma: no cover - depends on the environment
    _Duration = None

__all__ = ("Repeat",)


def _seconds(value: Any, what: str) -> float:
    """`value` as a number of seconds: a number, or a mo-times duration when installed."""
    if _Duration is not None and isinstance(value, (str, _Duration)):
        try:
            seconds = float(_Duration(value).seconds)
        except Exception as cause:
            raise ValueError(what + " is not a duration: " + repr(value)) from cause
    elif isinstance(value, str):
        raise TypeError(what + " as a string needs the mo-times package; give a number of seconds: " + repr(value))
    else:
        seconds = check_number(value, what, "a number of seconds")
    if math.isnan(seconds) or math.isinf(seconds):
        raise ValueError(what + " must be a finite number of seconds, not " + repr(value))
    return seconds


class Repeat:
    """Call `fn()` (or log `message` at info level) every `every` seconds, in a thread.

    The first call comes one period after the start; calls keep to the
    schedule (start + k * every), and ticks missed by a slow call are skipped,
    not bunched. It repeats until `until` fires (a Signal, or a number of
    seconds from the start), the `with` block is left, `stop()` is called, or
    the program shuts down. A failing call is logged as a warning and the
    repetition goes on.

    Use it as a context manager, or pass `start=True` to start at once and
    call `stop()` (which waits for the thread) when done.
    """

    __slots__ = ("action", "every", "until", "please_stop", "thread", "name")

    def __init__(
        self,
        message_or_fn: Union[str, Callable[[], Any]] = "ping",
        every: Any = 1,
        start: Optional[bool] = None,
        until: Any = None,
    ) -> None:
        if isinstance(message_or_fn, str):
            message = message_or_fn
            self.action: Callable[[], Any] = lambda: logger.info("{message}", message=message)
            self.name = "repeat " + repr(message)
        elif callable(message_or_fn):
            self.action = message_or_fn
            self.name = "repeat " + getattr(message_or_fn, "__name__", type(message_or_fn).__name__)
        else:
            raise TypeError("Repeat needs a message (str) or a function, not " + type(message_or_fn).__name__)
        self.every = _seconds(every, "Repeat(every=)")
        if self.every <= 0:
            raise ValueError("Repeat(every=) must be positive, not " + repr(every))
        if until is None or isinstance(until, Signal):
            self.until: Any = until
        else:
            self.until = _seconds(until, "Repeat(until=)")
        self.please_stop = Signal("stop " + self.name)
        self.thread: Optional[Thread] = None
        if start:
            self.start()

    def __repr__(self) -> str:
        state = "running" if self.thread is not None else "idle"
        return "<Repeat " + repr(self.name) + " every " + repr(self.every) + "s " + state + ">"

    def start(self) -> Repeat:
        """Start the repeating thread; returns self. Raises RuntimeError if it runs already."""
        if self.thread is not None:
            raise RuntimeError(self.name + " is already started: use it as a context manager or start=True, not both")
        until = self.until
        stop = self.please_stop
        if isinstance(until, float):
            stop = stop | Till(seconds=until)
        elif until is not None:
            stop = stop | until
        self.thread = Thread.run(self.name, self._run, please_stop=stop)
        return self

    def stop(self) -> None:
        """Stop repeating and wait for the thread; a call under way finishes first.

        Called by the repeated function itself, it stops the repetition after
        this call, without waiting (a thread can not wait for its own end).
        """
        self.please_stop.go()
        thread, self.thread = self.thread, None
        if thread is not None and thread.ident != _thread.get_ident():
            thread.join()

    def __enter__(self) -> Repeat:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def _run(self, please_stop: Signal) -> None:
        every = self.every
        action = self.action
        next_time = _now() + every  # Till's monotonic clock (a test may fake it): no wall-clock step moves it
        while not please_stop:
            (_at(next_time) | please_stop).wait()
            if please_stop:
                return
            try:
                action()
            except Exception as cause:
                logger.warning("Problem with {name}", name=self.name, cause=cause)
            now = _now()
            next_time += every
            if next_time <= now:
                # a call ran past ticks: skip them, keep to the schedule
                next_time += math.ceil((now - next_time) / every) * every
                if next_time <= now:
                    next_time += every
