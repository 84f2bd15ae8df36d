"""SIGINT / SIGTERM handling for orderly shutdown (internal).

The handler does no blocking work. The first signal asks the main thread to
stop: the `request_stop` callback given to `install` runs on a short-lived
helper thread, because it fires a Signal, which takes a lock the interrupted
main thread may be holding at that very moment. When the main thread is not
parked in `wait_for_shutdown_signal` (nor already running the shutdown), the
handler also raises in it,
`KeyboardInterrupt` for SIGINT and `SystemExit` for SIGTERM, as Python users
expect, which interrupts a blocked lock acquire too. A second signal forces the
exit with the conventional status (128 + signal number) after a last report.
A handler the application installed before ours is called as well.
"""

from __future__ import annotations

import _thread
import os
import signal
import sys
import threading
from typing import Any, Callable, Dict, Optional

from mo_threads._watchdog import SETTINGS


class _State:
    __slots__ = ("installed", "previous", "request_stop", "on_force_exit", "received", "parked", "shutting_down")

    def __init__(self) -> None:
        self.installed = False
        self.previous: Dict[int, Any] = {}
        self.request_stop: Optional[Callable[[int], None]] = None
        self.on_force_exit: Optional[Callable[[], None]] = None
        self.received = 0
        # True while the main thread waits in wait_for_shutdown_signal
        self.parked = False
        # True while stop_main_thread runs: a first signal must not break it
        self.shutting_down = False


STATE = _State()
HANDLED = tuple(s for s in (getattr(signal, "SIGINT", None), getattr(signal, "SIGTERM", None)) if s is not None)


def install(request_stop: Callable[[int], None], on_force_exit: Callable[[], None]) -> bool:
    """Install the handlers; only possible on the main thread. True when installed."""
    if STATE.installed:
        return True
    if threading.current_thread() is not threading.main_thread():
        return False
    STATE.request_stop = request_stop
    STATE.on_force_exit = on_force_exit
    for signum in HANDLED:
        try:
            STATE.previous[signum] = signal.signal(signum, _handler)
        except (ValueError, OSError):
            # not the main interpreter, or the platform refuses
            continue
    STATE.installed = True
    return True


def uninstall() -> None:
    """Put back the handlers found at `install` (tests use this through reset)."""
    if not STATE.installed:
        return
    if threading.current_thread() is threading.main_thread():
        for signum, previous in STATE.previous.items():
            if signal.getsignal(signum) is _handler:
                try:
                    signal.signal(signum, previous if previous is not None else signal.SIG_DFL)
                except (ValueError, OSError):
                    pass
    STATE.previous.clear()
    STATE.installed = False
    STATE.received = 0
    STATE.parked = False
    STATE.shutting_down = False


def _handler(signum: int, frame: Any) -> None:
    STATE.received += 1
    if STATE.received > 1:
        if STATE.on_force_exit is not None:
            try:
                STATE.on_force_exit()
            finally:
                os._exit(128 + signum)
        os._exit(128 + signum)
    SETTINGS.give_up_after_report = True
    request_stop = STATE.request_stop
    if request_stop is not None:
        try:
            _thread.start_new_thread(request_stop, (signum,))
        except RuntimeError:
            # no new threads (interpreter finalizing): shutdown is under way already
            pass
    previous = STATE.previous.get(signum)
    if callable(previous) and previous is not signal.default_int_handler:
        previous(signum, frame)
    if STATE.parked or STATE.shutting_down:
        return
    if signum == getattr(signal, "SIGINT", None):
        raise KeyboardInterrupt
    sys.exit(128 + signum)
