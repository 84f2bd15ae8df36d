"""Blocking metrics: how often, and how long, threads were blocked, and on what.

    import mo_threads
    ...
    stats = mo_threads.statistics()
    stats["threads"]["worker"]            # {"waits": 12, "seconds": 3.4}
    stats["primitives"]["Lock 'totals'"]  # {"waits": 7, "seconds": 2.9}
    mo_threads.reset_statistics()         # start counting afresh

Every blocking primitive records the slow path of its waits (the part that
parks the thread; a wait that returns at once is not counted) in the wait
registry, `_blocking`, and the waits that last at least the wait threshold
(1 ms by default, `set_wait_threshold(seconds)`) are counted: one wait per
blocking call, counted when it ends, under
the waiting thread's name and under the primitive's kind and name
(`Lock 'totals'`, `Signal 'stopped worker'`, `join 'worker'`; an unnamed
primitive counts under its kind alone). A shorter wait, such as most
hand-offs between threads, is not counted: the woken thread would count it
before it could go on, on the path of every hand-off. It still shows in a dump
while it lasts, and deadlock detection sees it. When profiling is enabled
(`profiles.enable_profilers(filename)`), the totals are written next to the
profile at exit, by `write_statistics`.
"""

from __future__ import annotations

import os
from typing import Dict, List, Tuple

from mo_threads._blocking import DEFAULT_WAIT_THRESHOLD
from mo_threads._blocking import reset_statistics as _reset_statistics
from mo_threads._blocking import set_wait_threshold as _set_wait_threshold
from mo_threads._blocking import statistics as _statistics
from mo_threads._blocking import wait_threshold as _wait_threshold

__all__ = (
    "statistics",
    "reset_statistics",
    "set_wait_threshold",
    "wait_threshold",
    "DEFAULT_WAIT_THRESHOLD",
    "write_statistics",
    "statistics_filename",
    "COLUMNS",
)

COLUMNS = ("kind", "name", "waits", "seconds")


def statistics() -> Dict[str, Dict[str, Dict[str, float]]]:
    """Blocking totals since the start (or the last reset), per thread and per named primitive.

    Returns `{"threads": {thread name: {"waits": n, "seconds": s}},
    "primitives": {"Lock 'totals'": {"waits": n, "seconds": s}, ...}}`, a new
    dict the caller may keep. `waits` counts finished blocking waits that
    lasted at least the wait threshold (`set_wait_threshold`; a wait still in
    progress is counted when it ends); `seconds` is the time they spent
    blocked, each from its start. Threads are counted by name: two threads of the same name
    share a total. Never blocks for long (one short internal lock).
    """
    return _statistics()


def reset_statistics() -> None:
    """Forget every total gathered so far; waits in progress are counted when they end."""
    _reset_statistics()


def set_wait_threshold(seconds: float) -> float:
    """Count only the waits that last at least `seconds` (default 0.001); returns the previous threshold.

    0 counts every wait that parks, at the price of counting on the path of
    every hand-off between threads (the woken thread counts before it goes
    on). A larger threshold keeps `statistics()` to the waits that matter;
    dumps and deadlock detection see every wait whatever the threshold. Takes
    0 to 1 second: raises TypeError for a value that is not a number,
    ValueError outside that range. Applies to the waits that end afterwards,
    in every thread.
    """
    return _set_wait_threshold(seconds)


def wait_threshold() -> float:
    """How long a wait must last to be counted, in seconds (see `set_wait_threshold`)."""
    return _wait_threshold()


def statistics_filename(profile_filename: str) -> str:
    """Where the totals go next to a profile: `profile.tab` -> `profile.blocking.tab`."""
    stem, extension = os.path.splitext(profile_filename)
    return stem + ".blocking" + (extension or ".tab")


def _rows() -> List[Tuple[str, str, str, str]]:
    found = _statistics()
    rows: List[Tuple[float, Tuple[str, str, str, str]]] = []
    for kind, key in (("thread", "threads"), ("primitive", "primitives")):
        for name, totals in found[key].items():
            seconds = float(totals["seconds"])
            clean = name.replace("\t", " ").replace("\n", " ")
            rows.append((seconds, (kind, clean, str(int(totals["waits"])), "%.6f" % seconds)))
    rows.sort(key=lambda row: (row[1][0] != "thread", -row[0]))
    return [row for _, row in rows]


def write_statistics(filename: str) -> str:
    """Write the blocking totals to `filename` as tab-separated text; returns `filename`.

    A header row (`kind name waits seconds`), then one row per thread (kind
    `thread`), then one per primitive (kind `primitive`), each group longest
    blocked first. Creates the directory if needed; raises OSError when the
    file can not be written.
    """
    filename = str(filename)
    directory = os.path.dirname(os.path.abspath(filename))
    os.makedirs(directory, exist_ok=True)
    with open(filename, "w", encoding="utf8") as output:
        output.write("\t".join(COLUMNS) + "\n")
        for row in _rows():
            output.write("\t".join(row) + "\n")
    return filename
