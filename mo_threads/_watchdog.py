"""Joining threads that may not stop: report them instead of hanging silently (internal).

`wait_stopped(thread)` waits for a thread's `stopped` signal. Past the grace
period it logs the thread's name, tree path and current stack, and repeats the
report every grace period while the thread keeps running. When shutdown was
started by an OS signal, it gives up after the first report so the process
still ends.

`wait_in_main(signal, till, timeout)` is how the main thread waits: in slices
of `MAIN_THREAD_SLICE` seconds. The kernel may deliver SIGINT/SIGTERM to any
thread of the process; CPython then only flags it, and runs the Python handler
when the main thread next runs bytecode. A main thread parked in one long lock
acquire would not see the signal until that wait ends (a second Ctrl-C during
a slow shutdown would do nothing for 30 s). Other threads wait in one piece.
"""

from __future__ import annotations

import _thread
import sys
import threading
import traceback
from time import time as _time
from typing import Any, Optional

from mo_logs import logger

from mo_threads.signals import Signal, check_timeout

MAIN_THREAD_SLICE = 0.1
# after a signal, once one thread was given up on, how long the next ones get
LAST_CHANCE = 0.5
_MAIN_IDENT = threading.main_thread().ident


class WatchdogSettings:
    """Shutdown tuning, one shared object: `SETTINGS.grace_period` in seconds."""

    __slots__ = ("grace_period", "give_up_after_report", "gave_up")

    def __init__(self) -> None:
        self.grace_period = 30.0
        # set when an OS signal started the shutdown: do not wait for ever
        self.give_up_after_report = False
        # set once a thread was given up on: the next ones had their grace period already
        self.gave_up = False

    def reset(self) -> None:
        """Back to waiting patiently (a fresh start of the machinery)."""
        self.give_up_after_report = False
        self.gave_up = False


SETTINGS = WatchdogSettings()


def set_grace_period(seconds: float) -> None:
    """How long shutdown waits for a thread before reporting it (default 30 s)."""
    SETTINGS.grace_period = check_timeout(seconds, "grace period")


def describe_stack(ident: Optional[int]) -> str:
    """The current stack of the OS thread `ident`, as text."""
    frame = sys._current_frames().get(ident) if ident is not None else None
    if frame is None:
        return "    (no stack: the thread is not running Python code)"
    return "".join(traceback.format_stack(frame)).rstrip()


def tree_path(thread: Any) -> str:
    names = []
    while thread is not None:
        names.append(thread.name)
        thread = getattr(thread, "parent", None)
    return " / ".join(reversed(names))


def wait_in_main(signal: Signal, till: Optional[Signal] = None, timeout: Optional[float] = None) -> bool:
    """`signal.wait(till, timeout=timeout)`, in short slices on the main thread.

    Returns True when `signal` fired, False when `till` or `timeout` came
    first. On the main thread, OS signal handlers run within a slice, and may
    raise (KeyboardInterrupt) out of this call.
    """
    if _thread.get_ident() != _MAIN_IDENT:
        return signal.wait(till, timeout=timeout)
    deadline = None if timeout is None else _time() + timeout
    while True:
        step = MAIN_THREAD_SLICE
        if deadline is not None:
            step = min(step, max(0.0, deadline - _time()))
        if signal.wait(till, timeout=step):
            return True
        if (till is not None and till) or (deadline is not None and _time() >= deadline):
            return False


def wait_stopped(thread: Any, waiting_for: str = "shutdown") -> bool:
    """Wait until `thread.stopped` fires, reporting it while it does not.

    Returns True when it stopped, False when we gave up on it.
    """
    stopped = thread.stopped
    timeout = SETTINGS.grace_period
    if SETTINGS.give_up_after_report and SETTINGS.gave_up:
        # asked to stop as long ago as the one given up on: a short last chance
        timeout = min(timeout, LAST_CHANCE)
    while not wait_in_main(stopped, timeout=timeout):
        logger.warning(
            "Thread {name|quote} ({path}) is still running, {seconds} seconds after the wait for it"
            " began, blocking {waiting_for}. Its stack:\n{stack}",
            name=thread.name,
            path=tree_path(thread),
            seconds=timeout,
            waiting_for=waiting_for,
            stack=describe_stack(thread.ident),
        )
        if SETTINGS.give_up_after_report:
            SETTINGS.gave_up = True
            return False
        timeout = SETTINGS.grace_period
    return True
