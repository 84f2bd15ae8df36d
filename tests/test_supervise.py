"""Tests for mo_threads.supervise: a named thread restarted when it fails."""

from __future__ import annotations

import threading
import time
from typing import Any, List

import pytest
from mo_logs import logger
from mo_logs.strings import expand_template

from mo_threads import Signal, Thread, Till, current_thread
from mo_threads.supervise import supervise
from tests.helpers import wait_true


class LogCapture:
    """Stands in for `mo_logs.logger.main_log`: keeps every line written."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.lines: List[str] = []

    def write(self, template: str, params: Any) -> None:
        text = expand_template(template, params)
        with self.lock:
            self.lines.append(text)

    def stop(self) -> None:
        pass

    def text(self) -> str:
        with self.lock:
            return "\n".join(self.lines)


@pytest.fixture
def log() -> Any:
    capture = LogCapture()
    old = logger.main_log
    logger.main_log = capture
    try:
        yield capture
    finally:
        logger.main_log = old


class TestSupervise:
    def test_fails_twice_then_succeeds(self, log: LogCapture) -> None:
        tries: List[str] = []

        def flaky(greeting: str, please_stop: Signal) -> str:
            tries.append(current_thread().name)
            if len(tries) <= 2:
                raise ConnectionError("attempt " + str(len(tries)) + " failed")
            return greeting

        worker = supervise("flaky", flaky, "hello", max_restarts=5, backoff=0.01)
        assert worker.join(till=Till(seconds=20)) == "hello"
        assert tries == ["flaky", "flaky", "flaky"]
        text = log.text()
        assert text.count("failed; restart") == 2
        assert "attempt 1 failed" in text and "attempt 2 failed" in text
        assert text.count("restarted") == 2

    def test_gives_up_after_max_restarts(self, log: LogCapture) -> None:
        tries = [0]

        def broken(please_stop: Signal) -> None:
            tries[0] += 1
            raise ValueError("always broken")

        worker = supervise("broken", broken, max_restarts=2, backoff=0)
        with pytest.raises(Exception) as info:
            worker.join(till=Till(seconds=20))
        assert tries[0] == 3
        assert "always broken" in str(info.value) or isinstance(info.value.__cause__, ValueError)
        assert "gave up after 2 restarts" in log.text()

    def test_stop_ends_restarts_during_backoff(self, log: LogCapture) -> None:
        tries = [0]

        def broken(please_stop: Signal) -> None:
            tries[0] += 1
            raise ValueError("broken")

        worker = supervise("slow restart", broken, backoff=30)
        assert wait_true(lambda: "restart 1 in" in log.text())
        start = time.time()
        worker.stop()
        assert worker.join(till=Till(seconds=10)) is None
        assert time.time() - start < 9  # did not sit out the 30 s backoff
        assert tries[0] == 1

    def test_always_restarts_on_return_until_stopped(self, log: LogCapture) -> None:
        runs = [0]

        def tick(please_stop: Signal) -> int:
            runs[0] += 1
            return runs[0]

        worker = supervise("ticker", tick, restart="always", backoff=0.001)
        assert wait_true(lambda: runs[0] >= 3)
        worker.stop()
        worker.join(till=Till(seconds=10))  # the last result, or None when stopped while backing off
        assert not worker.is_alive()

    def test_a_stopped_thread_is_not_restarted(self) -> None:
        tries = [0]

        def stop_then_fail(please_stop: Signal) -> None:
            tries[0] += 1
            please_stop.wait()
            raise ValueError("failed while stopping")

        worker = supervise("stopping", stop_then_fail, backoff=0)
        assert wait_true(lambda: tries[0] == 1)
        worker.stop()
        with pytest.raises(Exception):
            worker.join(till=Till(seconds=10))
        assert tries[0] == 1

    def test_children_of_a_failed_try_are_stopped(self, log: LogCapture) -> None:
        children: List[Thread] = []
        tries = [0]

        def parent(please_stop: Signal) -> str:
            tries[0] += 1
            if tries[0] == 1:
                children.append(Thread.run("left behind", lambda please_stop: please_stop.wait()))
                raise ValueError("first try failed")
            return "ok"

        worker = supervise("parent", parent, backoff=0)
        assert worker.join(till=Till(seconds=10)) == "ok"
        assert children[0].stopped

    def test_bad_arguments(self) -> None:
        with pytest.raises(ValueError):
            supervise("x", lambda please_stop: None, restart="sometimes")
        with pytest.raises(ValueError):
            supervise("x", lambda please_stop: None, max_restarts=-1)
        with pytest.raises(ValueError):
            supervise("x", lambda please_stop: None, backoff=-1)
        with pytest.raises(TypeError, match="please_stop"):
            supervise("x", lambda: None)
