"""Tests for supervision: `Thread.run(..., restart=, max_restarts=, backoff=)` and `supervise()`, its wrapper.

The behaviour tests run through both entry points (the `start` fixture);
supervise-only details are in tests/test_supervise.py.
"""

from __future__ import annotations

import time
from typing import Any, Callable, List

import pytest

from mo_threads import MAIN_THREAD, Signal, Thread, Till, current_thread, supervise
from tests.conftest import LogCapture
from tests.helpers import run_python, wait_true


Start = Callable[..., Thread]


@pytest.fixture(params=[Thread.run, supervise], ids=["Thread.run", "supervise"])
def start(request: Any) -> Start:
    """Starts a supervised thread: `start(name, target, *args, restart=..., ...)`."""
    return request.param  # type: ignore[no-any-return]


class TestThreadRestart:
    def test_fails_twice_then_succeeds(self, log: LogCapture, start: Start) -> None:
        tries: List[str] = []

        def flaky(greeting: str, please_stop: Signal) -> str:
            tries.append(current_thread().name)
            if len(tries) <= 2:
                raise ConnectionError("attempt " + str(len(tries)) + " failed")
            return greeting

        worker = start("flaky", flaky, "hello", restart="on-failure", max_restarts=5, backoff=0.01)
        assert worker.join(till=Till(seconds=20)) == "hello"
        assert tries == ["flaky", "flaky", "flaky"]  # the same thread, restarted
        text = log.text()
        assert text.count("failed; restart") == 2
        assert "attempt 1 failed" in text and "attempt 2 failed" in text
        assert text.count("restarted") == 2

    def test_max_restarts_exhausted_raises_the_last_failure(self, log: LogCapture, start: Start) -> None:
        tries = [0]

        def broken(please_stop: Signal) -> None:
            tries[0] += 1
            raise ValueError("broken try " + str(tries[0]))

        worker = start("broken", broken, max_restarts=2, backoff=0)  # max_restarts alone: on-failure
        with pytest.raises(Exception) as info:
            worker.join(till=Till(seconds=20))
        assert tries[0] == 3
        assert isinstance(info.value.__cause__, ValueError)
        assert str(info.value.__cause__) == "broken try 3"
        assert "gave up after 2 restarts" in log.text()

    def test_always_restarts_until_stopped(self, log: LogCapture, start: Start) -> None:
        runs = [0]

        def tick(please_stop: Signal) -> int:
            runs[0] += 1
            return runs[0]

        worker = start("ticker", tick, restart="always", backoff=0.001)
        assert wait_true(lambda: runs[0] >= 3)
        worker.stop()
        assert worker.join(till=Till(seconds=20)) in (runs[0], None)
        count = runs[0]
        assert not worker.is_alive() and runs[0] == count

    def test_stop_during_backoff_ends_at_once(self, log: LogCapture, start: Start) -> None:
        def broken(please_stop: Signal) -> None:
            raise ValueError("down")

        worker = start("slow restart", broken, restart="on-failure", backoff=30)
        assert wait_true(lambda: "failed; restart" in log.text())
        started = time.time()
        worker.stop()
        assert worker.join(till=Till(seconds=10)) is None  # the failure was logged, not raised
        assert time.time() - started < 9  # did not sit out the 30 s backoff

    def test_deadline_ends_restarts(self, log: LogCapture, start: Start) -> None:
        def broken(please_stop: Signal) -> None:
            if please_stop:
                return  # a failure while stopping would be the thread's own (raised by join): not this test's point
            raise ValueError("down")

        worker = start("bounded", broken, restart="on-failure", backoff=0.01, deadline=0.3)
        worker.join(till=Till(seconds=20))  # returns once the deadline stops the restarts
        assert worker.please_stop

    def test_declared_parameters_go_to_the_target(self) -> None:
        def work(restart: str, backoff: int, please_stop: Signal) -> Any:
            return restart, backoff, current_thread()._policy  # type: ignore[attr-defined]

        assert Thread.run("mine", work, restart="yes", backoff=3).join(till=Till(seconds=20)) == ("yes", 3, None)

    @pytest.mark.parametrize(
        "options, error, words",
        [
            ({"restart": "sometimes"}, ValueError, ["restart", "'sometimes'"]),
            ({"max_restarts": -1}, ValueError, ["max_restarts", "-1"]),
            ({"max_restarts": 1.5}, TypeError, ["max_restarts", "float"]),
            ({"backoff": -1}, ValueError, ["backoff", "-1"]),
            ({"backoff": "1s"}, TypeError, ["backoff", "str"]),
        ],
    )
    def test_bad_policy(self, options: Any, error: type, words: List[str], start: Start) -> None:
        before = list(MAIN_THREAD.children)
        with pytest.raises(error) as info:  # type: ignore[call-overload]
            start("worker", lambda please_stop: None, **options)
        for word in words:
            assert word in str(info.value)
        assert MAIN_THREAD.children == before


class TestShutdownStopsRestarts:
    def test_shutdown_stops_restarting(self) -> None:
        result = run_python(
            """
            import sys, time
            from mo_threads import Thread, Till, stop_main_thread

            tries = []

            def broken(please_stop):
                tries.append(time.time())
                print("try", len(tries), flush=True)
                raise ValueError("down")

            worker = Thread.run("service", broken, restart="always", backoff=0.05)
            while len(tries) < 3:
                time.sleep(0.01)
            start = time.time()
            stop_main_thread()
            took = time.time() - start
            count = len(tries)
            time.sleep(0.3)
            print("after shutdown", count, len(tries), "took", round(took, 2), flush=True)
            assert len(tries) == count
            assert not worker.is_alive()
            print("done", flush=True)
            """,
            timeout=30,
        )
        assert result.returncode == 0, result.stderr
        assert "done" in result.stdout
        took = float(result.stdout.split("took")[1].split()[0])
        assert took < 10

    def test_exit_during_backoff_is_prompt(self) -> None:
        result = run_python(
            """
            import time
            from mo_threads import Thread

            def broken(please_stop):
                print("failing", flush=True)
                raise ValueError("down")

            Thread.run("service", broken, restart="on-failure", backoff=3600)
            time.sleep(0.3)
            print("exiting", flush=True)
            """,
            timeout=30,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.count("failing") == 1
        assert "exiting" in result.stdout
