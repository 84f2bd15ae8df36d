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
- blocking metrics: `end()` adds the wait's duration to per-thread and
  per-primitive totals (`statistics()`);
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
import weakref
from typing import Any, Callable, Dict, List, Optional, Tuple

__all__ = (
    "DeadlockError",
    "begin",
    "end",
    "blocked_on",
    "describe",
    "describe_wait",
    "owned_by",
    "primitive_name",
    "reset_statistics",
    "set_thread_namer",
    "statistics",
)

_get_ident = _thread.get_ident
_now = time.monotonic


class DeadlockError(RuntimeError):
    """A wait that could never end: it closes a cycle of threads waiting on each other.

    Raised by the wait that closes the cycle, instead of blocking. `cycle` lists
    (thread name, what it waits on) for every thread in the cycle, starting with
    the thread that raised.
    """

    def __init__(self, message: str, cycle: List[Tuple[str, str]]) -> None:
        RuntimeError.__init__(self, message)
        self.cycle = cycle


class _Wait:
    """One wait in progress: `kind` of primitive, the primitive, since when."""

    __slots__ = ("kind", "target", "bounded", "owner", "since", "ident", "outer")

    def __init__(
        self, kind: str, target: Any, bounded: bool, owner: Optional[int], ident: int, outer: Optional[_Wait]
    ) -> None:
        self.kind = kind
        self.target = target
        self.bounded = bounded
        self.owner = owner
        self.ident = ident
        self.outer = outer
        self.since = _now()

    def owner_ident(self) -> Optional[int]:
        """The thread that alone can end this wait, if any (read now: Lock owners change)."""
        if self.owner is not None:
            return self.owner
        if self.kind == "Lock":
            owner: Optional[int] = getattr(self.target, "_owner", None)
            return owner
        if self.kind == "Signal":
            return _completion_owners.get(self.target)
        return None


# ident -> innermost wait of that thread; single dict operations are atomic
_current: Dict[int, _Wait] = {}
# completion signal -> ident of the thread whose end fires it
_completion_owners: "weakref.WeakKeyDictionary[Any, int]" = weakref.WeakKeyDictionary()
# cycle checks and registrations of waits that have an owner are serialized, so
# of two threads closing a cycle at once the second always sees the first
_graph_lock = _thread.allocate_lock()
# metrics: name -> [waits, seconds blocked]
_thread_totals: Dict[str, List[float]] = {}
_primitive_totals: Dict[Tuple[str, Any], List[float]] = {}  # (kind, name) -> ...
_local = threading.local()  # .name: this thread's name, as its totals are kept under
_totals_lock = _thread.allocate_lock()


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
    wait = _Wait(kind, target, bounded, owner, ident, outer)
    if bounded or (owner is None and kind != "Lock" and (kind != "Signal" or target not in _completion_owners)):
        # nobody in particular can end it, or it ends by itself: no edge to check
        _current[ident] = wait
        return wait
    with _graph_lock:
        cycle = _find_cycle(wait)
        if cycle is None:
            _current[ident] = wait
            return wait
    raise _deadlock(cycle)


def end(wait: _Wait) -> None:
    """The wait recorded by `begin()` is over: forget it, and count it when outermost."""
    ident = wait.ident
    if wait.outer is not None:
        _current[ident] = wait.outer
        return
    _current.pop(ident, None)
    seconds = _now() - wait.since
    try:
        who = _local.name
    except AttributeError:
        # named once per thread: the name is looked up in the thread tree
        who = _local.name = thread_name(ident)
    target = wait.target
    what = (wait.kind, getattr(target, "name", None))
    with _totals_lock:
        totals = _thread_totals.get(who)
        if totals is None:
            _thread_totals[who] = [1, seconds]
        else:
            totals[0] += 1
            totals[1] += seconds
        totals = _primitive_totals.get(what)
        if totals is None:
            _primitive_totals[what] = [1, seconds]
        else:
            totals[0] += 1
            totals[1] += seconds


def _find_cycle(wait: _Wait) -> Optional[List[_Wait]]:
    """Follow owner edges from `wait`; the waits back to its thread, or None."""
    path = [wait]
    seen = {wait.ident}
    while True:
        owner = path[-1].owner_ident()
        if owner is None:
            return None
        if owner == wait.ident:
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
        if not wait.bounded and wait.owner_ident() is not None:
            return wait
        wait = wait.outer
    return None


def _deadlock(cycle: List[_Wait]) -> DeadlockError:
    steps: List[Tuple[str, str]] = []
    parts: List[str] = []
    for wait in cycle:
        who = thread_name(wait.ident)
        # the innermost wait gives the edge; the outermost says what the thread asked for
        # (a join, not the Signal the join parks on)
        asked = wait
        while asked.outer is not None:
            asked = asked.outer
        what = primitive_name(asked.kind, asked.target)
        if asked is not wait and wait.kind != "Signal":
            what += " (in " + primitive_name(wait.kind, wait.target) + ")"
        owner = wait.owner_ident()
        steps.append((who, what))
        by = repr(thread_name(owner or 0))
        ends = ", held by thread " + by if wait.kind == "Lock" else ", which only thread " + by + " can end"
        parts.append("thread " + repr(who) + " waits for " + what + ends)
    return DeadlockError("Deadlock: " + "; ".join(parts), steps)


def blocked_on(ident: int) -> Optional[Tuple[str, Any, float]]:
    """(kind, primitive, seconds so far) of the outermost wait of thread `ident`, or None."""
    wait = _current.get(ident)
    if wait is None:
        return None
    while wait.outer is not None:
        wait = wait.outer
    return wait.kind, wait.target, _now() - wait.since


def describe_wait(ident: int) -> Optional[str]:
    """`waiting on Lock 'a' for 2.3 s` for a blocked thread, None for one that is not."""
    found = blocked_on(ident)
    if found is None:
        return None
    kind, target, seconds = found
    return "waiting on " + primitive_name(kind, target) + " for " + format(seconds, ".1f") + " s"


describe = describe_wait


def statistics() -> Dict[str, Dict[str, Dict[str, float]]]:
    """Blocking totals so far: {"threads": {name: {"waits", "seconds"}}, "primitives": {...}}.

    Counts finished waits only (a wait in progress is counted when it ends).
    """
    with _totals_lock:
        return {
            "threads": {k: {"waits": int(v[0]), "seconds": v[1]} for k, v in _thread_totals.items()},
            "primitives": {
                _format_primitive(kind, name): {"waits": int(v[0]), "seconds": v[1]}
                for (kind, name), v in _primitive_totals.items()
            },
        }


def reset_statistics() -> None:
    """Forget the blocking totals gathered so far."""
    with _totals_lock:
        _thread_totals.clear()
        _primitive_totals.clear()
