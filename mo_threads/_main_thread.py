"""The main thread and the shutdown: `MAIN_THREAD`, the exit hook, the OS signal handlers, the fork.

`MAIN_THREAD` is the root of the thread tree. `stop_main_thread()` (also run at
interpreter exit) asks every child to stop, newest first, joins them, then
stops logging, then the timer thread; `wait_for_shutdown_signal()` parks the
main thread until it is asked to stop. The exit hook and the handlers are
installed by `_ensure_started()`, when the first `Thread` is made (see the
docstring of `mo_threads.threads`, where the public names live).
"""

from __future__ import annotations

import _thread
import atexit
import sys
import threading
from typing import Any, List, Optional

from mo_logs import Except, logger

from mo_threads import _blocking, _os_signals, _registry, _runtime, till as _till
from mo_threads._thread_tree import BaseThread, _allocate_lock, _log_unjoined, _Self, _wrap_failure
from mo_threads._watchdog import (
    SETTINGS as SHUTDOWN_SETTINGS,
    describe_stack,
    use_console_log,
    wait_in_main,
)
from mo_threads.signals import Signal


class MainThread(BaseThread):
    """The root of the thread tree: the program's main thread."""

    __module__ = "mo_threads.threads"  # its public home

    def __init__(self) -> None:
        BaseThread.__init__(self, "Main Thread", threading.main_thread().ident, None)
        self.timers: Any = None
        self.failures: List[BaseException] = []

    def stop(self: _Self) -> _Self:
        """Shut down in order (see `stop_main_thread`); returns the main thread. Only the main thread may call this."""
        stop_main_thread()
        return self

    def wait_for_shutdown_signal(
        self, please_stop: Any = False, allow_exit: bool = False, wait_forever: bool = True
    ) -> None:
        """See `wait_for_shutdown_signal`."""
        wait_for_shutdown_signal(please_stop, allow_exit, wait_forever)


MAIN_THREAD = MainThread()


def _thread_name(ident: int) -> Optional[str]:
    """The mo_threads name of the running thread `ident`, None when it has none (for `_blocking`)."""
    thread = _registry.LIVE.get(ident)
    if thread is not None:
        return thread.name  # type: ignore[no-any-return]
    if ident == MAIN_THREAD.ident:
        return MAIN_THREAD.name
    return None


_blocking.set_thread_namer(_thread_name)


class _Machinery:
    """Whether the exit hook and OS signal handlers are installed."""

    __slots__ = ("lock", "started", "stopping", "exit_watcher")

    def __init__(self) -> None:
        self.lock = _thread.allocate_lock()  # made anew in a forked child (_after_fork_in_child)
        self.started = False
        self.stopping = False
        self.exit_watcher = False


MACHINERY = _Machinery()


def _ensure_started() -> None:
    if MACHINERY.started:
        if not _os_signals.STATE.installed and _thread.get_ident() == MAIN_THREAD.ident:
            # the first thread was made off the main thread, where handlers can not be installed
            _os_signals.install(_request_stop, _force_exit_report, _stop_for_stuck_main)
        return
    with MACHINERY.lock:
        if MACHINERY.started:
            return
        MACHINERY.started = True
        _register_exit_hook()
        use_console_log()  # the threads' failures and the shutdown's reports go to stderr
    _os_signals.install(_request_stop, _force_exit_report, _stop_for_stuck_main)


def _after_fork_in_child() -> None:
    # Only the forking thread exists in a child: the parent's threads must not be
    # waited for at the child's exit (multiprocessing runs threading._shutdown,
    # hence our exit hook, in its children). Locks held by other threads at the
    # fork stay locked: make them anew. _runtime runs this after _registry's own
    # after-fork step, so the registry holds the current thread alone.
    MACHINERY.lock = _thread.allocate_lock()
    MACHINERY.stopping = False
    MACHINERY.exit_watcher = False
    current = _registry.get_current()
    for thread in (MAIN_THREAD, current):
        if thread is not None:
            thread.child_locker = _allocate_lock()
            thread._children = {}
    # the current thread's ancestors stay in use: it leaves its parent when it ends
    thread = current
    while thread is not None:
        parent = getattr(thread, "parent", None)
        if not isinstance(parent, BaseThread) or parent is MAIN_THREAD:
            break
        parent.child_locker = _allocate_lock()
        thread = parent
    MAIN_THREAD.ident = threading.main_thread().ident
    SHUTDOWN_SETTINGS.reset()
    _os_signals.reset()


_runtime.on_fork("threads", _after_fork_in_child)


def _register_exit_hook() -> None:
    # CPython joins the non-daemon `threading` threads before it runs atexit
    # hooks. Our own threads are daemons, but a registered foreign thread
    # (RegisterThread) may not be: it would wait for a please_stop that the
    # atexit hook never gets to send. `threading._register_atexit` (3.9+, the
    # hook concurrent.futures uses) runs before that join; atexit stays as the
    # fallback, and `_stop_at_exit` runs once.
    register_early = getattr(threading, "_register_atexit", None)
    if register_early is not None:
        try:
            register_early(_stop_at_exit)
        except RuntimeError:
            pass  # the interpreter is shutting down already
    atexit.register(_stop_at_exit)
    if sys.implementation.name == "pypy" and not hasattr(sys, "ps1"):
        # PyPy ends on an uncaught KeyboardInterrupt right after sys.excepthook, running
        # neither atexit hooks nor threading._shutdown: stop in order from the hook
        previous = sys.excepthook

        def _stop_after_interrupt(kind: Any, value: Any, trace: Any) -> None:
            previous(kind, value, trace)
            if issubclass(kind, KeyboardInterrupt) and threading.current_thread() is threading.main_thread():
                _stop_at_exit()

        sys.excepthook = _stop_after_interrupt


def _request_stop(signum: int) -> None:
    MAIN_THREAD.please_stop.go()


def _stop_for_stuck_main() -> None:
    # on a thread of the signal watcher: the main thread is stuck and can not do it
    _shutdown(log_unjoined=True)


def _force_exit_report() -> str:
    return "".join(
        "mo_threads: forced exit while thread " + repr(thread.name) + " was still running:\n"
        + describe_stack(thread.ident) + "\n"
        for thread in _registry.live_threads()
    )


def start_main_thread() -> None:
    """(Re)start the machinery: a fresh main thread object and timer; tests use it between cases."""
    if MACHINERY.stopping:
        raise RuntimeError("Can not start the main thread while it is stopping")
    _till.reset()
    BaseThread.__init__(MAIN_THREAD, "Main Thread", threading.main_thread().ident, None)
    MAIN_THREAD.failures = []
    _os_signals.reset()
    SHUTDOWN_SETTINGS.reset()
    _ensure_started()


def stop_main_thread(signum: Optional[int] = None, frame: Any = None) -> List[BaseException]:
    """Shut down in order: stop and join every child (newest first), then logging, then timers.

    Returns the failures of children nobody joined (they are also logged),
    each wrapped with the failed thread's name. Runs at interpreter exit too; a
    second call does little. Every pending `Till` fires as it begins (after the
    children were asked to stop, before they are joined). A SIGINT or SIGTERM
    arriving meanwhile forces the exit at once, with status 128 + the signal
    number, after a report of the threads still running. The line
    `All threads have shutdown` is logged at the end.

    Only the main thread may call it: RuntimeError from another thread (which
    can ask the main thread to stop with `MAIN_THREAD.please_stop.go()`).

    It is also a signal handler, as in mo-threads 6.x:
    `signal.signal(signal.SIGTERM, stop_main_thread)`. Called so (with a
    `signum` and a `frame`, on the main thread) it does what the handlers
    mo_threads installs do, no blocking work in the handler: it asks the main
    thread to stop, and when the main thread is not parked in
    `wait_for_shutdown_signal` it raises KeyboardInterrupt (SIGINT) or
    SystemExit (other signals) there, so the program exits in order.
    """
    if _thread.get_ident() != MAIN_THREAD.ident:
        # from a thread of the tree it would stop the caller's own parent and
        # the timers and logging under threads still running
        raise RuntimeError(
            "Only the main thread can stop the main thread; from another thread, "
            "call MAIN_THREAD.please_stop.go() to ask it"
        )
    if signum:
        _ensure_started()
        _os_signals.handle_stop_signal(signum, frame)
        return []
    return _shutdown(log_unjoined=True)


def _shutdown(log_unjoined: bool) -> List[BaseException]:
    with MACHINERY.lock:
        if MACHINERY.stopping:
            return []
        MACHINERY.stopping = True
    _os_signals.STATE.shutting_down = True
    try:
        # Every Till pending now fires once the threads were asked to stop: a thread
        # woken by its Till finds its please_stop set, and does not go back to sleep
        # on a new one; a Till made while they are asked (a Process's kill timer)
        # waits its time. Threads owned by an object are asked last (they may serve
        # the others), as the join does
        pending = _till.take_pending()
        MAIN_THREAD.please_stop.go()
        for child in MAIN_THREAD._children_newest_first():
            if child._owner is None:
                child.stop()
        _till.fire_taken(pending)
        unjoined = MAIN_THREAD._stop_and_join_children()
        if log_unjoined:
            _log_unjoined(MAIN_THREAD, unjoined)
        failures: List[BaseException] = [_wrap_failure(child.name, failure) for child, failure in unjoined]
        MAIN_THREAD.failures.extend(failures)
        try:
            logger.info("All threads have shutdown")  # the last line of 6.x too: scripts look for it
            logger.stop()
        except Exception as cause:
            sys.stderr.write("mo_threads: failed to stop logging: " + repr(cause) + "\n")
        _till.shutdown()
        MAIN_THREAD.stopped.go()
        return failures
    finally:
        MACHINERY.stopping = False
        _os_signals.STATE.shutting_down = False


def _stop_at_exit() -> None:
    _till.interpreter_exiting()  # threads started from now on may be refused
    if MAIN_THREAD.stopped:
        return
    if MACHINERY.stopping:
        # another thread runs the shutdown (the exit watcher, the signal watcher): let it finish
        wait_in_main(MAIN_THREAD.stopped)
        return
    _shutdown(log_unjoined=True)  # on the main thread, or on the exit watcher (Python 3.8)


def _watch_for_exit() -> None:
    # Python 3.8 has no threading._register_atexit: the main thread's end
    # (threading._shutdown marks it stopped before joining non-daemon threads)
    # starts the shutdown from here, so registered non-daemon threads get
    # their please_stop instead of hanging the exit.
    threading.main_thread().join()
    _stop_at_exit()


def _ensure_exit_watcher() -> None:
    if hasattr(threading, "_register_atexit"):
        return  # the exit hook runs before the non-daemon threads are joined
    with MACHINERY.lock:
        if MACHINERY.exit_watcher:
            return
        MACHINERY.exit_watcher = True
    threading.Thread(target=_watch_for_exit, name="mo-threads exit watcher", daemon=True).start()


def wait_for_shutdown_signal(
    please_stop: Any = False, allow_exit: bool = False, wait_forever: bool = True
) -> None:
    """Park the main thread until asked to stop, then shut down in order.

    Returns after SIGINT, SIGTERM, `please_stop` firing, the line `exit` on
    stdin (when `allow_exit`), or, when `wait_forever` is False, once every
    child thread has ended. Then runs `stop_main_thread()` and raises the
    failure of any child nobody joined (wrapped with its name; one error
    listing them when several failed); otherwise it returns normally, a
    signal included: a program that then ends exits with status 0. A signal
    arriving while parked here does not raise KeyboardInterrupt/SystemExit;
    a second one forces the exit (status 128 + signal number).
    Raises RuntimeError when called from another thread than the main one.
    """
    if _thread.get_ident() != MAIN_THREAD.ident:
        raise RuntimeError("wait_for_shutdown_signal() must be called from the main thread")
    if please_stop is not None and not isinstance(please_stop, (Signal, bool)):
        raise TypeError("please_stop must be a Signal, not " + type(please_stop).__name__)
    _ensure_started()
    stop = MAIN_THREAD.please_stop | please_stop
    if allow_exit:
        _watch_stdin_for_exit(MAIN_THREAD.please_stop)
    _os_signals.STATE.parked = True
    try:
        if wait_forever:
            wait_in_main(stop)
        else:
            while not stop:
                # threads owned by objects (parent_thread=) serve the others: not waited for
                children = [c for c in MAIN_THREAD._children_newest_first() if c.is_alive() and c._owner is None]
                if not children:
                    break
                for child in children:
                    wait_in_main(stop | child.stopped)
    finally:
        _os_signals.STATE.parked = False
    failures = _shutdown(log_unjoined=False)  # raised below instead
    failures = MAIN_THREAD.failures or failures
    if failures:
        if len(failures) == 1:
            raise failures[0]
        error = Except(
            template="{count} threads failed",
            params={"count": len(failures)},
            cause=[Except.wrap(f) for f in failures],
        )
        error.__cause__ = failures[0]
        raise error


def _watch_stdin_for_exit(please_stop: Signal) -> None:
    def read_stdin() -> None:
        try:
            for line in sys.stdin:
                if line.strip() == "exit":
                    please_stop.go()
                    return
        except (OSError, ValueError):
            return

    # a plain daemon thread: a read of stdin can not be interrupted, so shutdown must not wait for it
    threading.Thread(target=read_stdin, name="mo-threads stdin watcher", daemon=True).start()
