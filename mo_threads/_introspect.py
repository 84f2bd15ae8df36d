"""Thread tree dump (internal; `dump_threads` is exported by mo_threads).

One line per thread, indented by depth in the tree, then its current stack::

    - Main Thread [running]
        File "app.py", line 30, in <module>
          worker.join()
        - worker [stopping, waiting on Lock 'totals' for 3.2 s]
            File "app.py", line 12, in work
              with totals:

The state is `running`, `waiting` (the wait registry, `_blocking`, says what
the thread is parked on, by name, and for how long), `stopping` (please_stop
fired, the thread has not ended) or `stopped`; a stopping thread that waits
shows both. Threads outside the tree (plain `threading` threads; the timer and
signal watcher, by name only) follow under "Other threads".

SIGUSR1 writes the same dump to stderr, under a header naming the process
(see `_os_signals`: on by default once the first Thread is made, unless the
program handles SIGUSR1 itself; `dump_on_signal()` to choose).
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any, List, Optional, Set, TextIO

from mo_threads import _os_signals
from mo_threads._blocking import describe_wait
from mo_threads._watchdog import describe_stack
from mo_threads.threads import MAIN_THREAD

__all__ = ("dump_threads", "dump_on_signal", "dump_text")


# mo_threads' own helper threads (timer, signal watcher): named, without their stacks
_INTERNAL = "mo-threads "


def _state(thread: Any) -> str:
    if thread.stopped:
        return "stopped"
    waiting = describe_wait(thread.ident) if getattr(thread, "ident", None) is not None else None
    if thread.please_stop:
        return "stopping, " + waiting if waiting else "stopping"
    return waiting or "running"


def _stack_lines(ident: Optional[int], indent: str, out: List[str]) -> None:
    for line in describe_stack(ident, with_wait=False).splitlines():
        out.append(indent + "    " + line)


def _lines(thread: Any, depth: int, out: List[str], seen: Set[int]) -> None:
    indent = "    " * depth
    ident = getattr(thread, "ident", None)
    if ident is not None:
        seen.add(ident)
    out.append(indent + "- " + str(thread.name) + " [" + _state(thread) + "]")
    if not thread.stopped:
        _stack_lines(ident, indent, out)
    for child in thread.children:  # already a copy
        _lines(child, depth + 1, out, seen)


def _others(seen: Set[int], out: List[str]) -> None:
    others = [t for t in threading.enumerate() if t.ident is not None and t.ident not in seen]
    if not others:
        return
    out.append("Other threads (not in the tree):")
    for other in others:
        ident = other.ident
        waiting = describe_wait(ident) if ident is not None else None
        out.append("- " + other.name + " [" + (waiting or "running") + "]")
        if not other.name.startswith(_INTERNAL):
            _stack_lines(ident, "", out)


def dump_text() -> str:
    """The dump `dump_threads` writes, as one string."""
    out: List[str] = []
    seen: Set[int] = set()
    _lines(MAIN_THREAD, 0, out, seen)
    _others(seen, out)
    return "\n".join(out) + "\n"


def dump_threads(file: Optional[TextIO] = None) -> None:
    """Write the thread tree from MAIN_THREAD to `file` (default stderr).

    Each thread gets a line with its name and state: `running`, `waiting on
    Lock 'totals' for 3.2 s` (what it is blocked on, by name, and for how
    long), `stopping` (please_stop fired; `stopping, waiting on ...` when it
    also waits) or `stopped`; then its current stack. Threads mo_threads does
    not know (plain `threading` threads) follow under "Other threads". Blocks
    on nothing; threads that start or stop meanwhile may be missed or shown
    twice. The calling thread's own stack ends in this call.
    """
    target = file if file is not None else sys.stderr
    target.write(dump_text())
    flush = getattr(target, "flush", None)
    if flush is not None:
        flush()


def _signal_dump_text() -> str:
    return "mo_threads: thread dump of process " + str(os.getpid()) + "\n" + dump_text()


_os_signals.set_dumper(_signal_dump_text)


def dump_on_signal(signum: Optional[int] = None) -> int:
    """Make `signum` (default SIGUSR1) write the thread dump to stderr; returns the signal number.

    The program goes on running: nothing is stopped or interrupted. SIGUSR1 is
    set up this way by default when the first Thread is made, unless the
    program handles (or ignores) SIGUSR1 itself; call this to set it up
    earlier, over the program's own handler, or for another signal. Then
    `kill -USR1 <pid>` dumps the threads of a running, or hung, program.
    Must be called from the main thread. Raises ValueError for SIGINT/SIGTERM,
    off the main thread, or when the platform has no SIGUSR1 and no signal is
    named; TypeError for a signum that is not an int.
    """
    return int(_os_signals.install_dump(signum))  # a plain int (on 3.8 an enum would print as Signals.SIGUSR1)
