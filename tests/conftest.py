"""Fixtures shared by the test files."""

from __future__ import annotations

import threading
from typing import Any, Iterator, List

import pytest
from mo_logs import logger as mo_logger
from mo_logs.strings import expand_template


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
