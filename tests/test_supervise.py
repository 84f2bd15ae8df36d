"""Tests for mo_threads.supervise: a named thread restarted when it fails.

What `supervise()` shares with `Thread.run(..., restart=)` (restarts, max_restarts, backoff,
stopping) is tested through both in tests/test_thread_restart.py.
"""

from __future__ import annotations

from typing import Any, List

import pytest

from mo_threads import Signal, Thread, Till
from mo_threads.supervise import supervise
from tests.conftest import LogCapture
from tests.helpers import wait_true


class TestSupervise:
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

    def test_policy_keywords_never_go_to_the_target(self) -> None:
        tries = [0]

        def declares(restart: str = "mine", backoff: int = 7, *, please_stop: Signal) -> Any:
            tries[0] += 1
            if tries[0] == 1:
                raise ValueError("first")
            return restart, backoff

        # unlike Thread.run, supervise() always takes restart/backoff as the policy
        assert supervise("declares", declares, restart="on-failure", backoff=0).join(till=Till(seconds=10)) == ("mine", 7)
        assert tries[0] == 2
