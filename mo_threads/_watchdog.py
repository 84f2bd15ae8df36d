"""Joining threads that may not stop: report them instead of hanging silently (internal).

`wait_stopped(thread)` waits for a thread's `stopped` signal. Past the grace
period it logs the thread's name, tree path and current stack, and repeats the
report every grace period while the thread keeps running. When shutdown was
started by an OS signal, it gives up after the first report so the process
still ends.
"""

from __future__ import annotations

import sys
import traceback
from typing import Any, Optional

from mo_logs import logger

from mo_threads.signals import check_timeout


class WatchdogSettings:
    """Shutdown tuning, one shared object: `SETTINGS.grace_period` in seconds."""

    __slots__ = ("grace_period", "give_up_after_report")

    def __init__(self) -> None:
        self.grace_period = 30.0
        # set when an OS signal started the shutdown: do not wait for ever
        self.give_up_after_report = False


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


def wait_stopped(thread: Any, waiting_for: str = "shutdown") -> bool:
    """Wait until `thread.stopped` fires, reporting it while it does not.

    Returns True when it stopped, False when we gave up on it.
    """
    stopped = thread.stopped
    while not stopped.wait(timeout=SETTINGS.grace_period):
        logger.warning(
            "Thread {name|quote} ({path}) is still running {seconds} seconds after it was asked to"
            " stop, blocking {waiting_for}. Its stack:\n{stack}",
            name=thread.name,
            path=tree_path(thread),
            seconds=SETTINGS.grace_period,
            waiting_for=waiting_for,
            stack=describe_stack(thread.ident),
        )
        if SETTINGS.give_up_after_report:
            return False
    return True
