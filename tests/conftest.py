"""Fixtures shared by the test files."""

from __future__ import annotations

import os
import threading
from typing import Any, Iterator, List, Set

import pytest
from mo_logs import logger as mo_logger
from mo_logs.strings import expand_template

from mo_threads import _parking, _registry, _runtime, till as _till
from mo_threads.threads import MAIN_THREAD, BaseThread, Thread

# how long a thread the test asked to stop, or a timer about to fire, gets to go
# after the test, before it counts as left behind
SETTLE_SECONDS = float(os.environ.get("MO_THREADS_TEST_SETTLE_SECONDS", "5"))


def pytest_configure(config: Any) -> None:
    config.addinivalue_line(
        "markers",
        "leaves_threads(reason): the test leaves mo_threads threads, children of the main thread"
        " or pending timers behind on purpose; the check after each test (check_nothing_left) lets it be",
    )


class _Left:
    """What of mo_threads is running or pending: threads, the main thread's children, timers with callbacks."""

    def __init__(self) -> None:
        self.threads: Set[Any] = set(_registry.live_threads())
        self.children: Set[BaseThread] = set(MAIN_THREAD.children)
        self.timers: Set[Any] = {timer for timer in list(_till._TIMER._strong) if not timer}

    def minus(self, before: _Left) -> List[str]:
        """What is here and was not in `before`, described."""
        found = ["thread " + repr(t.name) for t in self.threads - before.threads]
        found += [
            "child of the main thread " + repr(c.name) + (" (failed, never joined)" if c.stopped else "")
            for c in self.children - before.children
            if c not in self.threads
        ]
        found += ["timer " + repr(t.name) + " with callbacks" for t in self.timers - before.timers]
        return sorted(found)


def _clean_up(before: _Left) -> None:
    """Stop and forget what the test left, so the next test starts clean."""
    left = _Left()
    for thread in left.threads - before.threads:
        thread.stop()
    for child in left.children - before.children:
        child.stop()
        if isinstance(child, Thread) and child.stopped.wait(timeout=SETTLE_SECONDS):
            try:
                child.join()  # its failure was reported by the check already
            except Exception:
                pass
        MAIN_THREAD.remove_child(child)


@pytest.fixture(autouse=True)
def check_nothing_left(request: Any) -> Iterator[None]:
    """Fail a test that leaves mo_threads threads, main-thread children, timers or held signal handlers behind, then reset.

    As CPython's `threading_helper` does for its tests: after the test (and its
    other fixtures), `mo_threads._runtime.reset_for_tests()` puts the global
    state back (closes the idle `Command` sessions, clears the blocking
    statistics, restarts a main thread the test stopped); then whatever of
    mo_threads still runs or waits to fire, and did not before the test, gets
    `SETTLE_SECONDS` to end; what is left is stopped and the test fails,
    naming it. A test that leaves something on purpose says so with
    `@pytest.mark.leaves_threads("why")`.
    """
    before = _Left()
    yield
    held = _parking._held  # PyPy: a hand-off that never ended its hold (no Python-level handler runs)
    if held:
        _parking.resume_signals()
    _runtime.reset_for_tests()
    if held:
        pytest.fail("left the main thread's signal handlers held: a hold_signals() without its resume_signals()", pytrace=False)
    if request.node.get_closest_marker("leaves_threads") is not None:
        return
    from tests.helpers import wait_true

    if wait_true(lambda: not _Left().minus(before), timeout=SETTLE_SECONDS, every=0.01):
        return
    left = _Left().minus(before)
    _clean_up(before)
    pytest.fail("left behind after the test: " + ", ".join(left), pytrace=False)


class LogCapture:
    """Stands in for `mo_logs.logger.main_log`: keeps every line written, expanded, with its cause."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.lines: List[str] = []
        self.params: List[Any] = []

    def write(self, template: str, params: Any) -> None:
        try:
            text = expand_template(template, params)
        except Exception:
            text = template
        cause = params.get("cause") if hasattr(params, "get") else None
        if cause is not None:
            text += " CAUSE: " + str(cause)
        with self.lock:
            self.lines.append(text)
            self.params.append(params)

    def stop(self) -> None:
        pass

    def text(self) -> str:
        with self.lock:
            return "\n".join(self.lines)


@pytest.fixture
def log() -> Iterator[LogCapture]:
    """Every line logged through mo-logs during the test, captured instead of printed."""
    captured = LogCapture()
    old, mo_logger.main_log = mo_logger.main_log, captured
    try:
        yield captured
    finally:
        mo_logger.main_log = old


# helper threads of mo_threads itself, started once on first use
LONG_LIVED = ("mo-threads timer", "mo-threads signal watcher", "mo-threads exit watcher")


@pytest.fixture
def no_leaked_threads() -> Iterator[None]:
    """Fail the test when it leaves threads running (mo_threads' own long-lived helpers aside)."""
    from tests.helpers import wait_true

    before = set(threading.enumerate())
    yield

    def leaked() -> List[threading.Thread]:
        return [t for t in threading.enumerate() if t not in before and t.is_alive() and t.name not in LONG_LIVED]

    assert wait_true(lambda: not leaked(), timeout=10), "threads left running: " + repr(leaked())
