"""Joining threads that may not stop: report them instead of hanging silently (internal).

`wait_stopped(thread)` waits for a thread's `stopped` signal. A few seconds
in (`report_after`, 5 s by default) it reports the thread's name, tree path,
what it is blocked on (from the wait registry, `_blocking`) and current stack,
and keeps waiting; it reports again at the end of the grace period and every
grace period after, while the thread keeps running. When shutdown was started
by an OS signal, it gives up at the end of the grace period so the process
still ends. A report goes once: to stderr when the log is the console (mo_logs'
default, which `ConsoleLog` replaces so that warnings and errors go to stderr
too), to the configured log otherwise.

`wait_in_main(signal, till, timeout)` is `signal.wait(...)`: every wait of the
main thread goes in slices of `MAIN_THREAD_SLICE` seconds, decided once in
`_parking` (rule 5; the kernel may deliver SIGINT/SIGTERM to any thread; Python
runs the handler only when the main thread next runs bytecode).

Every interval here (a `timeout`, the grace period, the seconds in a report)
is measured on the real monotonic clock: a wall-clock step neither cuts a
grace period short nor stretches it, and a fake clock does not touch it (the
waits go to the OS as lock timeouts, which take real time).
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import Any, List, Optional

from mo_logs import logger
from mo_logs.log_usingPrint import StructuredLogger_usingPrint
from mo_logs.strings import expand_template

from mo_threads._blocking import describe_wait
from mo_threads._clock import REAL_MONOTONIC as _now
from mo_threads._vocabulary import check_timeout
from mo_threads.signals import Signal

# after a signal, once one thread was given up on, how long the next ones get
LAST_CHANCE = 0.5


# the default of `report_after`: within the 10 s `docker stop` gives before SIGKILL
REPORT_AFTER = 5.0


class WatchdogSettings:
    """Shutdown tuning, one shared object: `SETTINGS.grace_period` and `SETTINGS.report_after`, in seconds."""

    __slots__ = ("grace_period", "report_after", "give_up_after_report", "gave_up")

    def __init__(self) -> None:
        self.grace_period = 30.0
        # when a thread still running is first reported (the grace period when shorter)
        self.report_after = REPORT_AFTER
        # set when an OS signal started the shutdown: do not wait for ever
        self.give_up_after_report = False
        # set once a thread was given up on: the next ones had their grace period already
        self.gave_up = False

    def reset(self) -> None:
        """Back to waiting patiently (a fresh start of the machinery)."""
        self.give_up_after_report = False
        self.gave_up = False


SETTINGS = WatchdogSettings()


def set_grace_period(seconds: float, report_after: Optional[float] = None) -> None:
    """How long a join at shutdown waits for a thread (default 30 s), and when it first reports it.

    A thread still running `report_after` seconds after the wait for it began
    (default 5 s, or the grace period when shorter) is reported, and the wait
    goes on: it is reported again at the end of the grace period, and each
    grace period after (an OS signal's shutdown gives up on it then). Without
    `report_after`, the delay set before stays.

    Raises TypeError for a non-number, ValueError for 0, a negative number or
    NaN (a zero period would report every thread without end); nothing is
    changed then.
    """
    period = _positive(seconds, "grace period")
    first = SETTINGS.report_after if report_after is None else _positive(report_after, "report_after")
    SETTINGS.grace_period = period
    SETTINGS.report_after = first


def _positive(seconds: Any, what: str) -> float:
    value = check_timeout(seconds, what)
    if not value > 0:
        raise ValueError(what + " must be more than 0 seconds, not " + repr(value))
    return value


def describe_stack(ident: Optional[int], with_wait: bool = True) -> str:
    """The current stack of the OS thread `ident`, as text.

    With `with_wait` (the default), a first line says what the thread is
    blocked on and for how long, when the wait registry knows
    (`  (waiting on Lock 'totals' for 3.2 s)`).
    """
    frame = sys._current_frames().get(ident) if ident is not None else None
    if frame is None:
        stack = "    (no stack: the thread is not running Python code)"
    else:
        stack = "".join(traceback.StackSummary.from_list(_trim(traceback.extract_stack(frame))).format()).rstrip()
    if with_wait and ident is not None:
        waiting = describe_wait(ident)
        if waiting is not None:
            return "  (" + waiting + ")\n" + stack
    return stack


# frames every thread starts with, that say nothing about what it does
_BOOTSTRAP = (
    ("threading.py", ("_bootstrap", "_bootstrap_inner", "run")),
    (os.path.join("mo_threads", "threads.py"), ("_run",)),
)
# frames of the report itself, on the thread that makes it
_REPORTING = (os.path.join("mo_threads", "_watchdog.py"), os.path.join("mo_threads", "_introspect.py"))


def _trim(frames: traceback.StackSummary) -> List[traceback.FrameSummary]:
    """Drop the thread start-up frames at the top and the reporting frames at the bottom."""
    summary = list(frames)
    start = 0
    while start < len(summary) - 1 and any(
        summary[start].filename.endswith(file) and summary[start].name in names for file, names in _BOOTSTRAP
    ):
        start += 1
    stop = len(summary)
    while stop > start + 1 and summary[stop - 1].filename.endswith(_REPORTING):
        stop -= 1
    return summary[start:stop]


def describe_blocking(ident: Optional[int]) -> str:
    """What thread `ident` is blocked on, as a phrase for reports.

    `waiting on Lock 'a' for 2.3 s`, or `not waiting on any mo_threads
    primitive` (it computes, sleeps, or waits on something outside mo_threads).
    """
    waiting = describe_wait(ident) if ident is not None else None
    return waiting or "not waiting on any mo_threads primitive"


def tree_path(thread: Any) -> str:
    """`Main Thread / parent / child`: the names from the root down to `thread`."""
    names = []
    while thread is not None:
        names.append(thread.name)
        thread = getattr(thread, "parent", None)
    return " / ".join(reversed(names))


class ConsoleLog(StructuredLogger_usingPrint):  # type: ignore[misc]  # mo_logs is untyped
    """mo_logs' default log (print), with warnings and errors on stderr, where a console's diagnostics go.

    mo_logs prints every line to stdout, where the failures of the threads and
    the reports of the shutdown would mix with the program's own output.
    `use_console_log()` (run when the machinery starts) puts this one in its place.
    """

    def write(self, template: str, params: Any) -> None:
        if params.get("severity") not in _ON_STDERR:
            StructuredLogger_usingPrint.write(self, template, params)
            return
        text = expand_template(template, params)
        with self.locker:
            try:
                sys.stderr.write(text + "\n")
                sys.stderr.flush()
            except Exception:
                pass  # stderr closed or broken: nowhere left to say it


_ON_STDERR = ("WARNING", "ERROR")


def use_console_log() -> None:
    """Put `ConsoleLog` in place of mo_logs' default log; a log the program configured stays."""
    if type(logger.main_log) is StructuredLogger_usingPrint:
        logger.main_log = ConsoleLog()


def logs_to_console() -> bool:
    """True when the log is the console: mo_logs' default (stdout), or `ConsoleLog`."""
    return type(logger.main_log) in (StructuredLogger_usingPrint, ConsoleLog)


def wait_in_main(signal: Signal, till: Optional[Signal] = None, timeout: Optional[float] = None) -> bool:
    """`signal.wait(till, timeout=timeout)`: True when `signal` fired, False when `till` or `timeout` came first.

    On the main thread every wait goes in short slices (decided once, in
    `_parking`), so OS signal handlers run within a slice and may
    raise (KeyboardInterrupt) out of this call. The name stays for the
    callers that wait for a thread or for the shutdown.
    """
    return signal.wait(till, timeout=timeout)


def wait_stopped(thread: Any, waiting_for: str = "shutdown") -> bool:
    """Wait until `thread.stopped` fires, reporting it while it does not.

    A thread still running `report_after` seconds after the wait began (5 s by
    default: within the 10 s `docker stop` gives before SIGKILL) is reported,
    with its tree path, what it is blocked on (the wait registry) and its
    stack; the wait goes on, and it is reported again at the end of the grace
    period, then every grace period. After an OS signal, the wait gives up on
    it at the end of the grace period (and on the next ones after a short last
    chance), so the process still ends. Returns True when it stopped, False
    when we gave up on it.
    """
    stopped = thread.stopped
    grace = SETTINGS.grace_period
    if SETTINGS.give_up_after_report and SETTINGS.gave_up:
        # asked to stop as long ago as the one given up on: a short last chance
        last_chance = min(grace, LAST_CHANCE)
        if wait_in_main(stopped, timeout=last_chance):
            return True
        _report_still_running(thread, waiting_for, last_chance)
        return False
    began = _now()
    report_at = min(SETTINGS.report_after, grace)  # seconds after `began`
    while not wait_in_main(stopped, timeout=max(0.0, began + report_at - _now())):
        _report_still_running(thread, waiting_for, _now() - began)
        if report_at >= grace and SETTINGS.give_up_after_report:
            SETTINGS.gave_up = True
            return False
        # then at the end of the grace period, and every grace period after
        report_at = grace if report_at < grace else report_at + grace
    return True


def _report_still_running(thread: Any, waiting_for: str, seconds: float) -> None:
    path = tree_path(thread)
    blocked = describe_blocking(thread.ident)
    stack = describe_stack(thread.ident, with_wait=False)
    rounded = round(seconds, 1)
    if logs_to_console():
        # once, on stderr: through the console log too, it showed twice
        try:
            sys.stderr.write(
                "mo_threads: thread " + repr(str(thread.name)) + " (" + path + ") is still running, "
                + str(rounded) + " seconds after the wait for it began, blocking " + waiting_for
                + "; it is " + blocked + ". Its stack:\n" + stack + "\n"
            )
            sys.stderr.flush()
        except Exception:
            pass  # stderr closed or broken: nowhere left to say it
        return
    logger.warning(
        "Thread {name|quote} ({path}) is still running, {seconds} seconds after the wait for it"
        " began, blocking {waiting_for}; it is {blocked}. Its stack:\n{stack}",
        name=thread.name,
        path=path,
        seconds=rounded,
        waiting_for=waiting_for,
        blocked=blocked,
        stack=stack,
    )
