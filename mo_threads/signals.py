"""One-shot, thread-safe signals: the bottom layer of mo_threads.

Theory of operation
-------------------
A `Signal` starts false and becomes true once, when `go()` is called; it can not
be reset. Threads block on it with `wait()`, and callbacks registered with
`then()` run exactly once, on the thread that calls `go()`.

Signals are the most numerous objects this library makes (every thread, timer and
queue wait makes some), so they are kept small: no lock per signal. The rare state
change (`go()`, adding a waiter or a callback) happens under one module lock,
`_STATE_LOCK`, held for a few bytecodes only. A waiting thread parks through
`_parking.park_on()` on a raw lock of its own (allocated only when somebody
actually waits), in the signal's line; `go()` takes the line away and wakes it
(`_parking.wake_all()`; the race reasoning is rule 9 there).

`a | b` and `a & b` make a new signal fed by callbacks on `a` and `b`. The
callbacks hold the new signal through a weak reference, and a weakref callback
removes them from `a` and `b` when the combination is dropped, so a long-lived
signal (a thread's `please_stop`) does not collect dead callbacks. A fired `|`
takes its callback off the source that did not fire. A combination given
`then()` callbacks is held by its sources (and holds its own parts) until it
fires, so `(a | b).then(fn)` runs `fn` even if nobody keeps the combination.

The weakref callback may run inside a garbage collection that started while its
thread held `_STATE_LOCK`, so it never blocks on that lock: when the lock is
busy, the clean-up waits for the next combination to be made or the next
signal to fire (the lock's holder was most likely firing one).
"""

from __future__ import annotations

import _thread
import sys
import threading
import time
import warnings
from collections import deque
from typing import Any, Callable, Deque, Generator, Iterable, List, Optional, Tuple, Union
from weakref import ref

from mo_logs import logger

from mo_threads import _runtime
from mo_threads._blocking import begin as _begin_wait
from mo_threads._blocking import end as _end_wait
from mo_threads._parking import park_on, wake_all
from mo_threads._vocabulary import SignalBase, bad_till, check_count, check_name, check_timeout

__all__ = ("Signal", "DONE", "NEVER", "SignalLike", "or_signal", "OrSignal", "AndSignals", "Never", "standard_warning")

_allocate_lock = _thread.allocate_lock
_monotonic = time.monotonic
_TIMEOUT_MAX = _thread.TIMEOUT_MAX
# guards the state of every Signal: `_go`, `_waiters`, `_jobs`
_STATE_LOCK = _allocate_lock()

ErrorHandler = Callable[[BaseException], Any]
SignalLike = Union["Signal", bool, None]


def _report_callback_failure(cause: BaseException) -> None:
    """The default `error=` of `then()`: a failing callback is logged, never lost."""
    logger.warning("A Signal callback failed", cause=cause)


class Signal(SignalBase):
    """A one-shot event: false until `go()`, then true for ever.

    Unlike `threading.Event` it can not be cleared, it can run callbacks
    (`then()`), and signals combine: `a | b` fires when either fires, `a & b`
    when both have.
    """

    __slots__ = ("_name", "_go", "_waiters", "_jobs", "__weakref__")

    def __init__(self, name: Optional[str] = None) -> None:
        """Make a pending signal; `name` (a str) shows in its repr and in messages."""
        if name is not None and name.__class__ is not str:
            check_name(name, "Signal name")
        self._name: Any = name
        self._go = False
        self._waiters: Optional[List[Any]] = None
        self._jobs: Optional[List[Tuple[Callable[[], Any], Optional[ErrorHandler]]]] = None

    # --- state -----------------------------------------------------------------
    @property
    def name(self) -> str:
        """A readable name; combinations describe what they combine."""
        name = self._name
        if name is None:
            return "signal"
        if name.__class__ is tuple:
            return _combination_name(self, 0)
        text: str = name
        return text

    def __bool__(self) -> bool:
        return self._go

    def __repr__(self) -> str:
        state = "done" if self._go else "pending"
        return "<" + type(self).__name__ + " " + repr(self.name) + " " + state + ">"

    # --- firing ----------------------------------------------------------------
    def go(self) -> Signal:
        """Fire the signal: wake every waiter and run every `then()` callback; returns the signal.

        Callbacks run here, on the calling thread, once each. Calling `go()` again
        does nothing.
        """
        if self._go:
            return self
        with _STATE_LOCK:
            if self._go:
                return self
            self._go = True
            waiters, self._waiters = self._waiters, None
            jobs, self._jobs = self._jobs, None
        if _ORPHANS:
            # a combination dropped while we held the lock: its feed is still on a source
            _remove_orphans()
        if waiters:
            wake_all(waiters)
        if jobs:
            for job, error in jobs:
                _run_job(job, error)
        return self

    def wait(self, till: Optional[Signal] = None, *, timeout: Optional[float] = None) -> bool:
        """Block until this signal fires, `till` fires, or `timeout` seconds pass.

        Returns True when this signal fired, False when the wait was cut short.
        """
        if till is not None and not isinstance(till, Signal):
            raise bad_till(till)
        if timeout is not None:
            timeout = check_timeout(timeout, "timeout")
            if timeout > _TIMEOUT_MAX:
                timeout = _TIMEOUT_MAX  # "for ever": longer than a raw lock accepts
        if self._go:
            return True
        if till is not None:
            if till._go:
                return False
            if till is NEVER:
                till = None  # can not cut the wait short: no need to park on it
        if till is None and timeout is None and self is NEVER:
            raise RuntimeError("NEVER.wait() without till= or timeout= would block for ever")

        # slow path: recorded for dumps, metrics and the wait-for graph (may raise DeadlockError)
        record = _begin_wait("Signal", self, till is not None or timeout is not None)
        try:
            park_on(self, till, None if timeout is None else _monotonic() + timeout)
            return self._go
        finally:
            _end_wait(record)

    # --- asyncio and concurrent.futures -----------------------------------------
    def __await__(self) -> Generator[Any, None, bool]:
        """`await signal` inside a running asyncio event loop: suspend, not block.

        The loop is woken (with `call_soon_threadsafe`) from whichever thread
        calls `go()`; meanwhile it runs its other tasks. Returns True. When the
        awaiting task is cancelled, the callback is removed from this signal.
        Raises RuntimeError outside a running asyncio event loop.
        """
        if self._go:
            return True
        # no running asyncio loop can exist before asyncio was imported: mo_threads
        # does not import it for users who never await
        asyncio = sys.modules.get("asyncio")
        if asyncio is None:
            raise RuntimeError("await " + repr(self) + " needs a running asyncio event loop")
        loop = asyncio.get_running_loop()
        future = loop.create_future()

        def wake() -> None:
            try:
                loop.call_soon_threadsafe(_set_future_true, future)
            except RuntimeError:
                pass  # the loop was closed: nobody waits any more

        self.then(wake)
        try:
            yield from future.__await__()
        finally:
            if not future.done() or future.cancelled():
                self.remove_then(wake)
        return True

    @staticmethod
    def from_future(future: Any, name: Optional[str] = None) -> Signal:
        """A Signal that fires when `future` completes (with a result, an error, or cancelled).

        `future` is anything with `add_done_callback(fn)` calling `fn(future)`:
        a `concurrent.futures.Future` (stdlib executors), or the futures of Dask,
        Ray and others that follow that protocol. The callback runs on whatever
        thread completes the future. Raises TypeError for an object without
        `add_done_callback`.
        """
        add_done_callback = getattr(future, "add_done_callback", None)
        if not callable(add_done_callback):
            raise TypeError("Signal.from_future() expects a future with add_done_callback(), not " + type(future).__name__)
        signal = Signal(name if name is not None else "future")

        def done(_: Any) -> None:
            signal.go()

        add_done_callback(done)
        return signal

    # --- callbacks -------------------------------------------------------------
    def then(self, target: Callable[[], Any], error: Optional[ErrorHandler] = None) -> Signal:
        """Run `target()` once, on the thread that fires this signal.

        If the signal has already fired, `target` runs now, on this thread. An
        exception raised by `target` is passed to `error(exception)`, by default
        a warning in the log; it never reaches the thread calling `go()`.
        Returns this signal, so calls can be chained.
        """
        if not callable(target):
            raise TypeError("Signal.then() expects a callable, not " + type(target).__name__)
        if error is not None and not callable(error):
            raise TypeError("Signal.then(error=) expects a callable, not " + type(error).__name__)
        if self._name.__class__ is tuple:
            # a combination with a callback must fire even if nobody keeps it
            self._hold()
        if not self._add_job(target, error):
            _run_job(target, error)
        return self

    def remove_then(self, target: Callable[[], Any]) -> bool:
        """Forget a callback added with `then()`; True when it was registered.

        A combination whose callbacks were removed is no longer held by its
        sources: dropping it then leaves nothing behind on them.
        """
        with _STATE_LOCK:
            removed = self._remove_job(target)
        if removed and self._name.__class__ is tuple:
            self._unhold()
        return removed

    def _remove_job(self, target: Callable[[], Any]) -> bool:
        # caller holds _STATE_LOCK
        jobs = self._jobs
        if jobs:
            for i, (job, _) in enumerate(jobs):
                if job is target or job == target:
                    del jobs[i]
                    return True
        return False

    # --- the surface of mo-threads 6.x that code reached into: deprecated ---------
    @property
    def lock(self) -> Any:
        """Deprecated: a lock to hold while reading `bool()` and clearing `job_queue`.

        6.x code (mo-sqlite) cancels a pending callback with
        `with till.lock: till.job_queue = None`. The lock is one for all signals,
        used by nothing else: it does not hold off `go()`, so a callback may still
        run if the signal fires before `job_queue` is cleared. Use `remove_then()`.
        """
        _warn_legacy("Signal.lock")
        return _LEGACY_LOCK

    @property
    def job_queue(self) -> Optional[List[Tuple[Callable[[], Any], Optional[ErrorHandler]]]]:
        """Deprecated: the pending `then()` callbacks as (target, error) pairs, None when there are none.

        Assigning None removes them all, as `remove_then()` does for each (the
        feeds of `|` and `&` combinations stay). Use `remove_then()`.
        """
        _warn_legacy("Signal.job_queue")
        return self._legacy_jobs() or None

    @job_queue.setter
    def job_queue(self, value: None) -> None:
        _warn_legacy("Signal.job_queue")
        if value is not None and value != []:
            raise TypeError(
                "Signal.job_queue can only be set to None (to drop the then() callbacks), not "
                + type(value).__name__
                + "; use then() and remove_then()"
            )
        for target, _ in self._legacy_jobs():
            self.remove_then(target)

    def _legacy_jobs(self) -> List[Tuple[Callable[[], Any], Optional[ErrorHandler]]]:
        with _STATE_LOCK:
            return [job for job in self._jobs or () if job[0].__class__ is not _Feed]

    # --- combinations ----------------------------------------------------------
    def __or__(self, other: SignalLike) -> Signal:
        if other is None or other is False:
            return self
        if other is True:
            return DONE
        if not isinstance(other, Signal):
            raise TypeError("Can only combine a Signal with a Signal or bool, not " + type(other).__name__)
        if self._go or other._go:
            return DONE
        if other is NEVER or other is self:
            return self
        if self is NEVER:
            return other
        return _combine(self, other, " | ", 1)

    __ror__ = __or__

    def __and__(self, other: SignalLike) -> Signal:
        if other is True:
            return self
        if other is None or other is False:
            return NEVER
        if not isinstance(other, Signal):
            raise TypeError("Can only combine a Signal with a Signal or bool, not " + type(other).__name__)
        if self is NEVER or other is NEVER:
            return NEVER
        if other._go or other is self:
            return self
        if self._go:
            return other
        return _combine(self, other, " & ", 2)

    __rand__ = __and__

    # --- internals, used by the layers above -----------------------------------
    def _add_waiter(self, waiter: Any) -> bool:
        """Put a raw lock in line, to be released by `go()`; False when already fired (see `_parking`, rule 9)."""
        with _STATE_LOCK:
            if self._go:
                return False
            waiters = self._waiters
            if waiters is None:
                self._waiters = [waiter]
            else:
                waiters.append(waiter)
        return True

    def _remove_waiter(self, waiter: Any) -> None:
        """Take a raw lock out of line, if it is still there (see `_parking`, rule 9)."""
        # go() only ever takes the line away, so without waiters (the usual case after a
        # wake-up) there is nothing to remove and no need for the lock
        if self._waiters:
            with _STATE_LOCK:
                waiters = self._waiters
                if waiters:
                    try:
                        waiters.remove(waiter)
                    except ValueError:
                        pass

    def _add_job(self, job: Callable[[], Any], error: Optional[ErrorHandler] = None) -> bool:
        """Register a callback; False (and not registered) when already fired."""
        with _STATE_LOCK:
            if self._go:
                return False
            jobs = self._jobs
            if jobs is None:
                self._jobs = [(job, error)]
            else:
                jobs.append((job, error))
        return True

    def _has_waiters(self) -> bool:
        return bool(self._waiters)

    def _hold(self) -> None:
        """Keep this signal alive until it fires: someone relies on its callbacks.

        A plain Signal is fired by whoever holds it, so there is nothing to do; a
        combination is held by its sources (and they in turn by theirs); `Till`
        asks the timer to hold it.
        """
        # a loop, not recursion: combinations nest as deep as users make them
        stack = [self]
        while stack:
            signal = stack.pop()
            name = signal._name
            if name.__class__ is not tuple:
                if signal is not self:
                    signal._hold()  # a leaf: a Till holds itself
                continue
            feed = name[3]
            with _STATE_LOCK:
                if feed.remaining <= 0:
                    continue  # fired, or firing now: nothing to keep
                feed.holds += 1
                if feed.holds > 1:
                    continue  # held already, and so are its sources
                feed.strong = signal
            stack.append(name[1])
            stack.append(name[2])

    def _unhold(self) -> None:
        """Undo one `_hold()`: a combination that relied on this one has fired."""
        stack = [self]
        while stack:
            signal = stack.pop()
            name = signal._name
            if name.__class__ is not tuple:
                if signal is not self:
                    signal._unhold()
                continue
            feed = name[3]
            with _STATE_LOCK:
                if feed.holds <= 0:
                    continue  # fired meanwhile, and let go of its sources then
                feed.holds -= 1
                if feed.holds:
                    continue
                feed.strong = None
            stack.append(name[1])
            stack.append(name[2])


_LEGACY_LOCK = threading.RLock()


def _warn_legacy(what: str) -> None:
    warnings.warn(
        what + " is the internal state of mo-threads 6.x: use then() and remove_then() instead",
        DeprecationWarning,
        stacklevel=3,
    )


def _combination_name(signal: Signal, depth: int) -> str:
    name = signal._name
    if name.__class__ is not tuple:
        return signal.name
    if depth >= 6:
        return "(...)"  # deep chains stay readable (and need no deep recursion)
    text: str = "(" + _combination_name(name[1], depth + 1) + name[0] + _combination_name(name[2], depth + 1) + ")"
    return text


def _set_future_true(future: Any) -> None:
    # on the event loop's thread: the awaiting task may have been cancelled meanwhile
    if not future.done():
        future.set_result(True)


def _run_job(job: Callable[[], Any], error: Optional[ErrorHandler]) -> None:
    try:
        job()
    except BaseException as cause:
        handler = error or _report_callback_failure
        try:
            handler(cause)
        except BaseException as handler_failure:
            _report_callback_failure(handler_failure)


class _Feed:
    """The callback that feeds a combination; holds it weakly.

    `remaining` counts the sources still to fire (1 for `|`, 2 for `&`).
    `strong` holds the combination while someone relies on its callbacks:
    `holds` counts them (its own `then()`, and combinations built on it that
    have callbacks; see `Signal._hold`), so that they run even if nobody else
    keeps it. The combination holds its sources the same way meanwhile.
    """

    __slots__ = ("target", "remaining", "strong", "holds")

    def __init__(self, target: ref[Signal], remaining: int) -> None:
        self.target = target
        self.remaining = remaining
        self.strong: Optional[Signal] = None
        self.holds = 0

    def __call__(self) -> None:
        with _STATE_LOCK:
            self.remaining -= 1
            if self.remaining != 0:
                # more sources to wait for, or fired already
                return
            combined = self.strong
            self.strong = None
            held = self.holds
            self.holds = 0
        if combined is None:
            combined = self.target()
            if combined is None:
                return
        pending = getattr(_PROPAGATION, "pending", None)
        if pending is not None:
            # inside another combination's go() on this thread: let that loop fire
            # this one, so a deep chain (reduce(or_, signals)) does not recurse
            pending.append((self, combined, held))
            return
        pending = _PROPAGATION.pending = [(self, combined, held)]
        try:
            while pending:
                feed, combined, held = pending.pop()
                feed._finish(combined, held)
        finally:
            _PROPAGATION.pending = None
            # only if an exception escaped: what was left must still fire
            while pending:
                feed, combined, held = pending.pop()
                feed._finish(combined, held)

    def _finish(self, combined: Signal, held: int) -> None:
        combined.go()
        _, a, b, _ = combined._name
        # the source that did not fire (for `|`) should not keep this feed
        with _STATE_LOCK:
            a._remove_job(self)
            b._remove_job(self)
        if held:
            # and no longer needs to be held for our callbacks
            a._unhold()
            b._unhold()


# per thread: combinations waiting to fire while another one fires (see _Feed)
_PROPAGATION = _thread._local()

# feeds of collected combinations, still registered on their sources: see _forget
_ORPHANS: Deque[Tuple[Signal, Signal, _Feed]] = deque()


def _forget(a: Signal, b: Signal, feed: _Feed) -> None:
    """A combination was collected: take its feed off its sources.

    This runs from a weakref callback, so possibly inside a garbage collection
    that started while this very thread held `_STATE_LOCK` (any allocation can
    start one): it must never block on that lock. When the lock is busy the feed
    is left for the next `_combine` or `go()` to remove.
    """
    if _STATE_LOCK.acquire(False):
        try:
            a._remove_job(feed)
            b._remove_job(feed)
        finally:
            _STATE_LOCK.release()
    else:
        _ORPHANS.append((a, b, feed))


def _remove_orphans() -> None:
    while _ORPHANS:
        try:
            a, b, feed = _ORPHANS.popleft()
        except IndexError:
            return
        with _STATE_LOCK:
            a._remove_job(feed)
            b._remove_job(feed)


def _combine(a: Signal, b: Signal, op: str, needed: int) -> Signal:
    if _ORPHANS:
        _remove_orphans()
    combined = Signal()

    def forget(_: Any) -> None:
        # the combination was collected: stop feeding it
        _forget(a, b, feed)

    feed = _Feed(ref(combined, forget), needed)
    # combined holds a and b (through its name), so they outlive the weakref above
    combined._name = (op, a, b, feed)
    if not a._add_job(feed):
        feed()
    if not b._add_job(feed):
        feed()
    return combined


class _Never(Signal):
    """A signal that never fires: `then()` and `|` with it cost nothing."""

    __slots__ = ()

    def go(self) -> Signal:
        """Does nothing: NEVER stays false (as in mo-threads 6.x)."""
        return self

    def then(self, target: Callable[[], Any], error: Optional[ErrorHandler] = None) -> Signal:
        if not callable(target):
            raise TypeError("Signal.then() expects a callable, not " + type(target).__name__)
        return self

    def _add_job(self, job: Callable[[], Any], error: Optional[ErrorHandler] = None) -> bool:
        return True


def _after_fork_in_child() -> None:
    # the lock may have been held by a thread that does not exist in the child
    global _STATE_LOCK, _LEGACY_LOCK
    _STATE_LOCK = _allocate_lock()
    _LEGACY_LOCK = threading.RLock()


_runtime.on_fork("signals", _after_fork_in_child)

DONE = Signal("DONE")
DONE.go()
NEVER: Signal = _Never("NEVER")


# --- names of mo-threads 6.x -----------------------------------------------------
# Module-level names that 6.x code imports from mo_threads.signals. `a | b` and
# `a & b` are the way to combine signals; these do the same jobs under the old names.

Never = _Never  # the class of NEVER: a Signal whose go() does nothing

standard_warning = _report_callback_failure  # the default error= of then(), by its 6.x name


def or_signal(*dependencies: Signal) -> Signal:
    """A signal that fires when any of `dependencies` fires: `a | b | ...` for any number.

    Returns DONE when one has fired already, NEVER when there are none, the
    signal itself when there is one, else a combination (dropped, it leaves
    nothing behind on its sources). Raises TypeError for anything that is not
    a Signal.
    """
    result: Signal = NEVER
    for dependency in dependencies:
        if not isinstance(dependency, Signal):
            raise TypeError("or_signal() expects Signals, not " + type(dependency).__name__)
        result = result | dependency
    return result


class OrSignal:
    """Make an existing `signal` fire when any of `dependencies` fires.

    `OrSignal(signal, [a, b])` is the 6.x way to feed a signal you already
    hold; `or_signal(a, b)` (or `a | b`) gives a new one. `signal` is held
    weakly, and fed through a combination of the dependencies that only
    `signal` keeps: once `signal` fires, is dropped, or `cleanup()` is called,
    nothing is left on the dependencies, so a long-lived one (a thread's
    `please_stop`) does not collect dead callbacks. When a dependency has
    fired already, `signal` fires at once. Raises TypeError for anything that
    is not a Signal.
    """

    __slots__ = ("signal", "dependencies", "_any")

    def __init__(self, signal: Signal, dependencies: Iterable[Signal]) -> None:
        if not isinstance(signal, Signal):
            raise TypeError("OrSignal() expects a Signal to fire, not " + type(signal).__name__)
        dependencies = tuple(dependencies)
        for dependency in dependencies:
            if not isinstance(dependency, Signal):
                raise TypeError("OrSignal() expects Signals to depend on, not " + type(dependency).__name__)
        self.signal: ref[Signal] = ref(signal)
        self.dependencies: Tuple[Signal, ...] = dependencies
        self._any: Optional[Signal] = None  # the combination feeding `signal`; only this object keeps it
        if signal._go or not dependencies:
            return
        if any(dependency._go for dependency in dependencies):
            signal.go()
            return
        # always a combination of our own (never a dependency itself), so that
        # dropping it takes every callback off the dependencies
        combined = _combine(dependencies[0], dependencies[1] if len(dependencies) > 1 else NEVER, " | ", 1)
        for dependency in dependencies[2:]:
            combined = _combine(combined, dependency, " | ", 1)
        self._any = combined
        if not signal._add_job(self):
            # `signal` fired meanwhile (or never fires, as NEVER): nothing to feed
            self._any = None
            return
        target = self.signal

        def fire() -> None:
            fed = target()
            if fed is not None:
                fed.go()

        # the combination holds `signal` only through the weak reference in `fire`
        if not combined._add_job(fire):
            fire()

    def __call__(self) -> None:
        """Run when `signal` fires: let go of the dependencies."""
        self._any = None

    def cleanup(self) -> None:
        """Stop feeding `signal`, and take every callback off the dependencies."""
        signal = self.signal()
        if signal is not None:
            with _STATE_LOCK:
                signal._remove_job(self)
        self._any = None


class AndSignals:
    """Fire `signal` once `done()` has been called `count` times: a countdown, as in 6.x.

    With `count` 0, `signal` fires at once. Calls of `done()` beyond `count`
    do nothing. `remaining` is the number of calls still needed. For Signals
    already at hand, `a & b` is simpler; for a countdown with `wait()`, see
    `mo_threads.sync.Latch`.
    """

    __slots__ = ("signal", "remaining")

    def __init__(self, signal: Signal, count: int) -> None:
        if not isinstance(signal, Signal):
            raise TypeError("AndSignals() expects a Signal to fire, not " + type(signal).__name__)
        check_count(count, "AndSignals() count", 0)
        self.signal = signal
        self.remaining = count
        if not count:
            signal.go()

    def done(self) -> None:
        """Count one call; the call that brings `remaining` to 0 fires `signal`."""
        with _STATE_LOCK:
            if self.remaining <= 0:
                return
            self.remaining -= 1
            if self.remaining:
                return
        self.signal.go()
