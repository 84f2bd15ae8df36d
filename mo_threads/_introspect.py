"""Thread tree dump (internal; `dump_threads` is exported by mo_threads)."""

from __future__ import annotations

import sys
from typing import Any, List, Optional, TextIO

from mo_threads._watchdog import describe_stack


def _state(thread: Any) -> str:
    if thread.stopped:
        return "stopped"
    if thread.please_stop:
        return "stopping"
    return "running"


def _lines(thread: Any, depth: int, out: List[str]) -> None:
    indent = "    " * depth
    out.append(indent + "- " + str(thread.name) + " [" + _state(thread) + "]")
    for line in describe_stack(getattr(thread, "ident", None)).splitlines():
        out.append(indent + "    " + line)
    for child in list(thread.children):
        _lines(child, depth + 1, out)


def dump_threads(file: Optional[TextIO] = None) -> None:
    """Write the thread tree from MAIN_THREAD (name, state, current stack) to `file` (default stderr).

    Blocks on nothing; threads that start or stop meanwhile may be missed or shown twice.
    """
    from mo_threads.threads import MAIN_THREAD

    out: List[str] = []
    _lines(MAIN_THREAD, 0, out)
    (file or sys.stderr).write("\n".join(out) + "\n")
