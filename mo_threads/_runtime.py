"""The one after-fork step and the one test reset of mo_threads (internal).

Theory of operation
-------------------
`os.fork()` copies the whole process but only the thread that called it. A
lock that another thread held at that moment stays held in the child for
ever: the thread that would release it does not exist there. So every lock
that lives longer than one call, and that the child may take again, is made
anew in the child, before any code of the child runs.

This module registers ONE `os.register_at_fork(after_in_child=...)` handler.
Each module that owns such state registers its own after-fork function here,
at import, under its name (`on_fork("futures", _after_fork_in_child)`); the
handler calls them in the fixed order of `ORDER`, lower layers first, so a
module's function finds the layers below it already repaired (the timer
restarts its thread after Signal's lock is new; the thread tree is rebuilt
after the thread registry). Every function runs even when an earlier one
fails; the first failure is raised after the last one (CPython reports an
exception from a fork handler and carries on).

What an after-fork function does: make its locks anew, and forget what
belonged to the threads that do not exist in the child (their waits, their
entries, a shell session whose reader threads are gone). It must not block,
log, or take a lock it did not just make.

Locks not made anew, on purpose: a lock that belongs to one object (a Queue's,
a Lock's, a thread's `child_locker`, a pool's) is the object's own business,
as a `threading.Lock` is: if another thread held it at the fork, the object was
half-way through a change, and a new lock would only hide that. Such objects
belong to threads of the parent (a pool's workers, a session's readers) and
are of no use in the child. A lock that lives for one call (a waiter's lock)
can not be held across a fork by anyone but the forking thread. The objects
the child keeps using (the main thread, the current thread and its
ancestors) get new locks from threads.py's function.

`reset_for_tests()` is the other end of the same list: each module may
register a reset (`on_reset(name, fn)`) that puts its global state back as
after import; they run top layer first (the reverse of `ORDER`), so a layer
is reset after the layers that use it. The test suite calls it after every
test (the autouse fixture `check_nothing_left` in tests/conftest.py), then
fails a test that left mo_threads threads, children of the main thread or
timers with callbacks behind. A reset puts caches and settings back (idle
`Command` sessions closed, blocking statistics cleared, a main thread the
test shut down started again); it never stops a thread the test left
running: that is the test's fault, and the fixture reports it.

This module imports nothing of mo_threads: every layer may import it.
"""

from __future__ import annotations

import os
from typing import Callable, Dict, Optional, Tuple

__all__ = ("ORDER", "on_fork", "on_reset", "after_fork_in_child", "reset_for_tests")

# The owners of global state, lower layers first: the order the after-fork
# functions run in (and the reverse of the order of the resets).
ORDER: Tuple[str, ...] = (
    "_clock",  # the clock policy (monotonic durations, wall time, the fake clock)
    "_parking",  # the one way a thread waits: the main thread's ident, the lines of waiters
    "_blocking",  # the wait registry (what each thread waits on) and the blocking totals
    "_registry",  # which object stands for each OS thread
    "signals",  # Signal's shared state lock and the deprecated Signal.lock
    "till",  # the timer: its lock, and its thread restarted for the Tills made before the fork
    "_os_signals",  # the OS-signal state: the forcing lock, the watcher's wake-up pipe
    "threads",  # the thread tree, the main thread, the shutdown machinery
    "futures",  # the settle lock
    "commands",  # the idle bash sessions: the parent's, so the child starts its own
    "profiles",  # the profile collector
    "testing",  # the fake clock's activation lock
)

_fork_handlers: Dict[str, Callable[[], None]] = {}
_reset_handlers: Dict[str, Callable[[], None]] = {}


def _check_owner(owner: str, fn: object) -> None:
    if owner not in ORDER:
        raise ValueError(
            repr(owner) + " is not an owner of mo_threads' global state: add it to _runtime.ORDER, in its layer"
        )
    if not callable(fn):
        raise TypeError("expected a function for " + repr(owner) + ", not " + type(fn).__name__)


def on_fork(owner: str, fn: Callable[[], None]) -> None:
    """Run `fn()` in every forked child, in `owner`'s place in `ORDER`.

    One function per owner: registering again (a module reloaded) replaces it.
    """
    _check_owner(owner, fn)
    _fork_handlers[owner] = fn


def on_reset(owner: str, fn: Callable[[], None]) -> None:
    """Run `fn()` in `reset_for_tests()`, in `owner`'s place (top layer first)."""
    _check_owner(owner, fn)
    _reset_handlers[owner] = fn


def _run_all(handlers: Dict[str, Callable[[], None]], order: Tuple[str, ...]) -> None:
    failure: Optional[BaseException] = None
    for owner in order:
        fn = handlers.get(owner)
        if fn is None:
            continue
        try:
            fn()
        except BaseException as cause:
            if failure is None:
                failure = cause
    if failure is not None:
        raise failure


def after_fork_in_child() -> None:
    """Repair every owner's state in a forked child (`os.register_at_fork` calls it)."""
    _run_all(_fork_handlers, ORDER)


def reset_for_tests() -> None:
    """Put the global state back as after import, top layer first (tests use this)."""
    _run_all(_reset_handlers, ORDER[::-1])


if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(after_in_child=after_fork_in_child)
