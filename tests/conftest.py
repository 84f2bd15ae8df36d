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
