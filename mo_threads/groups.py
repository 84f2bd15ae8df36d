"""`ThreadGroup`: structured concurrency for real threads.

    with ThreadGroup("crawl") as group:
        for url in urls:
            group.run("fetch " + url, fetch, url)
    # here every member has ended; a failure stopped the others and is raised

Theory of operation
-------------------
Entering the block puts a node for the group in the thread tree: a
`BaseThread` named after the group, child of the innermost group this thread
has open (so nested groups nest in the tree), or else of the current thread.
Members are mo_threads `Thread`s, children of that node. Stopping the group
is `node.stop()`: it asks every member (and their children, and nested
groups) to stop, newest first. Shutdown reaches the members the same way,
through the node's parent.

A member runs its target inside a small wrapper that records a failure and
stops the group on the member's own thread, at once, so the others see
`please_stop` within moments. Leaving the block joins every member (also those
started by members meanwhile); then the node leaves the tree and any failures
are raised together, as a `ThreadGroupError`: an `ExceptionGroup` on Python
3.11+ (so `except*` works), an `Exception` with `.exceptions` (and the first
failure as `__cause__`) before.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, List, Literal, Optional, Tuple, Union

from mo_logs import logger

from mo_threads.lock import Lock
from mo_threads._vocabulary import ThreadGroupError, check_name, check_timeout
from mo_threads._thread_options import _check_target, _seconds_left, _take_options, _tighter
from mo_threads.signals import Signal
from mo_threads.threads import (
    MAIN_THREAD,
    AlienThread,
    BaseThread,
    Thread,
    current_thread,
)
from mo_threads.till import Till

__all__ = ("ThreadGroup", "ThreadGroupError")

MODES = ("all", "first-completed")

_local = threading.local()


def _open_groups() -> List[ThreadGroup]:
    """The groups whose block this OS thread is inside, innermost last."""
    stack = getattr(_local, "groups", None)
    if stack is None:
        stack = _local.groups = []
    return stack  # type: ignore[no-any-return]


class _GroupNode(BaseThread):
    """The group's place in the thread tree: parent of its members."""

    def __init__(self, group: ThreadGroup, parent: BaseThread) -> None:
        BaseThread.__init__(self, "group " + group.name, None, parent)
        self.group = group
        self.deadline: Optional[Signal] = None  # set by ThreadGroup.__enter__


class ThreadGroup:
    """Run member threads inside a `with` block; the block's end waits for all of them.

    `group.run(name, target, *args, **kwargs)` starts a member: a `Thread`
    calling `target(*args, please_stop=<Signal>, **kwargs)`. Leaving the block
    blocks until every member has ended.

    - The first member failure stops the others (their `please_stop` fires),
      and leaving the block raises a `ThreadGroupError` carrying every failure.
    - An exception in the block stops every member; once they have ended it
      propagates unchanged, or, when members failed too, inside a
      `ThreadGroupError`, first.
    - `mode="first-completed"`: the first member to end (returning or raising)
      stops the rest; `group.first_completed` is that member.
    - `deadline=` (seconds from entering the block, or a Signal such as a
      `Till`) stops every member when it comes; `timed_out` then says so. It
      is not an error: members return as they do on any `please_stop`.

    Groups nest: a group opened inside another's block (or inside a member)
    is stopped with it. At shutdown members are stopped like any thread.
    A group is used once.
    """

    def __init__(self, name: str = "thread group", mode: str = "all", deadline: Union[None, float, Signal] = None) -> None:
        check_name(name, "ThreadGroup name")
        if mode not in MODES:
            raise ValueError("ThreadGroup " + repr(name) + ": mode must be 'all' or 'first-completed', not " + repr(mode))
        if deadline is not None and not isinstance(deadline, Signal):
            deadline = check_timeout(deadline, "ThreadGroup deadline")
        self.name = name
        self.mode = mode
        self.first_completed: Optional[Thread] = None
        self.timed_out = False
        self._deadline_spec = deadline
        self._deadline: Optional[Signal] = None
        # the group's own: not made anew at a fork (its members are threads of the parent; see _runtime)
        self._lock = Lock("thread group " + name)
        self._members: List[Thread] = []
        self._failures: List[Tuple[Thread, BaseException]] = []
        self._node: Optional[_GroupNode] = None
        self._ended = False

    # --- the block -------------------------------------------------------------------
    def __enter__(self) -> ThreadGroup:
        if self._node is not None:
            raise RuntimeError("ThreadGroup " + repr(self.name) + " was entered already; make a new one")
        stack = _open_groups()
        if stack:
            parent: BaseThread = stack[-1]._node  # type: ignore[assignment]
        else:
            parent = current_thread()
            if isinstance(parent, AlienThread) and not parent.registered:
                parent = MAIN_THREAD  # nobody would stop an unregistered thread's tree
        node = _GroupNode(self, parent)
        self._node = node
        parent.add_child(node)
        stack.append(self)
        spec = self._deadline_spec
        if spec is not None:
            self._deadline = spec if isinstance(spec, Signal) else Till(seconds=spec)
            self._deadline.then(self._on_deadline)
        # members inherit the tighter of the group's deadline and the one around it
        node.deadline = _tighter(self._deadline, getattr(parent, "deadline", None))
        return self

    def __exit__(self, exc_type: Any, exc: Optional[BaseException], traceback: Any) -> Literal[False]:
        node = self._node
        if node is None or self._ended:
            return False
        stack = _open_groups()
        if self in stack:
            stack.remove(self)
        if exc is not None:
            self.stop()
        interrupt = self._join_members()
        if self._deadline is not None:
            self._deadline.remove_then(self._on_deadline)
        node.stopped.go()
        if node.parent is not None:
            node.parent.remove_child(node)

        with self._lock:
            failures = [failure for _, failure in self._failures]
        if interrupt is not None or (exc is not None and not isinstance(exc, Exception)):
            # KeyboardInterrupt, SystemExit: control flow, not for a group; log what it would hide
            for thread, failure in self.failures:
                logger.warning("Thread {name|quote} of group {group|quote} failed", name=thread.name, group=self.name, cause=failure)
            if interrupt is not None:
                raise interrupt
            return False
        if exc is not None:
            if not failures:
                return False
            raise _group_error(
                "Thread group " + repr(self.name) + ": the block raised, and " + _count(failures, len(self._members)),
                [exc] + failures,
            )
        if failures:
            raise _group_error("Thread group " + repr(self.name) + ": " + _count(failures, len(self._members)), failures)
        return False

    def _join_members(self) -> Optional[BaseException]:
        """Join every member, also those started meanwhile; return an interrupt (KeyboardInterrupt) that came."""
        interrupt: Optional[BaseException] = None
        joined = 0
        while True:
            with self._lock:
                pending = self._members[joined:]
                if not pending:
                    self._ended = True  # under the lock: run() can not add a member nobody joins
                    return interrupt
            for member in pending:
                while True:
                    try:
                        member.join()
                    except Exception:
                        pass  # its failure was recorded by _run_member
                    except BaseException as cause:
                        # Ctrl-C while waiting: stop everybody, keep waiting, raise it at the end
                        if interrupt is None:
                            interrupt = cause
                        self.stop()
                        continue
                    break
            joined += len(pending)

    # --- members ---------------------------------------------------------------------
    def run(self, name: str, target: Callable[..., Any], *args: Any, **kwargs: Any) -> Thread:
        """Start a member thread running `target(*args, please_stop=<Signal>, **kwargs)`; return it.

        May be called from the block or from members. Raises `RuntimeError`
        outside the block (before it, or once it ended), `TypeError` for a
        target without a `please_stop` keyword. A member started after the
        group was stopped starts with `please_stop` already fired.
        `deadline=` gives the member a deadline of its own, as `Thread` does
        (it runs under the tighter of it and the group's); a member is not
        restarted (`restart=` and the like raise TypeError). As with `Thread`,
        such a keyword goes to `target` when `target` declares it.
        """
        node = self._node
        if node is None or self._ended:
            raise RuntimeError("ThreadGroup " + repr(self.name) + ".run() must be called inside its with block")
        _check_target(name, target)
        if "parent_thread" in kwargs:
            raise TypeError("ThreadGroup " + repr(self.name) + ": members are children of the group; do not pass parent_thread")
        deadline, policy = _take_options(name, target, kwargs)
        if policy is not None:
            raise TypeError(
                "ThreadGroup " + repr(self.name) + ": members are not restarted (restart=, max_restarts=, backoff=);"
                " a member can call supervise() instead"
            )
        member_kwargs = {}
        please_stop = kwargs.pop("please_stop", None)
        if please_stop is not None:
            member_kwargs["please_stop"] = please_stop  # the member watches the caller's Signal; stopping fires it
        thread = Thread._make(name, self._run_member, (target, args, kwargs), member_kwargs, node, deadline)
        with self._lock:
            if self._ended:
                raise RuntimeError("ThreadGroup " + repr(self.name) + " has ended: it takes no more members")
            self._members.append(thread)
        if node.please_stop:
            thread.please_stop.go()
        try:
            thread.start()
        except BaseException:
            with self._lock:
                self._members.remove(thread)
            raise
        if node.please_stop:
            # stopped while it started: it may have missed the cascade
            thread.stop()
        return thread

    def _run_member(self, target: Callable[..., Any], args: Any, kwargs: Any, please_stop: Signal) -> Any:
        try:
            result = target(*args, please_stop=please_stop, **kwargs)
        except BaseException as failure:
            self._member_ended(failure)
            raise
        self._member_ended(None)
        return result

    def _member_ended(self, failure: Optional[BaseException]) -> None:
        member = current_thread()
        with self._lock:
            if self.first_completed is None:
                self.first_completed = member  # type: ignore[assignment]
            if failure is not None:
                self._failures.append((member, failure))  # type: ignore[arg-type]
        if failure is not None or self.mode == "first-completed":
            self.stop()

    # --- control ---------------------------------------------------------------------
    def stop(self) -> None:
        """Ask every member (and nested group) to stop. Never blocks."""
        node = self._node
        if node is not None:
            node.stop()

    def _on_deadline(self) -> None:
        if not self._ended:
            self.timed_out = True
            self.stop()

    @property
    def please_stop(self) -> Signal:
        """Fires once the group is asked to stop (failure, deadline, first-completed, block error, shutdown)."""
        if self._node is None:
            raise RuntimeError("ThreadGroup " + repr(self.name) + " has not been entered")
        return self._node.please_stop

    @property
    def stopped(self) -> Signal:
        """Fires when the block has ended and every member with it."""
        if self._node is None:
            raise RuntimeError("ThreadGroup " + repr(self.name) + " has not been entered")
        return self._node.stopped

    @property
    def deadline(self) -> Optional[Signal]:
        """The deadline Signal (a `Till` when given in seconds), None without one."""
        return self._deadline

    def remaining(self) -> Optional[float]:
        """Seconds left before the tightest deadline of this group and those around it (enclosing
        groups, the thread that opened it); 0 once passed; None when unbounded or not known (a
        deadline Signal that is not a `Till`)."""
        node = self._node
        return _seconds_left(self._deadline if node is None else node.deadline)

    @property
    def members(self) -> List[Thread]:
        """The member threads started so far."""
        with self._lock:
            return list(self._members)

    @property
    def failures(self) -> List[Tuple[Thread, BaseException]]:
        """(member, exception) for every member that failed so far, in order."""
        with self._lock:
            return list(self._failures)

    def __repr__(self) -> str:
        state = "ended" if self._ended else ("open" if self._node is not None else "new")
        return "<ThreadGroup " + repr(self.name) + " " + state + " " + str(len(self._members)) + " members>"


def _count(failures: List[BaseException], total: int) -> str:
    return str(len(failures)) + " of " + str(total) + " member" + ("" if total == 1 else "s") + " failed"


def _group_error(message: str, failures: List[BaseException]) -> ThreadGroupError:
    exceptions: List[Exception] = []
    for failure in failures:
        if isinstance(failure, Exception):
            exceptions.append(failure)
        else:
            wrapped = RuntimeError("A member ended with " + type(failure).__name__)
            wrapped.__cause__ = failure
            exceptions.append(wrapped)
    return ThreadGroupError(message, exceptions)
