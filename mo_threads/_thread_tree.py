"""The thread tree's node: `BaseThread`, and how a node reports the failures of children nobody joined.

Every thread object (`Thread`, `AlienThread`, `MainThread`) is a `BaseThread`:
a name, a parent, children, a `please_stop` and a `stopped` Signal, and a
deadline. Public names live in `mo_threads.threads`.
"""

from __future__ import annotations

import _thread
from typing import Any, Dict, List, Optional, Tuple, TypeVar

from mo_logs import Except, logger

from mo_threads import _registry
from mo_threads._thread_options import _seconds_left
from mo_threads._watchdog import wait_stopped
from mo_threads.signals import Signal

_allocate_lock = _thread.allocate_lock


_Self = TypeVar("_Self", bound="BaseThread")


class BaseThread:
    """What every thread object has: a name, a parent, children, two Signals, and a deadline.

    `deadline` is the Signal that stops this thread and its descendants when it
    fires (see `Thread`'s `deadline=`), None when unbounded.
    """

    __module__ = "mo_threads.threads"  # its public home

    # the object given as parent_thread= when it is not a thread (see Thread)
    _owner: Any = None

    def __init__(self, name: str, ident: Optional[int] = None, parent: Optional[BaseThread] = None) -> None:
        self.name = name
        self.ident = ident
        self.parent = parent
        # oldest first; a dict, so that a child leaves in one step, not by a scan of its
        # siblings (each a cold object to compare when hundreds end at once)
        self._children: Dict[BaseThread, None] = {}
        # a plain lock: held only for a few list operations, never while calling out.
        # Made anew at a fork for the threads the child keeps using (_after_fork_in_child)
        self.child_locker: Any = _allocate_lock()
        self.please_stop = Signal("please_stop of " + name)
        self.stopped = Signal("stopped " + name)
        self.cprofiler: Any = None
        self.deadline: Optional[Signal] = None
        # set, under child_locker, once the end of this thread found no child left to
        # join: a thread started from then on would be joined by nobody (see _adopt)
        self._closed = False

    @property
    def id(self) -> Optional[int]:
        """The OS thread id (upstream's name for `ident`)."""
        return self.ident

    def __repr__(self) -> str:
        return "<" + type(self).__name__ + " " + repr(self.name) + ">"

    @property
    def children(self) -> List[BaseThread]:
        """This thread's children, oldest first: a copy, changed with `add_child` / `remove_child`.

        Takes no lock (copying the keys is one step under the GIL), so code that
        reads it holding `child_locker`, as 6.x code does, still works.
        """
        return list(self._children)

    def add_child(self, child: BaseThread) -> None:
        """Make `child` one of this thread's children (stopped and joined before this thread ends)."""
        with self.child_locker:
            self._children[child] = None

    def _adopt(self, child: BaseThread) -> bool:
        """Add `child` unless this thread's end has joined its last child already; True when added.

        The check and the add are one step under `child_locker`, the lock under
        which the end finds no child left: a child is either joined by this
        thread or refused here, never left behind.
        """
        with self.child_locker:
            if self._closed:
                return False
            self._children[child] = None
            return True

    def remove_child(self, child: BaseThread) -> None:
        """Forget `child` (it ended, or was joined); does nothing if it is not a child.

        Called before the child is started, it detaches the child: it will not
        join the tree, and nobody stops or waits for it but its owner.
        """
        if not child._is_started():
            child._detach()
        with self.child_locker:
            self._children.pop(child, None)

    def stop(self: _Self) -> _Self:
        """Ask the children (newest first), then this thread, to stop. Never blocks; returns the thread.

        Returning the thread lets `thread.stop().join()` chain, as in mo-threads 6.x.
        """
        for child in self._children_newest_first():
            child.stop()
        self.please_stop.go()
        return self

    def is_alive(self) -> bool:
        """True until the `stopped` Signal fires."""
        return not self.stopped

    def remaining(self) -> Optional[float]:
        """Seconds left before this thread's deadline (its own or inherited), 0.0 once it passed.

        None when the thread has no deadline (the main thread, threads started
        elsewhere, threads started without one under a parent without one), or
        when the deadline is a Signal other than a `Till`, whose time is not known.
        """
        return _seconds_left(self.deadline)

    def _children_newest_first(self, close: bool = False) -> List[BaseThread]:
        with self.child_locker:
            children = list(reversed(self._children))
            if close and not children:
                self._closed = True
            return children

    def _stop_and_join_children(self, close: bool = True) -> List[Tuple[BaseThread, BaseException]]:
        """Stop and join every child; return (child, failure) for the failures nobody else will see.

        Threads owned by an object (`parent_thread=` that is not a thread) go
        last: the other threads may still be waiting for them (a database's
        worker answers the threads that query it). A child started meanwhile
        (by a child's cleanup, say) is stopped and joined too. With `close`
        (the end of this thread), the moment no child is left this thread
        takes no more (`_adopt`); `close=False` is for a thread that goes on
        (between two tries of a restarted target).
        """
        failures: List[Tuple[BaseThread, BaseException]] = []
        if not close and not self._children:
            return failures  # no lock, no copy
        while True:
            children = self._children_newest_first(close)
            if not children:
                return failures
            unowned = [child for child in children if child._owner is None]
            if unowned:
                children = unowned
            for child in children:
                child.stop()
            for child in children:
                if child is _registry.get_current():
                    self.remove_child(child)
                    continue
                if wait_stopped(child, "the end of " + repr(self.name)):
                    child._wait_for_its_end_steps()
                    failure = child._take_unreported_failure()
                    if failure is not None:
                        failures.append((child, failure))
                    child._leave_owner()
                self.remove_child(child)

    def _take_unreported_failure(self) -> Optional[BaseException]:
        return None

    def _wait_for_its_end_steps(self) -> None:
        """Once `stopped` fired: wait (a little) for what the thread still runs after it (its `stopped.then()` callbacks)."""

    def _is_started(self) -> bool:
        return True

    def _detach(self) -> None:
        pass

    def _leave_owner(self) -> None:
        """Tell a `parent_thread=` that is not a thread that this one was joined (see `Thread`)."""


def _wrap_failure(thread_name: str, failure: BaseException) -> Except:
    error = Except(
        template="Thread {name|quote} failed",
        params={"name": thread_name},
        cause=Except.wrap(failure),
    )
    error.__cause__ = failure
    return error


def _log_failure(thread: BaseThread, failure: BaseException, why: str) -> None:
    logger.warning(
        "Thread {name|quote} failed ({why})",
        name=thread.name,
        why=why,
        cause=failure,
        log_severity="ERROR",
    )


def _log_unjoined(parent: BaseThread, failures: List[Tuple[BaseThread, BaseException]]) -> None:
    for child, failure in failures:
        _log_failure(child, failure, "nobody joined it before its parent " + repr(parent.name) + " ended")
