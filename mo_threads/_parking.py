"""The one way a thread waits: a line of parked threads (internal).

Theory of operation
-------------------
A `ParkingLot` is a first-in, first-out line of parked threads, in the spirit of
trio's `ParkingLot`. A primitive (a Queue's consumers, its producers, a Lock's
acquirers and waiters) keeps its own state behind its own lock and uses a lot
only to sleep and to be woken:

    with state_lock:                      # the caller's lock, a raw lock
        while not condition():
            lot.park(state_lock, till, deadline)   # released while parked
    ...
    lot.unpark()                          # from the thread that changed the state

Each parked thread sleeps on a raw lock of its own (the *waiter*), made locked
and queued in the line. `unpark()` takes the first waiter out of the line and
releases it; `till` (a Signal) releases it too, and a deadline ends the sleep.
The parked thread then leaves the line itself, under the caller's lock when one
is given. Whether it was *handed* the wake-up is told by one atomic step: if its
waiter is no longer in the line, an unparker took it out to wake it.

Rules that hold at every instant:

1. Register, then look, then sleep. A thread that changes the state without the
   caller's lock (a Queue's lock-free pop) wakes the first waiter only if it sees
   one; so `park(ready=)` looks at the state again after the waiter is queued,
   and does not sleep if it is ready already. A wake-up can not fall between the
   look and the sleep: an early release makes the sleep return at once.
2. A wake-up handed over is never dropped. A thread handed a wake-up and then
   interrupted by an exception (KeyboardInterrupt from a Ctrl-C, SystemExit from
   SIGTERM, an exception thrown into it) before it could use it passes it on to
   the next in line before the exception leaves `park()`. A thread handed a
   wake-up and not interrupted returns True: its caller looks at the state and
   takes what it was woken for (the item, the room, the lock).
3. No waiter is left behind. Every way out of `park()` (woken, `till`, the
   deadline, an exception) takes the waiter out of the line first, so a stale
   waiter never swallows the wake-up meant for another thread. That holds for an
   exception raised before the sleep as well (a Ctrl-C while the thread registers
   with `till`, looks with `ready()` or lets go of `outer`): those steps are inside
   the same `try`, and a thread whose `till` fired already never gets in line.
4. A thread woken by `till` or the deadline at the moment an unparker chose it
   counts as handed (rule 2's look says so): it returns True and its caller looks
   at the state, so the wake-up is used or passed on, never lost between the two.
5. The main thread sleeps in slices of `MAIN_THREAD_SLICE` seconds: the kernel may
   deliver SIGINT/SIGTERM to another thread, and Python runs its handlers only on
   the main thread, between two slices at the latest.

Signal handlers during a hand-off
---------------------------------
A Python-level signal handler (Python's own SIGINT handler, mo_threads', a
user's) runs on the main thread between two bytecodes and raises there
(KeyboardInterrupt, SystemExit). Between the wake-up and the moment the thing
handed over (an item, room, the lock) is in the caller's hands, such a raise
would drop it. So `park(hold=True)` makes the main thread hold its handlers from
the wake-up on (`hold_signals()`), and the caller ends the hand-off with
`resume_signals(pass_on, value)` once it took what it was woken for: the held
handlers run there, and when one raises, `pass_on(value)` gives the thing to
the next in line (or back to the primitive) before the exception goes on. A
raise before the handlers are held comes out of the sleep, where rule 2 passes
the wake-up on. PyPy, which may run a handler before any bytecode (a signal
sent right after the hand-off is usually pending when the parked thread wakes),
holds every Python-level handler (`__pypy__.thread._signals_exit`). CPython has
no such switch: there mo_threads' own SIGINT/SIGTERM handler asks
`defer_while_held()` first, which keeps the call for `resume_signals()`. Any other
SIGINT/SIGTERM handler (one the application installed after mo_threads', or
Python's own before mo_threads installs its) is *shielded* for the park: before
the main thread sleeps, it is swapped for a wrapper that asks
`defer_while_held()` in its stead, and `resume_signals()` puts it back (so
does every way out of `park()` that does not hold). `signal.getsignal()` shows
the wrapper only while the main thread is parked, when no other thread may
change a handler; with mo_threads' handler in place nothing is swapped. What
remains everywhere: a signal that arrives after `resume_signals()` (the last
bytecodes of the call and the caller's own, until it stores the result) raises
with the thing already taken.

Broadcasts
----------
A one-shot event (a Signal) wakes every thread that waits for it, for good:
nothing is handed to one thread, so there is nothing to pass on. `park_on(event)`
is its wait; the event keeps its line in `_waiters` (a plain list, made on the
first wait, falsy once woken) and offers `_add_waiter()`/`_remove_waiter()`, the
same calls every lot makes on its `till`; `wake_all(line)` is its wake-up.

9. The event takes its line away when it fires. `_add_waiter()` puts a waiter in
   line under the event's lock and refuses (False) once it fired; the firing
   thread takes the line out under the same lock, then `wake_all()`. So no
   thread joins a line that was woken already. A thread that leaves (its `till`,
   its deadline, an exception) takes its waiter out under the same lock, and only
   from a line that is still the event's: the firing thread has the line it took
   to itself. What the event's state says after the sleep is the answer; a
   wake-up that came with `till` is not lost, as the state stays true.

Waiters are raw locks: nothing is allocated on the fast paths of the primitives
(a lot's line is made with the primitive; the waiter only when a thread parks).

Hand-off lots
-------------
A `HandOffLot` is a line where a wake-up carries something to one thread: a
Semaphore's permit, a Channel's value (`hand(value)`), or takes what the parked
thread offered (`take()`, a Channel's waiting sender). There the thing is not
left in the primitive's state for the woken thread to find: it is given to that
thread alone, so a newcomer can not take it first (no barging). Everything
happens under the caller's lock (`outer`, required): the unparkers hold it, and
a parked thread looks only under it whether it was served.

6. Served is final. `hand()`/`take()` take the first place out of the line and
   mark it served before waking it. A thread that wakes for any reason (its
   `till`, its deadline, an exception) looks at the mark under the lock: served,
   it returns what it was handed, even when its `till` fired at the same moment
   (rule 4); not served, it leaves the line and nothing was handed.
7. What an interrupted thread was handed goes on: to the next in line, or, with
   nobody in line, back to the primitive (`give_back(value)`: a permit counted
   again, a value back at the front of a channel's buffer), under the lock, before
   the exception leaves `park()`. An offer that was taken (a sender's value) was
   delivered: the exception only comes after.
8. In both kinds of lot, `outer` is taken again whatever comes: an exception
   raised while taking it (a second Ctrl-C) waits until it is held, and the first
   exception is raised after, so `park()` always returns holding `outer` and no
   look is skipped. A `ParkingLot` thread passes a wake-up on before it takes
   `outer` again (rule 2); a `HandOffLot` thread after, as it looks under `outer`.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # signal.getsignal() without the enum conversion of its Python wrapper
import _thread
import threading
from time import monotonic as _monotonic
from time import sleep as _sleep
from typing import Any, Callable, Deque, List, Optional, Tuple

from mo_threads import _runtime

try:  # PyPy: hold the main thread's Python-level signal handlers during a hand-off
    from __pypy__.thread import _signals_enter, _signals_exit  # type: ignore[import-not-found]
except ImportError:
    _signals_enter = _signals_exit = None

__all__ = (
    "hold_signals",
    "resume_signals",
    "defer_while_held",
    "defers_itself",
    "ParkingLot",
    "HandOffLot",
    "NOT_HANDED",
    "MAIN_THREAD_SLICE",
    "sleep_on",
    "park_on",
    "wake_all",
)

_allocate_lock = _thread.allocate_lock
_get_ident = _thread.get_ident
_TIMEOUT_MAX = _thread.TIMEOUT_MAX

# the longest the main thread sleeps before it looks for OS signal handlers to run
MAIN_THREAD_SLICE = 0.1
_main_ident = threading.main_thread().ident


_getsignal = _signal.getsignal
_setsignal = _signal.signal
# the signals a hand-off shields on CPython (see the module): those whose handlers stop a program
_SIGINT, _SIGTERM = _signal.SIGINT, _signal.SIGTERM

_held = False  # the main thread holds its signal handlers: it was woken for a hand-off (`park(hold=True)`)
_deferred: List[Tuple[Callable[[int, Any], Any], int, Any]] = []  # handlers that came meanwhile (CPython)
_self_deferring: Any = None  # the SIGINT/SIGTERM handler that calls defer_while_held() first (mo_threads')
_shielded: List[Tuple[int, Any, Any]] = []  # (signum, handler, its wrapper) swapped for this park (CPython)


def hold_signals() -> None:
    """Hold the main thread's signal handlers until `resume_signals()` (a wake-up came; see the module)."""
    global _held
    if not _held and _get_ident() == _main_ident:
        if _signals_exit is not None:
            _signals_exit()
        _held = True


def defer_while_held(handler: Callable[[int, Any], Any], signum: int, frame: Any) -> bool:
    """Called first by mo_threads' own signal handlers: while the main thread holds, keep the call for `resume_signals()` (True)."""
    if not _held:
        return False
    _deferred.append((handler, signum, frame))
    return True


def defers_itself(handler: Callable[[int, Any], Any]) -> Callable[[int, Any], Any]:
    """Mark `handler` as mo_threads' SIGINT/SIGTERM handler, which calls `defer_while_held()` first: a hand-off does not shield it."""
    global _self_deferring
    _self_deferring = handler
    return handler


class _Shield:
    """A SIGINT/SIGTERM handler that can not defer itself, wrapped for one park of the main thread (see the module)."""

    __slots__ = ("handler",)

    def __init__(self, handler: Callable[[int, Any], Any]) -> None:
        self.handler = handler

    def __call__(self, signum: int, frame: Any) -> Any:
        handler = self.handler
        if not defer_while_held(handler, signum, frame):
            return handler(signum, frame)
        return None


def _shield() -> None:
    """CPython, main thread, before a hand-off park: wrap the SIGINT/SIGTERM handlers that do not defer themselves."""
    if _getsignal(_SIGINT) is _self_deferring and _getsignal(_SIGTERM) is _self_deferring:
        return  # the usual case: mo_threads' own handlers
    for signum in (_SIGINT, _SIGTERM):
        handler = _getsignal(signum)
        if handler is _self_deferring or not callable(handler) or handler.__class__ is _Shield:
            continue  # mo_threads' own, or no Python-level one
        shield = _Shield(handler)
        _shielded.append((signum, handler, shield))  # first: an exception after the swap still finds it
        try:
            _setsignal(signum, shield)
        except (ValueError, OSError):
            del _shielded[-1]  # not the main interpreter's main thread: nothing can be swapped here
            return


def _unshield() -> None:
    """Put back every handler `_shield()` wrapped (unless one that ran set another meanwhile); raise the first exception met after.

    Only the main thread, which shielded them, puts them back (another thread sees the same `_shielded`).
    """
    if _get_ident() != _main_ident:
        return
    late: Optional[BaseException] = None
    while _shielded:
        try:
            while _shielded:
                signum, handler, shield = _shielded[-1]
                try:
                    if _getsignal(signum) is shield:
                        _setsignal(signum, handler)
                except (ValueError, OSError):
                    pass  # refused where the swap was allowed: never loop on it
                del _shielded[-1]
        except BaseException as error:  # a signal now runs a handler put back: it may raise
            if late is None:
                late = error
    if late is not None:
        raise late


def resume_signals(pass_on: Optional[Callable[[Any], Any]] = None, value: Any = None) -> None:
    """End a hand-off (see the module): run the signal handlers held since the wake-up, now.

    When one raises, `pass_on(value)` first gives what this thread was handed
    to the next in line; then the exception goes on. Does nothing when no
    handler is held (another thread, no wake-up).
    """
    global _held
    if not _held or _get_ident() != _main_ident:
        return  # only the main thread holds them, and only it may end the hold
    try:  # from the first step: a handler may run at any call from here on
        try:
            _held = False
            if _signals_enter is not None:
                _signals_enter()
                _sleep(0)  # PyPy runs the handlers that came meanwhile when this thread takes the GIL again
            if _shielded:
                _unshield()
        finally:
            if _deferred:
                _run_deferred()
    except BaseException:
        if pass_on is not None:
            pass_on(value)
        raise


def _run_deferred() -> None:
    """Run the handlers kept by `defer_while_held()`, in order; one that raises leaves the rest to run after it, as CPython does."""
    handler, signum, frame = _deferred.pop(0)
    try:
        handler(signum, frame)
    finally:
        if _deferred:
            _run_deferred()


def sleep_on(waiter: Any, deadline: Optional[float]) -> bool:
    """Acquire the raw lock `waiter` (True), or give up at `deadline` (monotonic seconds; False).

    On the main thread the sleep goes in slices, so OS signal handlers run
    within `MAIN_THREAD_SLICE` (and may raise out of this call).
    """
    if _get_ident() == _main_ident:
        return _sleep_in_slices(waiter, deadline)
    if deadline is None:
        return waiter.acquire()  # type: ignore[no-any-return]
    left = deadline - _monotonic()
    return left > 0 and waiter.acquire(True, min(left, _TIMEOUT_MAX))  # type: ignore[no-any-return]


def _sleep_in_slices(waiter: Any, deadline: Optional[float], hold: bool = False, shield: bool = True) -> bool:
    """`sleep_on()` for the main thread, and its park's sleep.

    With `hold=True` (a hand-off's park) a handler that can not defer itself is
    shielded first (unless `shield=False`), and the handlers are held from the
    wake-up on, until the caller's `resume_signals()` (see the module).
    """
    global _held
    if hold and shield and _signals_exit is None:
        _shield()
    while True:
        step = MAIN_THREAD_SLICE
        if deadline is not None:
            left = deadline - _monotonic()
            if left <= 0:
                woken: bool = waiter.acquire(False)
                break
            step = min(step, left)
        if waiter.acquire(True, step):
            woken = True
            break
    if hold:  # hold_signals(), inline: not held now (see the top)
        if _signals_exit is not None:
            _signals_exit()
        _held = True
    return woken


def _hold(outer: Any, late: Optional[BaseException]) -> Optional[BaseException]:
    """Take `outer` whatever comes (rule 8); return the first exception met, `late` if one was already."""
    while True:
        try:
            outer.acquire()
            return late
        except BaseException as error:
            if late is None:
                late = error


class ParkingLot(Deque[Any]):
    """A first-in, first-out line of parked threads: `park()` to wait, `unpark()` to wake (see the module).

    The lot is the line itself, a deque of waiters: `if lot:` and `len(lot)`
    cost what they cost on a deque, for the fast paths that look whether
    anybody waits. Anything with a `release()` method may stand in the line
    (a Queue's watches do): `unpark()` calls it.
    """

    __slots__ = ()

    def park(
        self,
        outer: Any = None,
        till: Any = None,
        deadline: Optional[float] = None,
        ready: Optional[Callable[[], bool]] = None,
        hold_again: bool = True,
        hold: bool = False,
        shield: bool = True,
    ) -> bool:
        """Sleep until `unpark()` wakes this thread (True), or `till` fires or `deadline` passes (False).

        `outer`, a raw lock the caller holds, is released while parked and held
        again on every way out, an exception included (with `hold_again=False`
        it is left released on every way out). `till` is a Signal; `deadline`
        is in `time.monotonic()` seconds. `ready()`, when given, is looked at
        once the thread is in line, `outer` still held: True returns True at
        once, for a state changed without `outer` just before. A thread handed
        a wake-up and then interrupted passes it to the next in line.
        With `hold=True` the caller ends every return with `resume_signals()`
        (see the module): on the main thread the signal handlers are held
        from the wake-up until then, a handler that can not defer itself
        shielded unless `shield=False` (for a caller whose way out passes the
        wake-up on by itself: `Lock.wait`, whose lock is left on the way out).
        """
        if _held:
            resume_signals()  # a wake-up not used: its held handlers run before this thread sleeps again
        waiter = _allocate_lock()
        waiter.acquire()
        queued = released = False  # each set before its call: CPython raises only after a call, or at a jump
        woken: Optional[bool] = None  # None: it slept
        try:  # from the first step: an exception before the sleep leaves nothing behind (rule 3)
            if till is not None and not till._add_waiter(waiter):
                woken = False  # fired already: never in line
            else:
                queued = True
                self.append(waiter)
                if ready is not None and ready():
                    if till is not None:
                        till._remove_waiter(waiter)
                    self._left_line(waiter)
                    woken = True  # the caller looks again at what changed
                else:
                    if outer is not None:
                        released = True
                        outer.release()
                    if _get_ident() != _main_ident:
                        if deadline is None:
                            waiter.acquire()  # the usual wait, without a call more
                        else:
                            sleep_on(waiter, deadline)
                    else:
                        _sleep_in_slices(waiter, deadline, hold, shield)
        except BaseException:
            # interrupted before the handlers were held: pass on a wake-up handed meanwhile,
            # and leave `outer` as promised (held again, or released for good)
            if queued:
                self._leave(waiter, till, outer if released and hold_again else None, interrupted=True)
            elif till is not None:
                till._remove_waiter(waiter)
            if outer is not None and not released and not hold_again:
                outer.release()
            if _shielded:
                _unshield()
            raise
        if woken is None:
            if not hold_again:
                outer = None
            # _leave(interrupted=False), inline: this is every wait's way out
            if till is not None:
                till._remove_waiter(waiter)
            handed = waiter not in self or not self._left_line(waiter)
            if outer is not None:
                try:
                    outer.acquire()
                except BaseException as error:
                    # interrupted while taking it again (rule 8): pass the wake-up on, hold it, raise
                    if handed:
                        self.unpark()
                    _hold(outer, error)
                    raise
            return handed
        if outer is not None and not hold_again:
            outer.release()
        return woken

    def _left_line(self, waiter: Any) -> bool:
        """Take `waiter` out of the line: True when it was still there (nobody handed it a wake-up)."""
        if waiter not in self:
            return False  # the usual wake-up: an unparker took it out (no exception raised and caught)
        try:
            self.remove(waiter)
        except ValueError:
            return False  # taken out just now
        return True

    def _leave(self, waiter: Any, till: Any, outer: Any, interrupted: bool) -> bool:
        """Leave the line, then hold `outer` again; True when an unparker had chosen this thread.

        When `interrupted`, a wake-up handed to this thread goes to the next in
        line. The line is left and the wake-up passed on before `outer` is taken
        again, so an exception raised while taking it (a second Ctrl-C) loses
        nothing either.
        """
        if till is not None:
            till._remove_waiter(waiter)
        handed = not self._left_line(waiter)
        if handed and interrupted:
            self.unpark()
        if outer is not None:
            _hold(outer, None)  # a second exception meanwhile: the first one is raised (rule 8)
        return handed

    def unpark(self) -> bool:
        """Wake the first parked thread; False when nobody is parked."""
        try:
            waiter = self.popleft()
        except IndexError:
            return False
        try:
            waiter.release()
        except RuntimeError:
            pass  # released by its till as well: it leaves as handed (rule 4)
        return True

    def unpark_all(self) -> int:
        """Wake every parked thread; return how many."""
        count = 0
        while self.unpark():
            count += 1
        return count


def wake_all(line: List[Any]) -> None:
    """Wake every waiter of a broadcast line, taken away by its event when it fired (rule 9)."""
    for waiter in line:
        try:
            waiter.release()
        except RuntimeError:
            pass  # released already by another signal this waiter was parked on (its till)


def park_on(event: Any, till: Any = None, deadline: Optional[float] = None, hold: bool = False) -> None:
    """Sleep until the one-shot `event` (a Signal) fires, `till` (a Signal) fires or `deadline` passes.

    `deadline` is in `time.monotonic()` seconds. The caller looks at `event`
    afterwards to learn whether it fired (rule 9). Every way out, an exception
    included, takes this thread out of both lines. With `hold=True` (a wake-up
    that leads to a take, `wait_any`'s) the caller ends every return with
    `resume_signals()`, as after `ParkingLot.park(hold=True)`.
    """
    if _held:
        resume_signals()  # a wake-up not used: its held handlers run before this thread sleeps
    waiter = _allocate_lock()
    waiter.acquire()
    try:  # from the first step: the waiter is in no line yet
        if event._add_waiter(waiter) and (till is None or till._add_waiter(waiter)):
            if _get_ident() == _main_ident:
                _sleep_in_slices(waiter, deadline, hold)
            elif deadline is None:
                waiter.acquire()
            else:
                sleep_on(waiter, deadline)
    except BaseException:
        if _shielded and not _held:
            _unshield()
        raise
    finally:
        if event._waiters:  # else the event took its line away: the usual wake-up, nothing to remove
            event._remove_waiter(waiter)
        if till is not None:
            till._remove_waiter(waiter)


class _NotHanded:
    """The type of `NOT_HANDED`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NOT_HANDED"


NOT_HANDED: Any = _NotHanded()  # HandOffLot.park(): nothing was handed (till, deadline, dismissed)

_WAITING, _SERVED, _DISMISSED = 0, 1, 2


class _Place:
    """A thread's place in a HandOffLot: the raw lock it sleeps on, what it carries, whether it was served."""

    __slots__ = ("lock", "value", "state")

    def __init__(self, value: Any) -> None:
        self.lock = _allocate_lock()
        self.lock.acquire()
        self.value = value
        self.state = _WAITING


def _wake(lock: Any) -> None:
    try:
        lock.release()
    except RuntimeError:
        pass  # released by its till as well: the mark says it was served (rule 6)


class HandOffLot(Deque[_Place]):
    """A first-in, first-out line where each wake-up hands something over (see the module, rules 6 to 8).

    Every method is called holding the primitive's lock, the `outer` of `park()`.
    """

    __slots__ = ()

    def park(
        self,
        outer: Any,
        till: Any = None,
        deadline: Optional[float] = None,
        offer: Any = None,
        give_back: Optional[Callable[[Any], None]] = None,
    ) -> Any:
        """Sleep until served: return the value `hand()` gave, or None once `take()` took `offer`.

        Returns `NOT_HANDED` when `till` (a Signal) fires, `deadline`
        (`time.monotonic()` seconds) passes or `dismiss_all()` comes first.
        `outer`, the raw lock the caller holds, is released while parked and
        held again on every way out, an exception included. A thread handed a
        value and then interrupted hands it to the next in line, or, with
        nobody in line, calls `give_back(value)`.
        """
        place = _Place(offer)
        lock = place.lock
        late: Optional[BaseException] = None
        released = False
        try:  # from the first step: an exception before the sleep leaves nothing behind (rule 3)
            if till is not None and not till._add_waiter(lock):
                return NOT_HANDED  # fired already: never in line, `outer` still held
            self.append(place)
            released = True  # set before the call: CPython raises only after a call, or at a jump
            outer.release()
            if _signals_exit is None and _get_ident() == _main_ident:
                _shield()
            sleep_on(lock, deadline)
            hold_signals()
        except BaseException as error:
            late = error
        if released:
            late = _hold(outer, late)
        if till is not None:
            till._remove_waiter(lock)
        if _held or _shielded:
            try:  # the handlers held since the wake-up run before the look at the mark
                if _held:
                    resume_signals()
                else:
                    _unshield()
            except BaseException as error:
                if late is None:
                    late = error
        if place.state == _WAITING:
            try:
                self.remove(place)
            except ValueError:
                pass  # interrupted before it got in line
        elif place.state == _SERVED:
            if late is None:
                return place.value
            if give_back is not None and not self.hand(place.value):
                give_back(place.value)
        if late is not None:
            raise late
        return NOT_HANDED

    def hand(self, value: Any) -> bool:
        """Give `value` to the first parked thread and wake it; False when nobody is parked."""
        if not self:
            return False
        place = self.popleft()
        place.value = value
        place.state = _SERVED
        _wake(place.lock)
        return True

    def take(self) -> Any:
        """Take and return the offer of the first parked thread, and wake it; the line must not be empty."""
        place = self.popleft()
        value, place.value = place.value, None
        place.state = _SERVED
        _wake(place.lock)
        return value

    def dismiss_all(self) -> None:
        """Wake every parked thread with nothing: its `park()` returns `NOT_HANDED`."""
        while self:
            place = self.popleft()
            place.state = _DISMISSED
            _wake(place.lock)


def _after_fork_in_child() -> None:
    # the forking thread is the child's main thread: the hold and the shields of the
    # parent's main thread (parked at the fork) are nobody's here, and would keep handlers for ever
    global _main_ident, _held
    _main_ident = threading.main_thread().ident
    _held = False
    del _deferred[:]
    _unshield()


_runtime.on_fork("_parking", _after_fork_in_child)
