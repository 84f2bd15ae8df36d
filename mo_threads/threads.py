"""Threads with names, a parent/child tree, `please_stop`, and orderly shutdown.

Every thread object has a `please_stop` Signal (asking it to stop) and a
`stopped` Signal (it has ended, children included). The thread that creates a
`Thread` is its parent unless `parent_thread=` says otherwise; `stop()` asks the
children first, and a thread counts as stopped only once its children have
stopped and been joined.

`MAIN_THREAD` is the root. `stop_main_thread()` (also run at interpreter exit)
asks every child to stop, newest first, joins them, then stops logging, then
the timer thread. Nothing starts at import: the exit hook and the SIGINT /
SIGTERM handlers (with their watcher thread, see `_os_signals`) are installed
when the first `Thread` is made, or by `start_main_thread()` /
`wait_for_shutdown_signal()`.

The OS threads are daemons at the `threading` level: the shutdown joins them
itself, in order. It runs from `threading._register_atexit` when there is one
(3.9+), before CPython joins the non-daemon threads, so that a registered
foreign thread that is not a daemon gets its please_stop instead of hanging the
exit; plain `atexit` is the fallback. Waits on the main thread go in short
slices (decided once, in `_parking`) so that signal handlers run promptly.

The code is split by concept: `_thread_tree` (BaseThread, reporting unjoined
failures), `_thread_options` (the start options shared with groups and
supervise), `_main_thread` (the main thread, exit hook, signal handlers,
shutdown) and this module (Thread, AlienThread, RegisterThread,
current_thread, join_all_threads), which re-exports every public name.

The tree owns every thread that runs: `start()` puts the thread in its
parent's children before the OS thread exists, and an exception landing inside
`start()` leaves it either running there or never run. A parent whose end has
joined its last child takes no more (a thread started then goes to the main
thread); once the shutdown has joined every thread, `start()` raises
RuntimeError, as CPython refuses threads at interpreter shutdown.

Failures are never lost: `join()` raises a thread's exception in the joiner; a
released thread's failure is logged when it happens; a failure nobody joined is
logged when the parent ends (for children of the main thread: at shutdown).
"""

from __future__ import annotations

import _thread
import functools
import threading
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from mo_logs import Except, logger

from mo_threads import _blocking, _registry, _runtime, till as _till
from mo_threads._restart import RestartPolicy, run_with_restarts
from mo_threads._main_thread import (
    MAIN_THREAD,
    MainThread,
    _ensure_exit_watcher,
    _ensure_started,
    start_main_thread,
    stop_main_thread,
    wait_for_shutdown_signal,
)
from mo_threads._thread_tree import BaseThread, _allocate_lock, _log_failure, _log_unjoined, _wrap_failure
from mo_threads._watchdog import (
    set_grace_period,
    wait_in_main,
)
from mo_threads._vocabulary import (
    PLEASE_STOP,
    DeadlockError,
    THREAD_STOP,
    THREAD_TIMEOUT,
    ThreadTimeout,
    check_name,
    check_till,
    check_wait,
)
from mo_threads._thread_options import (
    _THREAD_OPTIONS,
    Deadline,
    _check_deadline,
    _check_target,
    _take_options,
    _tighter,
)
from mo_threads.signals import Signal
from mo_threads.till import Till

__all__ = (
    "PLEASE_STOP",
    "THREAD_STOP",
    "THREAD_TIMEOUT",
    "ThreadTimeout",
    "BaseThread",
    "Thread",
    "AlienThread",
    "MainThread",
    "MAIN_THREAD",
    "RegisterThread",
    "set_grace_period",
    "current_thread",
    "register_thread",
    "join_all_threads",
    "start_main_thread",
    "stop_main_thread",
    "wait_for_shutdown_signal",
)

try:
    from mo_logs.utils import MO_LOGS_EXTRAS
except ImportError:  # older mo-logs
    MO_LOGS_EXTRAS = "mo-logs-extras"




def _check_owner(owner: Any) -> Any:
    if callable(getattr(owner, "add_child", None)) and callable(getattr(owner, "remove_child", None)):
        return owner
    raise TypeError(
        "parent_thread must be a mo_threads thread, or an object with add_child() and remove_child(), not "
        + type(owner).__name__
    )


class Thread(BaseThread):
    """A named thread running `target(*args, please_stop=<Signal>, **kwargs)`.

    The target must accept a `please_stop` keyword: the Signal it should watch to
    know when to return. Pass `please_stop=` to supply that Signal yourself, and
    `parent_thread=` to hang it under another thread than the one creating it.
    `parent_thread=` may also be any object with `add_child(thread)` and
    `remove_child(thread)` (as in mo-threads 6.x; mo-sqlite passes its
    database): it gets `add_child` now and `remove_child` once the thread is
    joined. Such a thread outlives the thread that made it: it hangs under the
    main thread, and shutdown stops and joins it after the main thread's other
    children (which may still be waiting for it); its failure is reported
    then if nobody joined it.
    Making one does not start it (`start()`, or `Thread.run` for both); an
    unstarted thread is not in the tree. `daemon` is accepted for compatibility:
    every OS thread of mo_threads is a `threading` daemon, and shutdown stops and
    joins them in order.

    Keywords the thread takes for itself (other keywords go to the target):

    - `deadline=`: seconds (counted from `start()`) or a Signal such as a
      `Till`. When it comes, the thread is stopped (`stop()`: its children, then
      its own `please_stop`). A thread inherits the deadline of its parent: it
      runs under the tighter of the two, and so do its children.
      `Thread.current().remaining()` says how many seconds are left.
    - `restart="on-failure"|"always"|"never"`, `max_restarts=N` (None: no
      limit), `backoff=seconds` (default 1.0): run the target again when it
      raises (or, with "always", also when it returns), on the same thread with
      the same `please_stop`, logging each failure and restart; the children a
      failed try left are stopped and joined before the next. Restarts stop
      once `please_stop` fires (`stop()`, the deadline, shutdown). The failure
      after the last allowed restart is the thread's failure. Giving
      `max_restarts=` or `backoff=` alone means `restart="on-failure"`.

    When the target itself declares a parameter named `deadline`, `restart`,
    `max_restarts` or `backoff`, that keyword is passed to the target as in
    mo-threads 6.x, and is not a thread option (a target taking only
    `**kwargs` declares none). Bad options raise TypeError/ValueError here, at
    the call, before anything starts.
    """

    def __init__(
        self,
        name: str,
        target: Callable[..., Any],
        *args: Any,
        parent_thread: Optional[BaseThread] = None,
        daemon: bool = False,
        **kwargs: Any,
    ) -> None:
        _check_target(name, target)
        deadline: Deadline = None
        policy: Optional[RestartPolicy] = None
        if kwargs and not _THREAD_OPTIONS.isdisjoint(kwargs):
            deadline, policy = _take_options(name, target, kwargs)
        self._setup(name, target, args, kwargs, parent_thread, daemon, deadline, policy)

    def _setup(
        self,
        name: str,
        target: Callable[..., Any],
        args: Tuple[Any, ...],
        kwargs: Dict[str, Any],
        parent_thread: Optional[BaseThread],
        daemon: bool,
        deadline: Deadline,
        policy: Optional[RestartPolicy],
    ) -> None:
        owner: Any = None
        if parent_thread is not None and not isinstance(parent_thread, BaseThread):
            # the object, not the creating thread, decides when it ends: the root adopts it
            owner, parent_thread = _check_owner(parent_thread), MAIN_THREAD
        please_stop = kwargs.get("please_stop")
        if please_stop is not None and not isinstance(please_stop, Signal):
            raise TypeError("please_stop must be a Signal, not " + type(please_stop).__name__)
        _ensure_started()
        parent = parent_thread or _default_parent()
        BaseThread.__init__(self, name, None, parent)
        if please_stop is None:
            kwargs["please_stop"] = self.please_stop
        else:
            self.please_stop = please_stop
        self.target = target
        self.args = args
        self.kwargs = kwargs
        self.daemon = daemon
        self.started = Signal("started " + name)
        self._result: Any = None
        self._failure: Optional[BaseException] = None
        self._joined = False
        self._released = False
        self._reported = False
        extras = getattr(threading.current_thread(), MO_LOGS_EXTRAS, None)
        self._log_extras = dict(extras[-1]) if extras else None
        self._thread: Optional[threading.Thread] = None
        # set when parent.remove_child(thread) comes before start() (mo-logs does this to its
        # logging thread, so shutdown stops it after logging, not with the other children)
        self._detached = False
        self._in_tree = False  # in its parent's children: from start() until joined, or ended well
        self._deadline_spec = deadline
        self._own_deadline: Optional[Signal] = None  # the deadline this thread watches itself
        self._policy = policy
        # a parent_thread= that is not a thread (mo-sqlite passes its database object): told
        # add_child now and remove_child once joined; the tree parent stops and joins the thread
        self._owner = owner
        if owner is not None:
            owner.add_child(self)

    @staticmethod
    def _make(
        name: str,
        target: Callable[..., Any],
        args: Tuple[Any, ...],
        kwargs: Dict[str, Any],
        parent_thread: Optional[BaseThread] = None,
        deadline: Deadline = None,
        policy: Optional[RestartPolicy] = None,
    ) -> Thread:
        """A thread with options checked by the caller (`supervise`): no keyword is taken from `kwargs`."""
        _check_target(name, target)
        thread: Thread = Thread.__new__(Thread)
        thread._setup(name, target, args, kwargs, parent_thread, False, _check_deadline(name, deadline), policy)
        return thread

    def _is_started(self) -> bool:
        return self._thread is not None

    def _detach(self) -> None:
        self._detached = True

    @staticmethod
    def run(name: str, target: Callable[..., Any], *args: Any, **kwargs: Any) -> Thread:
        """Make and start a thread: `Thread.run("name", fn, *args, **kwargs)`.

        Takes the same keywords as `Thread`: `parent_thread=`, `please_stop=`,
        `deadline=`, `restart=`, `max_restarts=`, `backoff=`; the others go to
        `fn`. Raises TypeError/ValueError for bad arguments, before starting.
        """
        return Thread(name, target, *args, **kwargs).start()

    @staticmethod
    def current() -> BaseThread:
        """The thread object for the calling thread."""
        return current_thread()

    def start(self) -> Thread:
        """Start the thread; returns it.

        Raises RuntimeError when it was started already, and when the shutdown
        has joined every thread already (`stop_main_thread()` ran, or the
        program exits; `start_main_thread()` starts the machinery again):
        nobody would ask this thread to stop or join it. A thread started while
        the shutdown still joins threads (by a child's cleanup) is joined with
        them. A thread detached from its parent before it starts
        (`parent.remove_child(thread)`) is its owner's business, and not refused.

        An exception that lands inside this call (a KeyboardInterrupt, the
        SystemExit of a SIGTERM) leaves the thread either running in the tree,
        like any other, or never run, out of the tree, and free to start again.
        """
        if self._thread is not None:
            raise RuntimeError("Thread " + repr(self.name) + " was already started")
        # Taken once: by the new thread as it begins (then it runs), or by a start()
        # that failed (then its target never runs, even if the OS thread exists).
        # Whoever takes it decides, so an exception between any two steps here leaves
        # no thread running outside the tree, and none in the tree that never runs.
        launch = _allocate_lock()
        # the OS thread is a daemon: shutdown joins it ourselves, in order (see stop_main_thread)
        thread = threading.Thread(target=self._run, args=(launch,), name=self.name, daemon=True)
        try:
            self._thread = thread
            if not self._detached:
                # in the tree before the OS thread exists: whatever interrupts us, it is reachable
                self._join_tree()
            if self._deadline_spec is not None or (self.parent.deadline is not None and not self._detached):  # type: ignore[union-attr]
                self._arm_deadline()
            thread.start()
        except BaseException:
            if launch.acquire(False):
                # the target will never run: undo, so nothing is left half-done
                self._disarm_deadline()
                self._leave_tree()
                self._thread = None
            raise
        self.ident = thread.ident  # known once start() returns: a join right away has its owner
        return self

    def _join_tree(self) -> None:
        # set first: an exception right after the add still finds it to take out
        self._in_tree = True
        parent = self.parent
        if parent._adopt(self):  # type: ignore[union-attr]
            return
        # the parent's end joined its last child already: the root adopts the thread
        if parent is not MAIN_THREAD and MAIN_THREAD._adopt(self):
            self.parent = MAIN_THREAD
            return
        self._in_tree = False
        raise RuntimeError(
            "Can not start thread " + repr(self.name) + ": mo_threads has shut down (stop_main_thread() ran, or"
            " the program exits) and joined every thread, so nobody would stop or join this one;"
            " start_main_thread() starts it again"
        )

    def _arm_deadline(self) -> None:
        # Only a deadline of its own gets a callback: an inherited one stops this
        # thread through its owner's stop(), which reaches every descendant. The
        # thread is in the tree already, so a deadline firing from now on reaches it.
        # A detached thread is out of reach of that stop(): it inherits nothing.
        inherited = None if self._detached else self.parent.deadline  # type: ignore[union-attr]
        spec = self._deadline_spec
        own: Optional[Signal] = None
        if isinstance(spec, Signal):
            own = spec
        elif spec is not None:
            at = _till.monotonic() + spec  # Till's monotonic clock, which a test may fake
            if not (isinstance(inherited, Till) and inherited.monotonic_deadline <= at):
                own = _till.at(at)  # the inherited deadline comes first: no timer at all otherwise
        self.deadline = _tighter(own, inherited)
        if inherited is not None and inherited:
            self.please_stop.go()  # it fired before this thread joined the tree
        if own is not None:
            self._own_deadline = own
            own.then(self.stop)

    def _disarm_deadline(self) -> None:
        own = self._own_deadline
        if own is not None:
            self._own_deadline = None
            own.remove_then(self.stop)  # the timer lets go of it: no callback, no reference kept

    def _run(self, launch: Any) -> None:
        if not launch.acquire(False):
            return  # start() failed before this thread began, and undid the rest: never run
        self.ident = ident = _thread.get_ident()
        # a wait on `stopped` is a wait for this thread (the wait-for graph of _blocking)
        _blocking.owned_by(self.stopped, ident)
        try:
            if self._log_extras is not None:
                setattr(threading.current_thread(), MO_LOGS_EXTRAS, [self._log_extras])
            _registry.enter(self)  # runs the start hooks (profiling): a failure there is the thread's
            self.started.go()
            if self._policy is None:
                self._result = self.target(*self.args, **self.kwargs)
            else:
                self._result = self._run_with_restarts(self._policy)
        except BaseException as failure:
            self._failure = failure
        finally:
            try:
                _log_unjoined(self, self._stop_and_join_children())  # and take no more children
            finally:
                _registry.leave(self)
                self._end()

    def _run_with_restarts(self, policy: RestartPolicy) -> Any:
        target, args, kwargs = self.target, self.args, self.kwargs

        def attempt() -> Any:
            return target(*args, **kwargs)

        def clear_children() -> None:
            # a failed try may leave threads behind: stop and join them before the next try
            for child, failure in self._stop_and_join_children(close=False):
                logger.warning(
                    "Thread {name|quote} failed (nobody joined it before {parent|quote} restarted)",
                    name=child.name,
                    parent=self.name,
                    cause=failure,
                    log_severity="ERROR",
                )

        return run_with_restarts(self.name, attempt, self.please_stop, policy, clear_children)

    def _end(self) -> None:
        self.target = self.args = self.kwargs = None  # type: ignore[assignment]
        if self._own_deadline is not None:
            self._disarm_deadline()
        self.deadline = None
        self.stopped.go()
        _blocking.owned_by(self.stopped, None)
        if self._failure is None:
            # a successful thread leaves the tree; a failed one stays until joined,
            # so its parent reports it if nobody does
            self._leave_tree()
        elif self._released:
            self._report()
            self._leave_tree()

    def _leave_tree(self) -> None:
        # join() and _end() both do this: the second (usually) costs nothing. The flag
        # is cleared only once removed, so neither returns while the thread is still listed
        parent = self.parent
        if parent is not None and self._in_tree:
            parent.remove_child(self)
            self._in_tree = False

    def _leave_owner(self) -> None:
        owner, self._owner = self._owner, None
        if owner is None:
            return
        try:
            owner.remove_child(self)
        except Exception as cause:
            logger.warning(
                "remove_child() of the parent_thread of {name|quote} failed", name=self.name, cause=cause
            )

    def _report(self) -> None:
        with self.child_locker:
            if self._reported or self._joined:
                return
            self._reported = True
        _log_failure(self, self._failure, "it was released: nobody joins it")  # type: ignore[arg-type]

    def _wait_for_its_end_steps(self) -> None:
        # `stopped` fires first, then its callbacks run on this thread: a parent (the shutdown
        # above all) that goes on at once would log "All threads have shutdown", and stop the
        # logging, while a callback of a child still prints or logs
        os_thread = self._thread
        if os_thread is not None and os_thread is not threading.current_thread():
            os_thread.join(END_STEPS_SECONDS)

    def _take_unreported_failure(self) -> Optional[BaseException]:
        with self.child_locker:
            if self._failure is None or self._joined or self._reported or self._released:
                return None
            self._reported = True
            return self._failure

    def join(self, till: Optional[Signal] = None, *, timeout: Optional[float] = None) -> Any:
        """Wait for the thread (and its children) to end; return its result.

        Raises the thread's exception, wrapped with the thread's name and the
        original as cause. Raises `THREAD_TIMEOUT` when `till` fires (or
        `timeout` seconds pass) first; TypeError for a `till` that is not a
        Signal, ValueError for a negative timeout.
        """
        if self._thread is None:
            raise RuntimeError("Can not join thread " + repr(self.name) + ": it was never started")
        timeout = check_wait(till, timeout)
        if not self.stopped:
            if _thread.get_ident() == self.ident:
                raise RuntimeError("Thread " + repr(self.name) + " can not join itself")
            _wait_for_end(self, self.ident, till, timeout)
        self._joined = True
        # _end removes it too, but only after `stopped` fired: a joiner must see it gone
        self._leave_tree()
        self._leave_owner()
        if self._failure is not None:
            raise _wrap_failure(self.name, self._failure)
        return self._result

    def release(self) -> Thread:
        """Nobody will join this thread: a failure is logged as soon as it happens."""
        self._released = True
        if self.stopped and self._failure is not None:
            self._report()
            self._leave_tree()
        return self

    def is_alive(self) -> bool:
        """True once started and until it (and its children) ended; False for an unstarted thread."""
        return self._thread is not None and not self.stopped

    @property
    def result(self) -> Any:
        """The target's return value, once stopped (None before)."""
        return self._result

    def __enter__(self) -> Thread:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()
        if self._thread is not None:
            self.join()


# how long a parent waits for a stopped child's `stopped.then()` callbacks to finish
END_STEPS_SECONDS = 5.0


def _wait_for_end(
    thread: BaseThread, owner: Optional[int], till: Optional[Signal], timeout: Optional[float] = None
) -> None:
    """Block until `thread.stopped` fires, recorded as a join of it (`owner`: its ident, if known).

    Raises ThreadTimeout when `till` fires (or `timeout` seconds pass) first,
    DeadlockError when the wait would close a cycle of waits
    instead of hanging.
    """
    bounded = till is not None or timeout is not None
    if not bounded:
        _refuse_joining_an_ancestor(thread)
    wait = _blocking.begin("join", thread, bounded=bounded, owner=owner)
    try:
        if not wait_in_main(thread.stopped, till, timeout):
            raise ThreadTimeout("Timeout on join of thread " + repr(thread.name))
    finally:
        _blocking.end(wait)


def _refuse_joining_an_ancestor(thread: BaseThread) -> None:
    """Raise DeadlockError when `thread` is an ancestor of the calling thread in the tree.

    A thread ends only after its children have ended, so a descendant waiting
    for its ancestor's end waits for ever, whatever the ancestor does: no need
    to look at the wait-for graph. A thread detached from its parent (or not in
    the tree) is not waited for by it: no cycle.
    """
    node = _registry.get_current()
    if node is None:
        return  # the main thread (the root), or a thread the tree does not hold
    chain = [node]
    while node is not thread:
        parent = node.parent
        if parent is None or node not in parent._children:
            return
        chain.append(parent)
        node = parent
    joiner = chain[0]
    cycle = [(joiner.name, _blocking.primitive_name("join", thread))]
    parts = ["thread " + repr(joiner.name) + " waits for " + cycle[0][1] + ", which only thread " + repr(thread.name) + " can end"]
    for ancestor, child in zip(chain[:0:-1], chain[-2::-1]):
        what = "the end of its child " + repr(child.name)
        cycle.append((ancestor.name, what))
        parts.append("thread " + repr(ancestor.name) + " waits for " + what)
    raise DeadlockError(
        "Deadlock: " + "; ".join(parts) + " (a thread ends only after its children: a descendant joins it with till=)",
        cycle,
    )


class AlienThread(BaseThread):
    """Stands for a thread that mo_threads did not start (named after it)."""

    def __init__(self, name: str, ident: int) -> None:
        BaseThread.__init__(self, name, ident, None)
        self.registered = False

    def join(self, till: Optional[Signal] = None, *, timeout: Optional[float] = None) -> None:
        """Wait until the registered thread leaves `RegisterThread`.

        Raises `THREAD_TIMEOUT` when `till` fires (or `timeout` seconds pass)
        first, `DeadlockError` when the wait (without `till` or `timeout`)
        would close a cycle of waits.
        """
        timeout = check_wait(till, timeout)
        if self.stopped:
            return
        _wait_for_end(self, self.ident if self.registered else None, till, timeout)


def _default_parent() -> BaseThread:
    current = current_thread()
    if isinstance(current, AlienThread) and not current.registered:
        # nobody will end an unregistered alien thread's tree: the main thread adopts
        return MAIN_THREAD
    return current


def current_thread() -> BaseThread:
    """The thread object for the calling thread.

    A thread mo_threads did not start gets an `AlienThread` named after its
    `threading` name (not tracked by shutdown unless registered with
    `RegisterThread`).
    """
    found = _registry.get_current()
    if found is not None:
        return found  # type: ignore[no-any-return]
    ident = _thread.get_ident()
    if ident == MAIN_THREAD.ident:
        return MAIN_THREAD
    alien = AlienThread(threading.current_thread().name, ident)
    # the entry lives in a threading.local, so it dies with the thread
    _registry.enter(alien, live=False)
    return alien


class RegisterThread:
    """Track a thread mo_threads did not start, so shutdown asks it to stop and waits.

        with RegisterThread(name="worker"):
            while not current_thread().please_stop:
                ...
    """

    def __init__(self, name: Optional[str] = None, thread: Any = None) -> None:
        if name is not None:
            check_name(name, "RegisterThread name")
        self.name = name
        self.thread: Optional[AlienThread] = None

    def __enter__(self) -> BaseThread:
        _ensure_started()
        current = current_thread()
        if not isinstance(current, AlienThread):
            self.thread = None
            return current  # a mo_threads thread is tracked already
        if self.name:
            current.name = self.name
        if not current.registered:
            current.registered = True
            self.thread = current
            _registry.make_live(current)
            _blocking.owned_by(current.stopped, current.ident)
            MAIN_THREAD.add_child(current)
            if not threading.current_thread().daemon:
                _ensure_exit_watcher()
        return current

    def __exit__(self, *exc_info: Any) -> None:
        alien = self.thread
        if alien is None:
            return
        try:
            _log_unjoined(alien, alien._stop_and_join_children())
        finally:
            alien.registered = False
            MAIN_THREAD.remove_child(alien)
            _registry.leave(alien)
            alien.stopped.go()
            _blocking.owned_by(alien.stopped, None)


def register_thread(func: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a function run by a foreign thread so shutdown tracks that thread (under its own name)."""
    if not callable(func):
        raise TypeError("register_thread expects a callable, not " + type(func).__name__)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with RegisterThread():
            return func(*args, **kwargs)

    return wrapper


def _reset_for_tests() -> None:
    # a test that shut down (stop_main_thread(), wait_for_shutdown_signal()) leaves a
    # main thread that takes no more threads: the next test gets a fresh one
    if MAIN_THREAD.stopped or MAIN_THREAD._closed:
        start_main_thread()


_runtime.on_reset("threads", _reset_for_tests)


def join_all_threads(threads: Iterable[Any], till: Optional[Signal] = None) -> List[Any]:
    """Join every thread; return their results in order.

    Takes anything with a `join(till=)` method: threads, what `ThreadPool.run()`
    returns, processes, or objects of your own. Raises one error listing every
    failure (each failure is its cause), after every thread has been joined.
    Raises `THREAD_TIMEOUT` if `till` fires first. An interruption that is not
    an `Exception` (KeyboardInterrupt, SystemExit) propagates at once: the
    threads not yet joined are left to the shutdown.
    """
    check_till(till)
    threads = list(threads)
    for thread in threads:
        if not callable(getattr(thread, "join", None)):
            raise TypeError("join_all_threads() expects threads (objects with join()), not " + type(thread).__name__)
    results: List[Any] = []
    failures: List[BaseException] = []
    for thread in threads:
        try:
            results.append(thread.join(till=till))
        except ThreadTimeout:
            raise
        except Exception as failure:
            results.append(None)
            failures.append(failure)
    if failures:
        error = Except(
            template="{count} of {total} threads failed",
            params={"count": len(failures), "total": len(results)},
            cause=[Except.wrap(f) for f in failures],
        )
        error.__cause__ = failures[0]
        raise error
    return results
