from __future__ import annotations

import threading
import time

import pytest

from mo_threads import Repeat, Signal, Till
from mo_threads import repeat as repeat_module
from tests.helpers import run_python, wait_true


class TestRepeat:
    def test_calls_on_a_period_until_block_left(self):
        calls = []
        started = time.time()
        with Repeat(lambda: calls.append(time.time()), every=0.05) as repeat:
            assert wait_true(lambda: len(calls) >= 4, timeout=10)
            assert repeat.thread is not None
        count = len(calls)
        time.sleep(0.2)
        assert len(calls) == count, "called after the block was left"
        assert repeat.thread is None
        # the first call comes one period after the start, and the k-th never before k periods
        for k, when in enumerate(calls):
            assert when >= started + (k + 1) * 0.05 - 0.002, (k, when - started)

    def test_runs_in_its_own_thread(self):
        idents = []
        with Repeat(lambda: idents.append(threading.get_ident()), every=0.02):
            assert wait_true(lambda: idents, timeout=10)
        assert idents[0] != threading.get_ident()

    def test_until_signal_stops_and_is_not_fired_by_exit(self):
        calls = []
        until = Signal("enough")
        with Repeat(lambda: calls.append(1), every=0.02, until=until) as repeat:
            assert wait_true(lambda: len(calls) >= 2, timeout=10)
            until.go()
            assert repeat.thread.stopped.wait(till=Till(seconds=10))
            count = len(calls)
            time.sleep(0.1)
            assert len(calls) == count

        other = Signal("not mine")
        with Repeat(lambda: None, every=0.02, until=other):
            pass
        assert not other, "leaving the block must not fire the caller's signal"

    def test_until_seconds(self):
        calls = []
        repeat = Repeat(lambda: calls.append(1), every=0.01, until=1.0, start=True)
        try:
            assert repeat.thread.stopped.wait(till=Till(seconds=10))
            assert calls
        finally:
            repeat.stop()

    def test_start_true_and_stop(self):
        calls = []
        repeat = Repeat(lambda: calls.append(1), every=0.02, start=True)
        assert wait_true(lambda: calls, timeout=10)
        with pytest.raises(RuntimeError, match="already started"):
            repeat.start()
        repeat.stop()
        count = len(calls)
        time.sleep(0.1)
        assert len(calls) == count

    def test_stop_called_by_the_repeated_function_stops_quietly(self, log):
        # issue 21, point 13: it used to log "can not join itself" as a failure
        calls = []

        def once():
            calls.append(1)
            repeat.stop()

        repeat = Repeat(once, every=0.02)
        thread = repeat.start().thread
        assert wait_true(lambda: not thread.is_alive(), timeout=10)
        time.sleep(0.1)
        assert calls == [1]
        assert thread.join() is None  # ended well
        assert "Problem with" not in log.text() and "itself" not in log.text(), log.text()

    def test_failing_call_is_logged_and_repetition_goes_on(self):
        calls = []

        def flaky():
            calls.append(1)
            if len(calls) == 1:
                raise ValueError("first call fails")

        with Repeat(flaky, every=0.02):
            assert wait_true(lambda: len(calls) >= 3, timeout=10)

    def test_bad_arguments(self):
        with pytest.raises(TypeError):
            Repeat(42, every=1)
        with pytest.raises(ValueError):
            Repeat("x", every=0)
        with pytest.raises(ValueError):
            Repeat("x", every=-1)
        with pytest.raises(TypeError):
            Repeat("x", every=True)
        with pytest.raises(TypeError):
            Repeat("x", every=[1])

    @pytest.mark.skipif(repeat_module._Duration is None, reason="mo-times not installed")
    def test_duration_strings_with_mo_times(self):
        from mo_times import Duration

        assert Repeat("x", every="minute").every == 60
        assert Repeat("x", every="2second", until="hour").until == 3600
        assert Repeat("x", every=Duration("second")).every == 1
        with pytest.raises(ValueError):
            Repeat("x", every="not a duration at all")

    def test_message_is_logged(self):
        result = run_python(
            """
            from mo_logs import logger
            from mo_threads import Repeat, Till
            with Repeat("tick {not a param}", every=0.05):
                Till(seconds=1).wait()
            """,
            timeout=30,
        )
        assert result.returncode == 0, result.stderr
        assert (result.stdout + result.stderr).count("tick {not a param}") >= 2, result.stdout + result.stderr

    def test_stopped_by_shutdown(self):
        result = run_python(
            """
            from mo_threads import Repeat, stop_main_thread
            calls = []
            repeat = Repeat(lambda: calls.append(1), every=0.02, start=True)
            from mo_threads import Till
            Till(seconds=0.5).wait()
            stop_main_thread()
            assert repeat.thread.stopped, "shutdown must stop the repeat thread"
            print("calls", len(calls) > 0)
            """,
            timeout=30,
        )
        assert result.returncode == 0, result.stderr
        assert "calls True" in result.stdout
