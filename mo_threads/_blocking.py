"""What each thread is blocked on, since when, and the wait-for graph (internal).

Every blocking primitive brackets the slow path of a wait (the part that parks
the thread; never the fast path that returns at once) with::

    wait = begin("Lock", lock, bounded=till is not None)
    try:
        ...park...
    finally:
        end(wait)

That one record serves three features:

- introspection: `blocked_on(ident)` says what a thread waits on and for how
  long (the dump, the shutdown watchdog);
- blocking metrics: `end()` counts the wait (thread, primitive, seconds)
  towards per-thread and per-primitive totals (`statistics()`), for a wait that lasted at least the
  wait threshold (1 ms by default, `set_wait_threshold`). Most hand-offs
  between threads are over in microseconds, and the work of counting one
  (about 0.3 us) sits on the path of the hand-off: the woken thread does it
  before it can hand back. Measured, that work alone took ping-pong from
  about 120k to 95k hand-offs/s when the OS wakes threads fast;
- deadlock detection: a wait has an owner when one thread alone can end it (the
  holder of a Lock, the thread being joined, the thread whose completion fires
  a Signal). `begin()` follows owner edges from the new wait; when they lead
  back to the calling thread through waits none of which can time out, the
  wait would never end, and `begin()` raises `DeadlockError` naming the cycle
  instead of parking.

Waits nest (a Queue's pop parks on a Signal): each thread keeps a stack; the
innermost wait is the one that parks (its owner edges count), the outermost is
the one reported and measured.
"""

from __future__ import annotations

import _thread
import threading
import time
from typing import Any, Callable, Dict, Final, List, Optional, Tuple

from mo_threads import _runtime
from mo_threads._vocabulary import DeadlockError, check_timeout

__all__ = (
    "DeadlockError",
    "begin",
    "end",
    "blocked_on",
    "describe_wait",
    "owned_by",
    "primitive_name",
    "reset_statistics",
    "set_thread_namer",
    "set_wait_threshold",
    "statistics",
    "wait_threshold",
)

_get_ident = _thread.get_ident
_now = time.monotonic

DEFAULT_WAIT_THRESHOLD: Final = 0.001
MAX_WAIT_THRESHOLD: Final = 1.0
# a wait shorter than this many seconds is not counted in statistics()
_threshold = DEFAULT_WAIT_THRESHOLD


def set_wait_threshold(seconds: float) -> float:
    """Count only waits that last at least `seconds` (0 to 1; default 0.001); returns the previous threshold."""
    global _threshold
    value = check_timeout(seconds, "the wait threshold", maximum=MAX_WAIT_THRESHOLD)
    previous = _threshold
    _threshold = value
    return previous


def wait_threshold() -> float:
    """The seconds a wait must last to be counted in `statistics()` (see `set_wait_threshold`)."""
    return _threshold


# A wait in progress is a plain tuple (the cheapest record to make on a path
# that already parks the thread): these name its fields.
KIND: Final = 0
TARGET: Final = 1
BOUNDED: Final = 2
OWNER: Final = 3
IDENT: Final = 4
OUTER: Final = 5
SINCE: Final = 6
_Wait = Tuple[str, Any, bool, Optional[int], int, Any, float]


def _owner_ident(wait: _Wait) -> Optional[int]:
    """The thread that alone can end this wait, if any (read now: Lock owners change)."""
    owner = wait[OWNER]
    if owner is not None:
        return owner
    kind = wait[KIND]
    if kind == "Lock":
        found: Optional[int] = getattr(wait[TARGET], "_owner", None)
        return found
    if kind == "Signal":
        return _completion_owners.get(wait[TARGET])
    return None


# ident -> innermost wait of that thread; single dict operations are atomic
_current: Dict[int, _Wait] = {}
# completion signal -> ident of the thread whose end fires it (threads.py adds it
# when the thread starts and removes it when the thread ends)
_completion_owners: Dict[Any, int] = {}


def _add(totals: Dict[Any, List[float]], key: Any, seconds: float) -> None:
    found = totals.get(key)
    if found is None:
        totals[key] = [1, seconds]
    else:
        found[0] += 1
        found[1] += seconds


# Waits counted and not yet added up: (thread name, kind, primitive name, seconds).
# A thread ending a wait only appends here (one atomic list operation): no lock,
# and no per-thread record to open, which cost a thread about 10 us at its first
# counted wait (a thread-local, an object, a lock), on the way to its end.
_counted: List[Tuple[str, str, Any, float]] = []
# the wait that makes the list this long adds it up, when nobody else is at it
FOLD_AT: Final = 4096
_thread_totals: Dict[str, List[float]] = {}  # thread name -> [waits, seconds]
_primitive_totals: Dict[Tuple[str, Any], List[float]] = {}  # (kind, name) -> [waits, seconds]
_totals_lock = _thread.allocate_lock()  # made anew in a forked child (_after_fork_in_child)


def _fold() -> None:
    # caller holds _totals_lock. Appends go on at the end meanwhile: only the
    # entries copied here are deleted
    count = len(_counted)
    batch = _counted[:count]
    del _counted[:count]
    for who, kind, name, seconds in batch:
        _add(_thread_totals, who, seconds)
        _add(_primitive_totals, (kind, name), seconds)


def _default_namer(ident: int) -> Optional[str]:
    return None


_thread_namer: Callable[[int], Optional[str]] = _default_namer


def set_thread_namer(namer: Callable[[int], Optional[str]]) -> None:
    """Install the function naming a thread by ident (threads.py does, at import)."""
    global _thread_namer
    _thread_namer = namer


def thread_name(ident: int) -> str:
    """The mo_threads name of thread `ident`, else its `threading` name, else the number."""
    try:
        name = _thread_namer(ident)
    except Exception:
        name = None
    if name:
        return name
    other = threading._active.get(ident)  # type: ignore[attr-defined]
    if other is not None:
        return str(other.name)
    return "thread " + str(ident)


def primitive_name(kind: str, target: Any) -> str:
    """How a wait on `target` reads in messages: `Lock 'totals'`, `join 'worker'`."""
    return _format_primitive(kind, getattr(target, "name", None))


def _format_primitive(kind: str, name: Any) -> str:
    if not isinstance(name, str) or not name:
        return kind
    return kind + " " + repr(name)


def owned_by(signal: Any, ident: Optional[int]) -> None:
    """Declare that `signal` fires when thread `ident` ends (None: forget it).

    A wait on it is then a wait for that thread, an edge of the wait-for graph.
    """
    if ident is None:
        _completion_owners.pop(signal, None)
    else:
        _completion_owners[signal] = ident


def begin(kind: str, target: Any, bounded: bool = False, owner: Optional[int] = None) -> _Wait:
    """Record that this thread is about to park on `target`; return the record for `end()`.

    `kind` names the primitive ("Lock", "Signal", "Queue", "Channel", "join",
    ...); `bounded` says the wait can end by itself (a till or timeout);
    `owner` is the ident of the thread that alone can end it, when the caller
    knows one (a Lock's owner and a completion Signal's thread are found here).
    Raises DeadlockError, recording nothing, when the wait closes a cycle of
    unbounded waits.
    """
    ident = _get_ident()
    outer = _current.get(ident)
    wait: _Wait = (kind, target, bounded, owner, ident, outer, _now())
    _current[ident] = wait
    if bounded or (owner is None and kind != "Lock" and (kind != "Signal" or target not in _completion_owners)):
        return wait  # it ends by itself, or nobody in particular can end it: no edge
    # Registered first, checked after: of two threads closing a cycle at the same
    # moment, the later to look sees the other (both may raise; neither hangs).
    cycle = _find_cycle(wait)
    if cycle is None:
        return wait
    if outer is None:
        del _current[ident]
    else:
        _current[ident] = outer
    raise _deadlock(cycle)


def end(wait: _Wait) -> None:
    """The wait recorded by `begin()` is over: forget it, and count it when outermost and not shorter than the threshold."""
    outer = wait[OUTER]
    if outer is not None:
        _current[wait[IDENT]] = outer
        return
    _current.pop(wait[IDENT], None)
    seconds = _now() - wait[SINCE]
    if seconds < _threshold:
        return
    _counted.append((thread_name(wait[IDENT]), wait[KIND], getattr(wait[TARGET], "name", None), seconds))
    if len(_counted) >= FOLD_AT and _totals_lock.acquire(False):  # never parks: a folder is at it
        try:
            _fold()
        finally:
            _totals_lock.release()


def _find_cycle(wait: _Wait) -> Optional[List[_Wait]]:
    """Follow owner edges from `wait`; the waits back to its thread, or None."""
    path = [wait]
    me = wait[IDENT]
    seen = {me}
    while True:
        owner = _owner_ident(path[-1])
        if owner is None:
            return None
        if owner == me:
            return path
        if owner in seen:
            return None  # a cycle that does not involve us: not ours to break
        seen.add(owner)
        theirs = _edge(_current.get(owner))
        if theirs is None:
            return None
        path.append(theirs)


def _edge(wait: Optional[_Wait]) -> Optional[_Wait]:
    """The wait of a thread that ties it to another for good: innermost first, unbounded, with an owner.

    A main thread's join parks in short bounded slices (so Ctrl-C gets through);
    the join around them is what it waits for.
    """
    while wait is not None:
        if not wait[BOUNDED] and _owner_ident(wait) is not None:
            return wait
        wait = wait[OUTER]
    return None


def _deadlock(cycle: List[_Wait]) -> DeadlockError:
    steps: List[Tuple[str, str]] = []
    parts: List[str] = []
    for wait in cycle:
        who = thread_name(wait[IDENT])
        # the innermost wait gives the edge; the outermost says what the thread asked for
        # (a join, not the Signal the join parks on)
        asked = wait
        while asked[OUTER] is not None:
            asked = asked[OUTER]
        what = primitive_name(asked[KIND], asked[TARGET])
        if asked is not wait and wait[KIND] != "Signal":
            what += " (in " + primitive_name(wait[KIND], wait[TARGET]) + ")"
        owner = _owner_ident(wait)
        steps.append((who, what))
        by = repr(thread_name(owner or 0))
        ends = ", held by thread " + by if wait[KIND] == "Lock" else ", which only thread " + by + " can end"
        parts.append("thread " + repr(who) + " waits for " + what + ends)
    return DeadlockError("Deadlock: " + "; ".join(parts), steps)


def blocked_on(ident: int) -> Optional[Tuple[str, Any, float]]:
    """(kind, primitive, seconds so far) of the outermost wait of thread `ident`, or None."""
    wait = _current.get(ident)
    if wait is None:
        return None
    while wait[OUTER] is not None:
        wait = wait[OUTER]
    return wait[KIND], wait[TARGET], _now() - wait[SINCE]


def describe_wait(ident: int) -> Optional[str]:
    """`waiting on Lock 'a' for 2.3 s` for a blocked thread, None for one that is not."""
    found = blocked_on(ident)
    if found is None:
        return None
    kind, target, seconds = found
    return "waiting on " + primitive_name(kind, target) + " for " + format(seconds, ".1f") + " s"



def statistics() -> Dict[str, Dict[str, Dict[str, float]]]:
    """Blocking totals so far: {"threads": {name: {"waits", "seconds"}}, "primitives": {...}}.

    Counts finished waits only (a wait in progress is counted when it ends).
    Threads and primitives of the same name add up.
    """
    with _totals_lock:
        _fold()
        threads = {k: list(v) for k, v in _thread_totals.items()}
        primitives = {k: list(v) for k, v in _primitive_totals.items()}
    return {
        "threads": {k: {"waits": int(v[0]), "seconds": v[1]} for k, v in threads.items()},
        "primitives": {
            _format_primitive(kind, name): {"waits": int(v[0]), "seconds": v[1]} for (kind, name), v in primitives.items()
        },
    }


def reset_statistics() -> None:
    """Forget the blocking totals gathered so far."""
    with _totals_lock:
        del _counted[:]
        _thread_totals.clear()
        _primitive_totals.clear()


def _after_fork_in_child() -> None:
    # Only the forking thread exists in the child: the totals lock may have been
    # held by a thread that is gone, and the other threads' waits will never end.
    global _totals_lock
    _totals_lock = _thread.allocate_lock()
    me = _get_ident()
    for ident in list(_current):
        if ident != me:
            _current.pop(ident, None)


def _reset() -> None:
    reset_statistics()
    set_wait_threshold(DEFAULT_WAIT_THRESHOLD)


_runtime.on_fork("_blocking", _after_fork_in_child)
_runtime.on_reset("_blocking", _reset)
