"""Which mo_threads thread object stands for each running OS thread (internal).

The current thread's object lives in a `threading.local`, so an entry dies with
its thread: the OS reuses thread ids, and a new thread must never inherit an
old thread's name. `LIVE` maps ident to thread object for the threads running
now, for dumps and profiling. Only the thread an entry is about writes it, with
single dict operations (atomic under the GIL), so starting and ending a thread
takes no lock; readers take a copy (`live_threads()`). `LIVE_LOCK` stays for
callers that want to serialize something with the registry.

Hooks let higher layers (profiling) act when a thread starts or ends, without
this module importing them.
"""

from __future__ import annotations

import _thread
import threading
from typing import Any, Callable, Dict, List

from mo_threads import _runtime

LIVE_LOCK = _thread.allocate_lock()  # made anew in a forked child (after_fork_in_child)
LIVE: Dict[int, Any] = {}

_local = threading.local()
_get_ident = _thread.get_ident

# called with the thread object, on the new thread, before / after its target
ON_START: List[Callable[[Any], None]] = []
ON_END: List[Callable[[Any], None]] = []


def get_current() -> Any:
    """The thread object registered for this OS thread, or None."""
    return getattr(_local, "thread", None)


def enter(thread: Any, live: bool = True) -> None:
    """Register `thread` as the object for the calling OS thread.

    With `live=False` (a thread mo_threads did not start and nobody
    registered) no `LIVE` entry is made: nothing would ever remove it, and a
    dead thread would linger there under a reused id.
    """
    _local.thread = thread
    if live:
        LIVE[_get_ident()] = thread
    if ON_START:
        for hook in list(ON_START):
            hook(thread)


def make_live(thread: Any) -> None:
    """Add the calling OS thread's object, entered with `live=False`, to `LIVE` (registration)."""
    if getattr(_local, "thread", None) is not thread:
        enter(thread)
        return
    LIVE[_get_ident()] = thread


def leave(thread: Any) -> None:
    """Forget the calling OS thread's object."""
    if ON_END:
        for hook in list(ON_END):
            hook(thread)
    ident = _get_ident()
    if LIVE.get(ident) is thread:
        LIVE.pop(ident, None)  # only this thread writes its entry: nobody replaced it meanwhile
    if getattr(_local, "thread", None) is thread:
        del _local.thread


def after_fork_in_child() -> None:
    """In a forked child only the calling thread exists: forget the others.

    A lock held by another thread at the fork stays locked for ever in the
    child, so the lock is made anew.
    """
    global LIVE_LOCK
    LIVE_LOCK = _thread.allocate_lock()
    current = getattr(_local, "thread", None)
    LIVE.clear()
    if current is not None:
        LIVE[_thread.get_ident()] = current


def live_threads() -> List[Any]:
    """A snapshot of the registered threads running now."""
    return list(LIVE.copy().values())  # dict.copy() is one atomic step; iterating LIVE is not


_runtime.on_fork("_registry", after_fork_in_child)
