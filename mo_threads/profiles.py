"""cProfile across threads: one aggregated profile for the whole program.

    from mo_threads import profiles
    profiles.enable_profilers("profile.tab")   # mo-logs does this for cprofile=
    ...                                        # at exit: profile.tab is written

    with profiles.CProfiler() as block:        # one block, on its own
        work()
    block.stats.print_stats(10)

Theory of operation
-------------------
Before Python 3.12 a `cProfile.Profile` sees only the thread that enabled it,
so every thread gets a profiler of its own:

* the thread calling `enable_profilers()` is profiled at once;
* mo_threads threads, and alien threads when they register (`RegisterThread`,
  `current_thread()`), through the `_registry.ON_START` / `ON_END` hooks;
* plain `threading` threads started afterwards, through `threading.setprofile`
  (the hook enables a profiler on the new thread's first call, and steps aside).

Threads already running when profiling starts can not be reached (CPython has
no way to set another thread's profiler). When a thread ends through the
registry its stats are folded into the aggregate at once; profilers of threads
that never said goodbye are read (a snapshot) when the profile is written.

From Python 3.12 cProfile is built on `sys.monitoring`, which sees every thread
and allows one active profiler per process: one profiler, enabled by
`enable_profilers()`, covers every thread, existing ones included.

Next to the profile goes the blocking metrics file (`profile.blocking.tab`,
see `mo_threads.metrics`): per thread and per named primitive, the number of
blocking waits and the seconds spent in them.

All the state lives in one collector object, `cprofiler_stats`, guarded by its
lock. `write_profiles()` runs at interpreter exit (after `stop_main_thread()`
has joined every thread) and writes one tab-separated file: a header, then one
row per function: calls, self time, total time, file, line, name
(`profile_utils.stats2tab` makes that table from any `pstats.Stats`).
"""

from __future__ import annotations

import _thread
import atexit
import cProfile
import gc
import os
import pstats
import sys
import threading
from typing import Any, Dict, List, Optional, Tuple

from mo_logs import logger

from mo_threads import _registry, _runtime
from mo_threads.metrics import statistics_filename, write_statistics
from mo_threads.profile_utils import COLUMNS as COLUMNS
from mo_threads.profile_utils import stats2tab
from mo_threads.threads import MAIN_THREAD, stop_main_thread

__all__ = ("CProfiler", "enable_profilers", "disable_profilers", "write_profiles", "cprofiler_stats")

# before 3.12 a profiler sees its own thread only; from 3.12 (sys.monitoring) it sees all
_PER_THREAD = sys.version_info < (3, 12)
DEFAULT_FILENAME = "profile.tab"

_local = threading.local()  # .profiler: the collector's profiler for this thread, if any


class _Snapshot:
    """What `pstats.Stats` needs from a profiler: `create_stats()` and `stats`."""

    __slots__ = ("stats",)

    def __init__(self, stats: Dict[Any, Any]) -> None:
        self.stats = stats

    def create_stats(self) -> None:
        pass


class _Collector:
    """Every profiler of the program and the aggregate of the finished ones.

    `lock` guards every field (made anew in a forked child, `after_fork`).
    `running` maps id(profiler) to (profiler, OS thread id) for profilers still
    collecting; `finished` aggregates the stats of profilers that ended.
    """

    __slots__ = ("lock", "enabled", "filename", "running", "finished", "hooked", "exit_hook", "thread_hook")

    def __init__(self) -> None:
        self.lock = _thread.allocate_lock()
        self.enabled = False
        self.filename: Optional[str] = None
        self.running: Dict[int, Tuple[cProfile.Profile, int]] = {}
        self.finished = pstats.Stats()
        self.hooked = False
        self.exit_hook = False
        self.thread_hook = False

    def add_running(self, profiler: cProfile.Profile) -> None:
        with self.lock:
            self.running[id(profiler)] = (profiler, _thread.get_ident())

    def fold_stale(self) -> None:
        """Fold into the aggregate a profiler left under the calling thread's id, and drop it.

        A plain thread ends without telling us, leaving its profiler in `running`;
        the OS reuses thread ids, so one found under this thread's id is of a thread
        that ended. Call it before this thread enables its own profiler: freeing an
        enabled profiler turns off profiling on the thread that frees it.
        """
        ident = _thread.get_ident()
        with self.lock:
            stale = [other for other, owner in self.running.values() if owner == ident]
            for other in stale:
                del self.running[id(other)]
        for other in stale:
            stats = _stats_of(other, running=True, ended=True)  # its thread ended: the id is ours now
            if stats is not None:
                with self.lock:
                    self.finished.add(stats)

    def finish(self, profiler: cProfile.Profile) -> None:
        """Fold a profiler that was disabled by its own thread into the aggregate."""
        stats = _stats_of(profiler, running=False)
        with self.lock:
            self.running.pop(id(profiler), None)
            if stats is not None:
                self.finished.add(stats)

    def aggregate(self) -> pstats.Stats:
        """A new Stats: the finished profilers plus a snapshot of the running ones."""
        with self.lock:
            total = pstats.Stats()
            if self.finished.stats:  # type: ignore[attr-defined]
                total.add(self.finished)
            running = list(self.running.values())
        for profiler, owner in running:
            stats = _stats_of(profiler, running=True, owner=owner)
            if stats is not None:
                total.add(stats)
        return total

    def reset(self) -> None:
        """Forget every collected stat (tests use this); running profilers stay registered."""
        with self.lock:
            self.finished = pstats.Stats()

    def after_fork(self) -> None:
        """In a forked child: a new lock, as a thread that is gone may have held it.

        What was collected before the fork stays (the child's profile includes
        it); a profiler of a thread that is gone is only read from now on, and
        folded when its thread id is reused (`fold_stale`).
        """
        self.lock = _thread.allocate_lock()


cprofiler_stats = _Collector()
_runtime.on_fork("profiles", cprofiler_stats.after_fork)


def _stats_of(
    profiler: cProfile.Profile, running: bool, owner: Optional[int] = None, ended: bool = False
) -> Optional[pstats.Stats]:
    """The profiler's stats as a `pstats.Stats`, or None when it saw nothing.

    A profiler still running on another thread (`owner`, its OS thread id) is
    only read (`getstats()`), never disabled: disabling would act on the
    calling thread and pop the other thread's call stack. PyPy refuses to read
    an enabled profiler: there one whose thread `ended` (or is no longer
    alive: a plain thread ends without telling us) is disabled first, on a thread of its own
    (`_disable_elsewhere`), and one whose thread still runs counts as having
    seen nothing until its thread ends.
    """
    if running:
        enabled = gc.isenabled()
        gc.disable()  # no finalizer may run Python code while the entries are read
        try:
            entries = profiler.getstats()
        except RuntimeError:
            # PyPy: "Profiler instance must be disabled before getting the stats"
            if not ended and (owner is None or owner in sys._current_frames()):
                return None  # its thread still runs: it is read once that thread ends
            _disable_elsewhere(profiler)
            return _stats_of(profiler, running=False)
        finally:
            if enabled:
                gc.enable()
        snapshot = _Snapshot({})
        _fill(snapshot.stats, entries)
        source: Any = snapshot
    else:
        profiler.create_stats()
        source = profiler
    if not source.stats:
        return None
    return pstats.Stats(source)


def _disable_elsewhere(profiler: cProfile.Profile) -> None:
    """Disable the enabled profiler of a thread that ended, from a new bare thread.

    `disable()` also turns off the profiling of the thread that calls it: a
    `_thread` thread has none (threading's profile hook does not reach it), so
    the calling thread's profiler, or its `CProfiler` block, runs on untouched.
    """
    done = _thread.allocate_lock()
    done.acquire()

    def disable() -> None:
        try:
            profiler.disable()
        finally:
            done.release()

    _thread.start_new_thread(disable, ())
    done.acquire()


def _fill(stats: Dict[Any, Any], entries: List[Any]) -> None:
    # the same shape as cProfile.Profile.snapshot_stats builds
    callersdicts: Dict[int, Dict[Any, Any]] = {}
    for entry in entries:
        func = _label(entry.code)
        nc = entry.callcount
        cc = nc - entry.reccallcount
        callers: Dict[Any, Any] = {}
        callersdicts[id(entry.code)] = callers
        stats[func] = cc, nc, entry.inlinetime, entry.totaltime, callers
    for entry in entries:
        if entry.calls:
            func = _label(entry.code)
            for sub in entry.calls:
                try:
                    callers = callersdicts[id(sub.code)]
                except KeyError:
                    continue
                nc = sub.callcount
                cc = nc - sub.reccallcount
                tt = sub.inlinetime
                ct = sub.totaltime
                if func in callers:
                    prev = callers[func]
                    nc += prev[0]
                    cc += prev[1]
                    tt += prev[2]
                    ct += prev[3]
                callers[func] = nc, cc, tt, ct


def _label(code: Any) -> Tuple[str, int, str]:
    if isinstance(code, str):
        return ("~", 0, code)
    return (code.co_filename, code.co_firstlineno, code.co_name)


# --- per-thread profilers ------------------------------------------------------
def _start_here() -> Optional[cProfile.Profile]:
    """Start a profiler on the calling thread, unless it has one (3.12+: unless one runs)."""
    if getattr(_local, "profiler", None) is not None:
        return None
    if not _PER_THREAD and cprofiler_stats.running:
        return None  # one profiler sees every thread
    if cprofiler_stats.running:
        cprofiler_stats.fold_stale()  # frees it here, while this thread is not profiled yet
    profiler = cProfile.Profile()
    profiler.enable()
    _local.profiler = profiler
    cprofiler_stats.add_running(profiler)
    return profiler


def _finish_here() -> None:
    """Stop the calling thread's profiler and fold its stats into the aggregate."""
    profiler = getattr(_local, "profiler", None)
    if profiler is None:
        return
    _local.profiler = None
    profiler.disable()
    cprofiler_stats.finish(profiler)


def _on_thread_start(thread: Any) -> None:
    # registry hook, on the new thread: must never raise into the thread's start
    if not cprofiler_stats.enabled:
        return
    try:
        _start_here()
        thread.cprofiler = getattr(_local, "profiler", None)
    except Exception as cause:
        logger.warning("Can not profile thread {name|quote}", name=getattr(thread, "name", "?"), cause=cause)


def _on_thread_end(thread: Any) -> None:
    try:
        thread.cprofiler = None
        _finish_here()
    except Exception as cause:
        logger.warning("Can not collect the profile of thread {name|quote}", name=getattr(thread, "name", "?"), cause=cause)


def _threading_profile_hook(frame: Any, event: str, arg: Any) -> None:
    # set by threading.setprofile: the first event on a new plain thread starts
    # a real profiler there, which replaces this hook for that thread
    if cprofiler_stats.enabled:
        try:
            if _start_here() is not None:
                return
        except Exception as cause:
            logger.warning("Can not profile thread {name|quote}", name=threading.current_thread().name, cause=cause)
    sys.setprofile(None)  # no profiler here: stop calling this hook on this thread


# --- public API -----------------------------------------------------------------
def enable_profilers(filename: Optional[str] = None) -> None:
    """Profile every thread from now on; the aggregate is written to `filename` at exit.

    Profiles the calling thread, every thread started afterwards, and alien
    threads when they register. Threads already running are profiled too on
    Python 3.12+, but not before (CPython can not reach them). Calling it again
    only changes the filename. `filename` defaults to "profile.tab".
    """
    if filename is not None and not isinstance(filename, str):
        filename = str(filename)  # a path-like object, or mo-files File
    with cprofiler_stats.lock:
        if filename:
            cprofiler_stats.filename = filename
        elif cprofiler_stats.filename is None:
            cprofiler_stats.filename = DEFAULT_FILENAME
        if cprofiler_stats.enabled:
            return
        cprofiler_stats.enabled = True
        if not cprofiler_stats.exit_hook:
            cprofiler_stats.exit_hook = True
            atexit.register(_write_at_exit)
        if _PER_THREAD and not cprofiler_stats.hooked:
            cprofiler_stats.hooked = True
            _registry.ON_START.append(_on_thread_start)
            _registry.ON_END.append(_on_thread_end)
    if _PER_THREAD:
        getprofile = getattr(threading, "getprofile", None)
        if getprofile is None or getprofile() is None:
            threading.setprofile(_threading_profile_hook)
            cprofiler_stats.thread_hook = True
    try:
        _start_here()
    except ValueError as cause:
        # 3.12+: another profiler (a debugger, an outer cProfile) holds the profiling slot
        logger.warning("Can not enable cProfile: another profiler is active", cause=cause)


def disable_profilers() -> None:
    """Stop profiling new threads, and stop the calling thread's profiler.

    Its stats are kept for `write_profiles()`. Profilers running on other
    threads (before 3.12) stop when their threads end.
    """
    with cprofiler_stats.lock:
        cprofiler_stats.enabled = False
        thread_hook, cprofiler_stats.thread_hook = cprofiler_stats.thread_hook, False
    if thread_hook:
        getprofile = getattr(threading, "getprofile", None)
        if getprofile is None or getprofile() is _threading_profile_hook:
            threading.setprofile(None)  # type: ignore[arg-type]
    if _PER_THREAD:
        _finish_here()
    else:
        with cprofiler_stats.lock:
            running = [p for p, _ in cprofiler_stats.running.values()]
        for profiler in running:
            profiler.disable()
            cprofiler_stats.finish(profiler)
        _local.profiler = None


def write_profiles(filename: Optional[str] = None) -> Optional[str]:
    """Write one profile aggregated over every thread, as tab-separated text.

    A header row, then one row per function, slowest total first: calls, self
    time, total time (seconds), file, line, name. Profilers still running are
    read, not stopped. The blocking metrics (`mo_threads.statistics()`) are
    written next to it, `profile.tab` -> `profile.blocking.tab` (see
    `metrics.write_statistics`). Returns the profile's filename, or None when
    profiling was never enabled and no `filename` is given.
    """
    filename = filename or cprofiler_stats.filename
    if not filename:
        return None
    table = stats2tab(cprofiler_stats.aggregate())
    directory = os.path.dirname(os.path.abspath(filename))
    os.makedirs(directory, exist_ok=True)
    with open(filename, "w", encoding="utf8") as output:
        output.write(table)
    write_statistics(statistics_filename(filename))
    return filename


def _write_at_exit() -> None:
    if not cprofiler_stats.enabled and not cprofiler_stats.filename:
        return
    try:
        if not MAIN_THREAD.stopped:
            # join every thread first, so their profiles are complete
            stop_main_thread()
        disable_profilers()
        write_profiles()
    except Exception as cause:
        sys.stderr.write("mo_threads: failed to write the profile: " + repr(cause) + "\n")


class CProfiler:
    """Profile the block on the calling thread: `with CProfiler() as p: ...`.

    After the block, `p.stats` is a `pstats.Stats` of the block (None when
    nothing ran): of the calling thread alone before Python 3.12; from 3.12
    CPython's profiler is process-wide, so it also holds what other threads ran
    during the block. When profiling is enabled for the program, the block is also
    counted in the aggregate profile. With `filename=`, the block's profile is
    written there (the same format as `write_profiles`). A thread's profiler
    is paused for the block and resumed after it. On Python 3.12+ entering
    raises ValueError when another tool (a debugger, an outer cProfile that
    is not ours) holds the profiling slot.
    """

    __slots__ = ("filename", "profiler", "stats", "_paused")

    def __init__(self, filename: Optional[str] = None) -> None:
        self.filename = filename
        self.profiler: Optional[cProfile.Profile] = None
        self.stats: Optional[pstats.Stats] = None
        self._paused: Optional[cProfile.Profile] = None

    def __enter__(self) -> CProfiler:
        if self.profiler is not None:
            raise RuntimeError("CProfiler is already running; make one per block")
        if _PER_THREAD:
            paused = getattr(_local, "profiler", None)
        else:
            with cprofiler_stats.lock:
                paused = next(iter(cprofiler_stats.running.values()), (None, 0))[0]
        if paused is not None:
            paused.disable()
            self._paused = paused
        profiler = cProfile.Profile()
        try:
            profiler.enable()
        except ValueError:
            if paused is not None:
                paused.enable()
                self._paused = None
            raise
        self.profiler = profiler
        return self

    def __exit__(self, *exc_info: Any) -> None:
        profiler, self.profiler = self.profiler, None
        if profiler is None:
            return
        profiler.disable()
        self.stats = _stats_of(profiler, running=False)
        paused, self._paused = self._paused, None
        if paused is not None:
            if self.stats is not None:
                with cprofiler_stats.lock:
                    cprofiler_stats.finished.add(self.stats)
            paused.enable()
        elif cprofiler_stats.enabled and self.stats is not None:
            with cprofiler_stats.lock:
                cprofiler_stats.finished.add(self.stats)
        if self.filename:
            with open(self.filename, "w", encoding="utf8") as output:
                output.write(stats2tab(self.stats))
