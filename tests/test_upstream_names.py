"""Module-level names of mo-threads 6.x that code imports (issue 19, point 14).

`UPSTREAM` lists every public module-level name of upstream's modules, module by
module, as found in the mo-threads 6.704.26062 sdist: what it defines, and what it
merely imports (an attribute all the same). Each is either in `PROVIDED` (it
imports from the same module here, and does that job: see `BEHAVIOUR`) or in
`EXCLUDED` with the reason. Upstream is not read at test time; set
MO_THREADS_UPSTREAM to the directory of upstream's `mo_threads` package to check
`UPSTREAM` against it.
"""

from __future__ import annotations

import ast
import functools
import gc
import importlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any, Callable, Dict, Iterator, List, Set, Tuple

import pytest
from mo_logs import logger as mo_logger

import mo_threads
from mo_threads.commands import SESSIONS
from tests.helpers import REPO, child_env, run_python

# --- what upstream has --------------------------------------------------------------
# every public (not _-prefixed) name bound at module level in mo-threads 6.704.26062
UPSTREAM: Dict[str, Tuple[str, ...]] = {
    "mo_threads": (
        "Command", "DONE", "Future", "Lock", "MainThread", "NEVER", "PLEASE_STOP", "Process", "Queue", "Signal",
        "THREAD_STOP", "THREAD_TIMEOUT", "Thread", "ThreadPool", "ThreadedQueue", "Till", "coverage_detector",
        "current_thread", "export", "join_all_threads", "register_thread", "start_main_thread", "stop_main_thread",
        "threads", "wait_for_shutdown_signal",
    ),
    "mo_threads.busy_lock": ("BusyLock", "sleep"),
    "mo_threads.commands": (
        "AVAIL_TIMEOUT", "Command", "DEBUG", "Data", "Date", "END_OF_COMMAND_MARKER", "INUSE_TIMEOUT",
        "LAST_RETURN_CODE", "LifetimeManager", "Lock", "PLEASE_STOP", "PROMPT", "Process", "Queue", "SECOND",
        "STALE_MAX_AGE", "START_TIMEOUT", "Signal", "Thread", "Till", "cmd", "cmd_escape", "from_data", "is_windows",
        "json", "lifetime_manager", "lifetime_manager_locker", "logger", "os", "os_path", "quote", "set_prompt",
        "threads", "to_data", "to_text", "unix_now",
    ),
    "mo_threads.futures": ("Future", "Signal"),
    "mo_threads.lock": ("DEBUG", "Lock", "Signal", "decorate", "locked", "logger", "quote"),
    "mo_threads.pools": ("PLEASE_STOP", "Queue", "Thread", "ThreadPool", "join_all_threads", "worker"),
    "mo_threads.processes": (
        "ALL", "ALL_LOCK", "DEBUG", "Date", "EOL", "EndOfThread", "Except", "Null", "PLEASE_STOP", "Process", "Queue",
        "Signal", "Status", "Thread", "Till", "Timer", "allocate_lock", "dataclass", "is_windows", "logger",
        "next_process_id", "next_process_id_locker", "os", "os_path", "strings", "subprocess", "unix_now",
    ),
    "mo_threads.profile_utils": ("list2tab", "stats2tab", "value2json"),
    "mo_threads.profiles": (
        "ALL", "ALL_LOCK", "CProfiler", "DEBUG", "Date", "FILENAME", "File", "Queue", "Thread", "cProfile",
        "cprofiler_stats", "enable_profilers", "logger", "pstats", "stats2tab", "write_profiles",
    ),
    "mo_threads.python": (
        "DEBUG", "DONE", "Except", "Lock", "PLEASE_STOP", "Process", "Python", "Signal", "Thread", "from_data",
        "is_windows", "json2value", "logger", "os", "python_worker", "sys", "to_data", "value2json",
    ),
    "mo_threads.python_worker": (
        "DEBUG", "DONE", "Except", "RawLogger", "STDERR", "STDIN", "STDOUT", "Signal", "StructuredLogger", "coalesce",
        "command_loop", "constants", "context", "copy", "is_list", "json2value", "listwrap", "logger", "num_temps",
        "os", "please_stop", "start", "temp_var", "to_data", "value2json",
    ),
    "mo_threads.queues": (
        "DEBUG", "DEFAULT_WAIT_TIME", "Empty", "Except", "Full", "Lock", "Null", "PLEASE_STOP", "PriorityQueue",
        "Queue", "Signal", "THREAD_TIMEOUT", "Thread", "ThreadedQueue", "Till", "coalesce", "copy", "deque", "logger",
        "time", "types",
    ),
    "mo_threads.repeat": (
        "Date", "Duration", "MAIN_THREAD", "Repeat", "Signal", "Thread", "Till", "is_null", "is_text", "logger",
        "show_message",
    ),
    "mo_threads.schedule": (
        "Data", "Date", "Duration", "JOBS_WAITING_TIME", "MAX_RUNTIME", "NO_JOB_WAITING_TIME", "Process", "Schedule",
        "Thread", "Till", "WAIT_FOR_SHUTDOWN", "coalesce", "logger", "monitor", "override", "schedules",
    ),
    "mo_threads.signals": (
        "AndSignals", "DEBUG", "DONE", "Except", "MAX_NAME_LENGTH", "NEVER", "Never", "OrSignal", "Signal",
        "TRACE_THEN", "current_thread", "debug_warning", "expect", "get_stacktrace", "is_null", "logger", "or_signal",
        "quote", "ref", "standard_warning", "threads",
    ),
    "mo_threads.threads": (
        "ALL", "ALL_LOCK", "ALL_THREAD", "AlienThread", "AndSignals", "BaseThread", "COVERAGE_COLLECTOR", "DEBUG",
        "DEFAULT_WAIT_TIME", "ERROR", "EndOfThread", "Except", "IN_DEBUGGER", "KNOWN_DEBUGGERS", "MAIN_THREAD",
        "MAX_DATETIME", "MO_LOGS_EXTRAS", "MainThread", "Null", "PARENT_THREAD", "PLEASE_STOP", "RegisterThread",
        "STDERR", "STDIN", "STDOUT", "Signal", "THREAD_TIMEOUT", "TIMERS_NAME", "Thread", "Till", "allocate_lock",
        "cprofiler_stats", "current_thread", "datetime", "decorate", "exists", "expand_template", "export",
        "get_function_name", "get_ident", "is_daemon", "join_all_threads", "logger", "namedtuple", "raise_from_none",
        "register_thread", "safe_info", "sleep", "start_main_thread", "stop_main_thread", "sys", "threading",
        "timedelta", "traceback", "unwraplist", "wait_for_join", "wait_for_shutdown_signal",
    ),
    "mo_threads.till": (
        "DEBUG", "DONE", "INTERVAL", "Signal", "TIMERS_NAME", "Till", "TodoItem", "actual_time", "daemon", "enabled",
        "logger", "namedtuple", "ref", "sleep", "time", "warning_not_sent",
    ),
}

# --- what we provide: each imports from the same module, and does the same job ---------
PROVIDED: Dict[str, Tuple[str, ...]] = {
    "mo_threads": (
        "Command", "DONE", "Future", "Lock", "MainThread", "NEVER", "PLEASE_STOP", "Process", "Queue", "Signal",
        "THREAD_STOP", "THREAD_TIMEOUT", "Thread", "ThreadPool", "ThreadedQueue", "Till", "current_thread",
        "join_all_threads", "register_thread", "start_main_thread", "stop_main_thread", "wait_for_shutdown_signal",
    ),
    "mo_threads.busy_lock": ("BusyLock",),
    "mo_threads.commands": ("Command",),
    "mo_threads.futures": ("Future",),
    "mo_threads.lock": ("Lock", "locked"),
    "mo_threads.pools": ("ThreadPool",),
    "mo_threads.processes": ("Process",),
    "mo_threads.profile_utils": ("list2tab", "stats2tab"),
    "mo_threads.profiles": ("CProfiler", "cprofiler_stats", "enable_profilers", "write_profiles"),
    "mo_threads.python": ("Python",),
    "mo_threads.python_worker": ("start",),
    "mo_threads.queues": ("PriorityQueue", "Queue", "ThreadedQueue"),
    "mo_threads.repeat": ("Repeat",),
    "mo_threads.schedule": (),
    "mo_threads.signals": ("AndSignals", "DONE", "NEVER", "Never", "OrSignal", "Signal", "or_signal", "standard_warning"),
    "mo_threads.threads": (
        "AlienThread", "BaseThread", "MAIN_THREAD", "MainThread", "PLEASE_STOP", "RegisterThread", "THREAD_TIMEOUT",
        "Thread", "current_thread", "join_all_threads", "register_thread", "start_main_thread", "stop_main_thread",
        "wait_for_shutdown_signal",
    ),
    "mo_threads.till": ("Till",),
}

# --- what we do not provide, and why ----------------------------------------------------
IMPORTED = "imported there from the standard library or another mo-* package: not API of this module"
REIMPORTED = "imported there from another mo_threads module: import it from that module (or from mo_threads)"
DEBUG_SWITCH = (
    "debug switch that made 6.x print its internals; there are no such prints here "
    "(use dump_threads(), statistics()): setting it through mo-logs `constants` fails, see docs/guide/migrating.md"
)
STATE = "internal state of 6.x machinery (a registry, counter, lock or flag), not a service; the machinery differs here"
HELPER = "a piece of 6.x machinery (a thread body or internal helper) that the public class runs for you"
TUNING = "tuning constant of 6.x machinery that does not exist here (no polling, no shared lifetime manager)"
PLATFORM = "platform plumbing of 6.x internals (shell prompt, line ending, byte streams), not a service"
SCHEDULE = (
    "mo_threads.schedule does not work in 6.x: Schedule() always raises (its __init__ calls a method that does not "
    "exist), nothing ever appends to `schedules`, and importing the module starts a monitor thread; use Repeat"
)
WORKER_INSIDE = "inside the worker process of Python(): its protocol loop and state, not something to import"

EXCLUDED: Dict[str, Dict[str, str]] = {
    "mo_threads": {
        "coverage_detector": "run once by 6.x at import to notice coverage.py; nothing to call",
        "export": IMPORTED,
        "threads": "6.x deleted this name after use; the submodule is `mo_threads.threads`, as ever",
    },
    "mo_threads.busy_lock": {"sleep": IMPORTED},
    "mo_threads.commands": {
        **{name: IMPORTED for name in ("Data", "Date", "SECOND", "from_data", "is_windows", "json", "logger", "os",
                                       "quote", "to_data", "unix_now")},
        **{name: REIMPORTED for name in ("Lock", "PLEASE_STOP", "Process", "Queue", "Signal", "Thread", "Till",
                                         "os_path", "threads")},
        "DEBUG": DEBUG_SWITCH,
        **{name: TUNING for name in ("AVAIL_TIMEOUT", "INUSE_TIMEOUT", "STALE_MAX_AGE", "START_TIMEOUT")},
        "END_OF_COMMAND_MARKER": PLATFORM,
        "LAST_RETURN_CODE": PLATFORM,
        "PROMPT": PLATFORM,
        "cmd": PLATFORM,
        "cmd_escape": PLATFORM + " (shlex.quote on POSIX)",
        "set_prompt": PLATFORM,
        "to_text": PLATFORM,
        "LifetimeManager": HELPER + " (the shell sessions of Command)",
        "lifetime_manager": STATE,
        "lifetime_manager_locker": STATE,
    },
    "mo_threads.futures": {"Signal": REIMPORTED},
    "mo_threads.lock": {
        "DEBUG": DEBUG_SWITCH,
        "Signal": REIMPORTED,
        "decorate": IMPORTED,
        "logger": IMPORTED,
        "quote": IMPORTED,
    },
    "mo_threads.pools": {
        **{name: REIMPORTED for name in ("PLEASE_STOP", "Queue", "Thread", "join_all_threads")},
        "worker": HELPER + " (the body of a pool's worker threads)",
    },
    "mo_threads.processes": {
        **{name: IMPORTED for name in ("Date", "Except", "Null", "Timer", "allocate_lock", "dataclass", "is_windows",
                                       "logger", "os", "strings", "subprocess", "unix_now")},
        **{name: REIMPORTED for name in ("ALL", "ALL_LOCK", "EndOfThread", "PLEASE_STOP", "Queue", "Signal", "Thread",
                                         "Till")},
        "DEBUG": DEBUG_SWITCH,
        "EOL": PLATFORM,
        "Status": HELPER + " (when a pipe last spoke)",
        "next_process_id": STATE,
        "next_process_id_locker": STATE,
        "os_path": HELPER + " shared with 6.x commands.py; it returns the path unchanged on POSIX",
    },
    "mo_threads.profile_utils": {"value2json": IMPORTED + " (json.dumps)"},
    "mo_threads.profiles": {
        **{name: IMPORTED for name in ("Date", "File", "cProfile", "logger", "pstats")},
        **{name: REIMPORTED for name in ("ALL", "ALL_LOCK", "Queue", "Thread", "stats2tab")},
        "DEBUG": DEBUG_SWITCH,
        "FILENAME": STATE + " (the file name is enable_profilers(filename)'s argument; write_profiles() returns it)",
    },
    "mo_threads.python": {
        **{name: IMPORTED for name in ("Except", "from_data", "is_windows", "json2value", "logger", "os", "sys",
                                       "to_data", "value2json")},
        **{name: REIMPORTED for name in ("DONE", "Lock", "PLEASE_STOP", "Process", "Signal", "Thread",
                                         "python_worker")},
        "DEBUG": DEBUG_SWITCH,
    },
    "mo_threads.python_worker": {
        **{name: IMPORTED for name in ("Except", "StructuredLogger", "coalesce", "constants", "copy", "is_list",
                                       "json2value", "listwrap", "logger", "os", "to_data", "value2json")},
        **{name: REIMPORTED for name in ("STDERR", "STDIN", "STDOUT", "Signal")},
        "DEBUG": DEBUG_SWITCH,
        **{name: WORKER_INSIDE for name in ("DONE", "RawLogger", "command_loop", "context", "num_temps",
                                            "please_stop", "temp_var")},
    },
    "mo_threads.queues": {
        **{name: IMPORTED for name in ("Empty", "Except", "Full", "Null", "coalesce", "copy", "deque", "logger",
                                       "time", "types")},
        **{name: REIMPORTED for name in ("Lock", "PLEASE_STOP", "Signal", "THREAD_TIMEOUT", "Thread", "Till")},
        "DEBUG": DEBUG_SWITCH,
        "DEFAULT_WAIT_TIME": TUNING + " (6.x's 10-minute cap on a blocking add; here it waits for till/timeout)",
    },
    "mo_threads.repeat": {
        **{name: IMPORTED for name in ("Date", "Duration", "is_null", "is_text", "logger")},
        **{name: REIMPORTED for name in ("MAIN_THREAD", "Signal", "Thread", "Till")},
        "show_message": HELPER + " (Repeat('text') logs the text itself)",
    },
    "mo_threads.schedule": {name: SCHEDULE for name in UPSTREAM["mo_threads.schedule"]},
    "mo_threads.signals": {
        **{name: IMPORTED for name in ("Except", "expect", "get_stacktrace", "is_null", "logger", "quote", "ref")},
        "current_thread": REIMPORTED + " (6.x injected it here from threads)",
        "threads": REIMPORTED + " (6.x injected it here)",
        "DEBUG": DEBUG_SWITCH,
        "TRACE_THEN": DEBUG_SWITCH,
        "debug_warning": HELPER + " (the then() error handler of TRACE_THEN)",
        "MAX_NAME_LENGTH": TUNING + " (combination names are shortened by depth here)",
    },
    "mo_threads.threads": {
        **{name: IMPORTED for name in ("ERROR", "Except", "MO_LOGS_EXTRAS", "Null", "allocate_lock", "datetime",
                                       "decorate", "exists", "expand_template", "export", "get_function_name",
                                       "get_ident", "logger", "namedtuple", "raise_from_none", "sleep", "sys",
                                       "threading", "timedelta", "traceback", "unwraplist")},
        **{name: REIMPORTED for name in ("AndSignals", "Signal", "TIMERS_NAME", "Till")},
        "DEBUG": DEBUG_SWITCH,
        "ALL": STATE + " (the registry of live threads: private here, see dump_threads())",
        "ALL_LOCK": STATE,
        "ALL_THREAD": STATE + " (6.x: 'for debugging only')",
        "COVERAGE_COLLECTOR": STATE,
        "IN_DEBUGGER": STATE,
        "KNOWN_DEBUGGERS": STATE,
        "cprofiler_stats": STATE + " (6.x never set this one; profiles.cprofiler_stats is provided)",
        "DEFAULT_WAIT_TIME": TUNING + " (unused in 6.x)",
        "MAX_DATETIME": TUNING + " (unused in 6.x)",
        "PARENT_THREAD": "the string 'parent_thread', unused in 6.x: write the keyword parent_thread=",
        "EndOfThread": HELPER + " (how a 6.x thread kept its result; join() returns it here)",
        "STDERR": PLATFORM,
        "STDIN": PLATFORM,
        "STDOUT": PLATFORM,
        "is_daemon": HELPER + " (threading.Thread.daemon)",
        "safe_info": HELPER,
        "wait_for_join": HELPER + " (6.x's exit hook before Python 3.9)",
    },
    "mo_threads.till": {
        **{name: IMPORTED for name in ("logger", "namedtuple", "ref", "sleep", "time")},
        **{name: REIMPORTED for name in ("DONE", "Signal")},
        "DEBUG": DEBUG_SWITCH,
        "INTERVAL": TUNING + " (6.x polled every INTERVAL seconds; the timer here sleeps to the next deadline)",
        "TIMERS_NAME": STATE + " (the name of 6.x's timer thread)",
        "TodoItem": HELPER,
        "actual_time": HELPER,
        "daemon": HELPER + " (the body of 6.x's timer thread)",
        "enabled": STATE,
        "warning_not_sent": STATE,
    },
}


def _pairs(table: Dict[str, Tuple[str, ...]]) -> List[Tuple[str, str]]:
    return [(module, name) for module, names in sorted(table.items()) for name in names]


def _get(module: str, name: str) -> Any:
    return getattr(importlib.import_module(module), name)


# --- the tables are complete --------------------------------------------------------------
class TestTables:
    def test_provided_and_excluded_cover_upstream_exactly(self) -> None:
        problems = []
        for module, names in UPSTREAM.items():
            provided = set(PROVIDED.get(module, ()))
            excluded = set(EXCLUDED.get(module, {}))
            for name in sorted(provided & excluded):
                problems.append(module + "." + name + " is both provided and excluded")
            for name in sorted(set(names) - provided - excluded):
                problems.append(module + "." + name + " is neither provided nor excluded")
            for name in sorted((provided | excluded) - set(names)):
                problems.append(module + "." + name + " is not an upstream name")
        assert problems == []
        assert set(PROVIDED) == set(UPSTREAM) == set(EXCLUDED)

    def test_every_exclusion_gives_a_reason(self) -> None:
        assert [m + "." + n for m, reasons in EXCLUDED.items() for n, why in reasons.items() if len(why) < 20] == []

    def test_names_are_public_and_unique(self) -> None:
        for table in (UPSTREAM, PROVIDED):
            for module, names in table.items():
                assert len(set(names)) == len(names), module
                assert not [n for n in names if n.startswith("_")], module

    def test_real_packages_imports_are_provided(self) -> None:
        # what mo-logs, mo-sqlite, jx-sqlite, jx-python, mo-times, mo-json-config, mo-files and
        # mo-collections import from mo_threads (their latest releases, read for this test)
        used = {
            "mo_threads": ("Lock", "Queue", "Signal", "THREAD_STOP", "Thread", "Till", "register_thread"),
            "mo_threads.lock": ("locked",),
            "mo_threads.till": ("Till",),
            "mo_threads.profiles": ("enable_profilers",),
        }
        missing = [m + "." + n for m, names in used.items() for n in names if n not in PROVIDED[m]]
        assert missing == []

    def test_against_upstream_source_when_given(self) -> None:
        """Regenerate UPSTREAM from upstream's sources: MO_THREADS_UPSTREAM=<path to its mo_threads/>."""
        path = os.environ.get("MO_THREADS_UPSTREAM")
        if not path:
            pytest.skip("set MO_THREADS_UPSTREAM to upstream's mo_threads directory to compare")
        found = {}
        for filename in sorted(os.listdir(path)):
            if filename.endswith(".py"):
                module = "mo_threads" if filename == "__init__.py" else "mo_threads." + filename[:-3]
                with open(os.path.join(path, filename), encoding="utf8") as source:
                    found[module] = tuple(sorted(_module_level_names(ast.parse(source.read()).body)))
        assert found == {module: tuple(sorted(names)) for module, names in UPSTREAM.items()}


def _module_level_names(body: List[ast.stmt]) -> Set[str]:
    names: Set[str] = set()
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.If):
            names |= _module_level_names(node.body) | _module_level_names(node.orelse)
        elif isinstance(node, ast.Try):
            names |= _module_level_names(node.body) | _module_level_names(node.orelse)
            names |= _module_level_names(node.finalbody)
            for handler in node.handlers:
                names |= _module_level_names(handler.body)
    return {name for name in names if not name.startswith("_")}


# --- each provided name imports from its module -------------------------------------------
@pytest.mark.parametrize("module,name", _pairs(PROVIDED))
def test_imports_from_its_module(module: str, name: str) -> None:
    namespace: Dict[str, Any] = {}
    exec("from " + module + " import " + name, namespace)
    value = namespace[name]
    assert value is _get(module, name)
    if name in mo_threads.__all__:
        # one object, whichever module it is imported from
        assert value is getattr(mo_threads, name)


def test_every_provided_name_has_a_behaviour_check() -> None:
    assert sorted({name for _, name in _pairs(PROVIDED)} - set(BEHAVIOUR)) == []


# --- and does the job ---------------------------------------------------------------------
class _Log:
    def __init__(self) -> None:
        self.lines: List[str] = []

    def write(self, template: str, params: Any) -> None:
        cause = params.get("cause") if hasattr(params, "get") else None
        self.lines.append(template + " CAUSE: " + str(cause))

    def stop(self) -> None:
        pass


def _captured(action: Callable[[], Any]) -> List[str]:
    log = _Log()
    old, mo_logger.main_log = mo_logger.main_log, log
    try:
        action()
    finally:
        mo_logger.main_log = old
    return log.lines


def _in_thread(target: Callable[[], Any]) -> Any:
    result: List[Any] = []
    thread = threading.Thread(target=lambda: result.append(target()), daemon=True)
    thread.start()
    thread.join(10)
    assert result, "the thread did not finish"
    return result[0]


def _signal(Signal: Any) -> None:
    s = Signal("s")
    fired: List[int] = []
    s.then(lambda: fired.append(1))
    assert not s and fired == []
    threading.Timer(0.01, s.go).start()
    assert s.wait(timeout=10) is True
    assert s and fired == [1]


def _done(DONE: Any) -> None:
    assert isinstance(DONE, mo_threads.Signal) and DONE
    assert DONE.wait() is True


def _never(NEVER: Any) -> None:
    assert isinstance(NEVER, mo_threads.Signal) and not NEVER
    assert NEVER.wait(till=mo_threads.DONE) is False
    a = mo_threads.Signal()
    either = NEVER | a
    a.go()
    assert either


def _never_class(Never: Any) -> None:
    assert isinstance(mo_threads.NEVER, Never) and issubclass(Never, mo_threads.Signal)
    never = Never()
    never.go()  # does nothing, as in 6.x
    assert not never
    a = mo_threads.Signal()
    either = never | a
    assert not either
    a.go()
    assert either


def _or_signal(or_signal: Any) -> None:
    a, b = mo_threads.Signal("a"), mo_threads.Signal("b")
    either = or_signal(a, b)
    assert not either
    threading.Timer(0.01, b.go).start()
    assert either.wait(timeout=10) is True
    assert or_signal(mo_threads.Signal(), b)  # fired already
    many = [mo_threads.Signal() for _ in range(50)]
    any_of_many = or_signal(*many)
    many[37].go()
    assert any_of_many
    assert not or_signal()  # none: never fires
    assert or_signal().wait(till=mo_threads.DONE) is False
    with pytest.raises(TypeError):
        or_signal(a, "not a signal")


def _or_signal_class(OrSignal: Any) -> None:
    Signal = mo_threads.Signal
    # an existing signal, fed by any of the dependencies, woken across threads
    target, a, b = Signal("target"), Signal("a"), Signal("b")
    OrSignal(target, [a, b])
    assert not target
    threading.Timer(0.01, a.go).start()
    assert target.wait(timeout=10) is True
    # a dependency that fired already: the target fires at once
    fired = Signal()
    OrSignal(fired, [Signal(), a])
    assert fired
    # no dependencies: never fires
    lonely = Signal()
    OrSignal(lonely, [])
    assert not lonely
    # the target held weakly: dropped targets leave nothing on a long-lived dependency
    long_lived, other = Signal("long-lived"), Signal("other")
    for _ in range(100):
        OrSignal(Signal(), [long_lived, other])
    gc.collect()
    assert not long_lived._jobs and not other._jobs
    # nor does one that fired
    done_target, d1, d2 = Signal(), Signal(), Signal()
    OrSignal(done_target, (d1, d2))
    d2.go()
    gc.collect()
    assert done_target and not d1._jobs
    # cleanup(): stop feeding the target
    kept, source = Signal(), Signal()
    feeder = OrSignal(kept, [source])
    feeder.cleanup()
    gc.collect()
    assert not source._jobs
    source.go()
    assert not kept
    with pytest.raises(TypeError):
        OrSignal(Signal(), [Signal(), "not a signal"])
    with pytest.raises(TypeError):
        OrSignal("not a signal", [Signal()])


def _and_signals(AndSignals: Any) -> None:
    Signal = mo_threads.Signal
    target = Signal()
    countdown = AndSignals(target, 3)
    countdown.done()
    countdown.done()
    assert not target and countdown.remaining == 1 and countdown.signal is target
    countdown.done()
    assert target
    countdown.done()  # beyond the count: nothing
    assert AndSignals(Signal(), 0).signal  # nothing to wait for
    # each done() counted once, from many threads; the signal fires once
    fires: List[int] = []
    racing = Signal()
    racing.then(lambda: fires.append(1))
    shared = AndSignals(racing, 8 * 200)
    workers = [threading.Thread(target=lambda: [shared.done() for _ in range(200)]) for _ in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(10)
    assert racing and fires == [1] and shared.remaining == 0
    with pytest.raises(ValueError):
        AndSignals(Signal(), -1)
    with pytest.raises(TypeError):
        AndSignals(Signal(), "2")


def _standard_warning(standard_warning: Any) -> None:
    def boom() -> None:
        raise ValueError("callback failed on purpose")

    def fire() -> None:
        s = mo_threads.Signal()
        s.then(boom, error=standard_warning)
        s.go()  # the failure goes to the log, not to the caller

    lines = _captured(fire)
    assert len(lines) == 1 and "callback failed on purpose" in lines[0]
    lines = _captured(lambda: standard_warning(RuntimeError("told directly")))
    assert len(lines) == 1 and "told directly" in lines[0]


def _till(Till: Any) -> None:
    start = time.monotonic()
    assert Till(seconds=0.02).wait(timeout=10) is True
    assert time.monotonic() - start >= 0.02
    assert Till(till=time.time() - 1)


def _lock(Lock: Any) -> None:
    lock = Lock("names")
    with lock:
        # releases while waiting, and returns holding the lock: False when till fired
        assert lock.wait(till=mo_threads.Till(seconds=0.01)) is False
    with pytest.raises(RuntimeError):
        with lock:
            with lock:
                pass


def _serialises(make_guarded: Callable[[Callable[[], None]], Callable[[], None]]) -> None:
    state = {"n": 0}

    def bump() -> None:
        n = state["n"]
        time.sleep(0)
        state["n"] = n + 1

    guarded = make_guarded(bump)
    workers = [threading.Thread(target=lambda: [guarded() for _ in range(200)]) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(10)
    assert state["n"] == 800


def _locked(locked: Any) -> None:
    _serialises(locked)


def _busy_lock(BusyLock: Any) -> None:
    lock = BusyLock()

    def make_guarded(fn: Callable[[], None]) -> Callable[[], None]:
        def guarded() -> None:
            with lock:
                fn()

        return guarded

    _serialises(make_guarded)


def _thread(Thread: Any) -> None:
    def double(x: int, please_stop: Any) -> int:
        return 2 * x

    assert Thread.run("double", double, 21).join() == 42

    def waits(please_stop: Any) -> str:
        please_stop.wait()
        return "stopped"

    assert Thread.run("waits", waits).stop().join() == "stopped"


def _base_thread(BaseThread: Any) -> None:
    assert issubclass(mo_threads.Thread, BaseThread) and issubclass(mo_threads.MainThread, BaseThread)
    assert isinstance(mo_threads.current_thread(), BaseThread)


def _alien_thread(AlienThread: Any) -> None:
    found = _in_thread(mo_threads.current_thread)
    assert isinstance(found, AlienThread)


def _main_thread(MainThread: Any) -> None:
    assert isinstance(mo_threads.threads.MAIN_THREAD, MainThread)


def _main_thread_object(MAIN_THREAD: Any) -> None:
    assert isinstance(MAIN_THREAD, mo_threads.MainThread)
    assert mo_threads.current_thread() is MAIN_THREAD  # pytest runs tests on the main thread
    child = mo_threads.Thread.run("child", lambda please_stop: None)
    child.join()
    assert child.parent is MAIN_THREAD


def _current_thread(current_thread: Any) -> None:
    seen = mo_threads.Thread.run("me", lambda please_stop: current_thread().name).join()
    assert seen == "me"


def _register_thread(register_thread: Any) -> None:
    @register_thread
    def who() -> str:
        return str(mo_threads.current_thread().name)

    assert _in_thread(who)


def _register_thread_class(RegisterThread: Any) -> None:
    def inside() -> str:
        with RegisterThread(name="registered here"):
            return str(mo_threads.current_thread().name)

    assert _in_thread(inside) == "registered here"


def _join_all_threads(join_all_threads: Any) -> None:
    threads = [mo_threads.Thread.run("n" + str(i), lambda i, please_stop: i, i) for i in range(3)]
    assert join_all_threads(threads) == [0, 1, 2]


def _please_stop(PLEASE_STOP: Any) -> None:
    queue = mo_threads.Queue("q")
    queue.add(1)
    queue.add(PLEASE_STOP)  # closes the queue, as in 6.x
    assert queue.pop() == 1
    assert queue.pop() is PLEASE_STOP
    assert mo_threads.THREAD_STOP is PLEASE_STOP


def _thread_timeout(THREAD_TIMEOUT: Any) -> None:
    slow = mo_threads.Thread.run("slow", lambda please_stop: please_stop.wait())
    with pytest.raises(THREAD_TIMEOUT):
        slow.join(till=mo_threads.Till(seconds=0.01))
    slow.stop()
    slow.join()


SHUTDOWN = """
from mo_threads import Signal, Thread, Till, start_main_thread, stop_main_thread, wait_for_shutdown_signal

stop = Signal("stop")
Thread.run("stopper", lambda please_stop: (Till(seconds=0.05).wait(), stop.go()))
worker = Thread.run("worker", lambda please_stop: please_stop.wait())
wait_for_shutdown_signal(please_stop=stop, allow_exit=False)
print("worker stopped:", bool(worker.stopped))

start_main_thread()
again = Thread.run("again", lambda please_stop: please_stop.wait())
stop_main_thread()
print("again stopped:", bool(again.stopped))
"""


@functools.lru_cache(maxsize=None)
def _shutdown_output() -> str:
    done = run_python(SHUTDOWN, timeout=60)
    assert done.returncode == 0, done.stderr
    return str(done.stdout)


def _shutdown_function(_: Any) -> None:
    out = _shutdown_output()
    assert "worker stopped: True" in out and "again stopped: True" in out


def _queue(Queue: Any) -> None:
    queue = Queue("q")
    threading.Timer(0.01, lambda: queue.extend([1, 2])).start()
    assert queue.pop(till=mo_threads.Till(seconds=10)) == 1
    assert queue.pop() == 2
    queue.close()
    assert queue.pop() is mo_threads.PLEASE_STOP


def _priority_queue(PriorityQueue: Any) -> None:
    queue = PriorityQueue("p", numpriorities=3)
    queue.add("later", priority=2)
    queue.add("first", priority=0)
    assert queue.pop() == "first" and queue.pop() == "later"


def _threaded_queue(ThreadedQueue: Any) -> None:
    sink: List[Any] = []

    class Sink:
        def extend(self, items: List[Any]) -> None:
            sink.extend(items)

    queue = ThreadedQueue("batches", Sink(), batch_size=10, period=0.01)
    for i in range(25):
        queue.add(i)
    queue.stop()
    assert sink == list(range(25))


def _future(Future: Any) -> None:
    future = Future()
    threading.Timer(0.01, lambda: future.assign(7)).start()
    assert future.wait(timeout=10) == 7


def _thread_pool(ThreadPool: Any) -> None:
    with ThreadPool(2) as pool:
        jobs = [pool.run("job", lambda i, please_stop: i * i, i) for i in range(5)]
    assert [job.join() for job in jobs] == [0, 1, 4, 9, 16]


def _lines(queue: Any) -> List[str]:
    lines = []
    while True:
        line = queue.pop(till=mo_threads.Till(seconds=20))
        if line is mo_threads.PLEASE_STOP or line is None:
            return lines
        lines.append(line)


def _process(Process: Any) -> None:
    process = Process("hello", [sys.executable, "-c", "print('hello'); print('world')"])
    assert _lines(process.stdout) == ["hello", "world"]
    process.join(raise_on_error=True)
    assert process.returncode == 0


def _command(Command: Any) -> None:
    try:
        command = Command("echo", ["echo", "hi there"])
        assert _lines(command.stdout) == ["hi there"]
        command.join(raise_on_error=True)
    finally:
        SESSIONS.close_all()  # the shell session outlives the command, for the next one


def _python(Python: Any) -> None:
    worker = Python("names", {"x": 1})
    try:
        worker.import_module("math", ["sqrt"])
        assert worker.sqrt(16) == 4
        assert worker.get("config") == {"x": 1}
    finally:
        worker.stop().join()


def _python_worker_start(start: Any) -> None:
    assert callable(start)
    requests = [{"config": {"who": "start"}}, {"id": 1, "call": "max", "args": [3, 7]}, {"id": 2, "get": "config"}]
    answers = _run_worker(requests)
    assert answers == [{"id": 1, "out": 7}, {"id": 2, "out": {"who": "start"}}]


def _run_worker(requests: List[Dict[str, Any]]) -> List[Any]:
    done = subprocess.run(
        [sys.executable, "-c", "from mo_threads.python_worker import start; start()"],
        input="".join(json.dumps(r) + "\n" for r in requests),
        capture_output=True,
        text=True,
        timeout=60,
        env=child_env(),
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def _profile_block() -> Any:
    from mo_threads.profiles import CProfiler

    def profiled_function_for_names() -> int:
        return sum(range(1000))

    with CProfiler() as block:
        profiled_function_for_names()
    return block.stats


def _cprofiler(CProfiler: Any) -> None:
    stats = _profile_block()
    assert stats is not None
    assert any(name == "profiled_function_for_names" for (_, _, name) in stats.stats)


def _stats2tab(stats2tab: Any) -> None:
    text = stats2tab(_profile_block())
    lines = text.splitlines()
    assert text.endswith("\n")
    assert lines[0].split("\t") == ["calls", "self_time", "total_time", "file", "line", "name"]
    rows = [line.split("\t") for line in lines[1:]]
    assert all(len(row) == 6 for row in rows)
    assert any(row[5] == "profiled_function_for_names" and row[0] == "1" for row in rows)
    assert stats2tab(None).splitlines() == [lines[0]]
    assert stats2tab(None, separator=",") == "calls,self_time,total_time,file,line,name\n"


def _list2tab(list2tab: Any) -> None:
    rows = [{"a": 1, "b": "x\ty"}, {"b": 2, "c": None}]
    assert list2tab(rows) == 'a\tb\tc\n1\t"x\\ty"\tnull\nnull\t2\tnull\n'
    assert list2tab([{"a": 1, "b": 2}], separator=",") == "a,b\n1,2\n"
    assert list2tab([]) == "\n"


PROFILING = """
import os, sys
from mo_threads import Thread
from mo_threads import profiles

def busy_function_for_names(please_stop):
    return sum(range(10000))

filename = sys.argv[1]
assert not profiles.cprofiler_stats.enabled
profiles.enable_profilers(filename)
assert profiles.cprofiler_stats.enabled
Thread.run("busy", busy_function_for_names).join()
assert profiles.write_profiles() == filename
with open(filename) as f:
    print(f.read())
"""


@functools.lru_cache(maxsize=None)
def _profiling_output() -> str:
    with tempfile.TemporaryDirectory() as home:
        done = run_python(PROFILING, os.path.join(home, "names.tab"), timeout=60, cwd=home)
    assert done.returncode == 0, done.stderr
    return str(done.stdout)


def _profiling_function(_: Any) -> None:
    out = _profiling_output()
    assert out.startswith("calls\tself_time\ttotal_time\tfile\tline\tname\n")
    assert "busy_function_for_names" in out


def _repeat(Repeat: Any) -> None:
    calls: List[float] = []
    with Repeat(lambda: calls.append(time.monotonic()), every=0.01):
        deadline = time.monotonic() + 10
        while len(calls) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert len(calls) >= 3


BEHAVIOUR: Dict[str, Callable[[Any], None]] = {
    "Signal": _signal,
    "DONE": _done,
    "NEVER": _never,
    "Never": _never_class,
    "or_signal": _or_signal,
    "OrSignal": _or_signal_class,
    "AndSignals": _and_signals,
    "standard_warning": _standard_warning,
    "Till": _till,
    "Lock": _lock,
    "locked": _locked,
    "BusyLock": _busy_lock,
    "Thread": _thread,
    "BaseThread": _base_thread,
    "AlienThread": _alien_thread,
    "MainThread": _main_thread,
    "MAIN_THREAD": _main_thread_object,
    "current_thread": _current_thread,
    "register_thread": _register_thread,
    "RegisterThread": _register_thread_class,
    "join_all_threads": _join_all_threads,
    "PLEASE_STOP": _please_stop,
    "THREAD_STOP": _please_stop,
    "THREAD_TIMEOUT": _thread_timeout,
    "start_main_thread": _shutdown_function,
    "stop_main_thread": _shutdown_function,
    "wait_for_shutdown_signal": _shutdown_function,
    "Queue": _queue,
    "PriorityQueue": _priority_queue,
    "ThreadedQueue": _threaded_queue,
    "Future": _future,
    "ThreadPool": _thread_pool,
    "Process": _process,
    "Command": _command,
    "Python": _python,
    "start": _python_worker_start,
    "CProfiler": _cprofiler,
    "stats2tab": _stats2tab,
    "list2tab": _list2tab,
    "cprofiler_stats": _profiling_function,
    "enable_profilers": _profiling_function,
    "write_profiles": _profiling_function,
    "Repeat": _repeat,
}


def _checked_once() -> List[Tuple[str, str]]:
    # one check per name: a name in several modules is one object (test_imports_from_its_module)
    seen: Dict[str, str] = {}
    for module, name in _pairs(PROVIDED):
        if name not in seen or seen[name] == "mo_threads":
            seen[name] = module
    return sorted((module, name) for name, module in seen.items())


@pytest.mark.parametrize("module,name", _checked_once())
def test_does_its_job(module: str, name: str, no_leaked_threads: Iterator[None]) -> None:
    BEHAVIOUR[name](_get(module, name))
