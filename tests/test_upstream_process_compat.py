"""`Process` keeps 6.x's timing rules, so that programs 6.x lets run are not killed here.

In 6.x each of stdout and stderr counts as having printed `startup_timeout`
seconds after the start until it prints its first line; the program is killed
once `timeout` seconds have passed since the later of the two. So a program
that prints a line and then stays quiet for a while (or waits for a signal)
runs until `startup_timeout + timeout` (12 s with the defaults), and one that
has printed on both streams may be quiet for `timeout` seconds. The kill says
which of the two rules fired.
"""

from __future__ import annotations

import inspect
import os
import signal
import time

import pytest

from mo_threads import Till
from mo_threads.processes import Process
from tests.helpers import wait_true
from tests.test_processes import drain, finish, python, read_until

QUIET_3S = "import time\nprint('hi', flush=True)\ntime.sleep(3)\nprint('bye', flush=True)"
WAIT_FOR_SIGTERM = (
    "import signal, sys, time\n"
    "def on_term(*args):\n"
    "    print('got term', flush=True)\n"
    "    sys.exit(0)\n"
    "signal.signal(signal.SIGTERM, on_term)\n"
    "print('ready', flush=True)\n"
    "time.sleep(30)\n"
)
BOTH_STREAMS_THEN_QUIET = (
    "import sys, time\nprint('out', flush=True)\nsys.stderr.write('err\\n')\nsys.stderr.flush()\ntime.sleep(30)"
)


class TestDefaults:
    def test_defaults_are_upstreams(self):
        parameters = inspect.signature(Process.__init__).parameters
        assert parameters["timeout"].default == 2.0
        assert parameters["startup_timeout"].default == 10.0

    def test_a_line_then_three_quiet_seconds_runs_to_its_end(self):
        process = finish(Process("quiet for 3 s", python(QUIET_3S)))
        assert drain(process.stdout) == ["hi", "bye"]
        assert process.returncode == 0

    def test_quiet_from_the_start_for_three_seconds_runs_to_its_end(self):
        code = "import time\ntime.sleep(3)\nprint('bye', flush=True)"
        process = finish(Process("late talker", python(code)))
        assert drain(process.stdout) == ["bye"]
        assert process.returncode == 0

    def test_waiting_for_sigterm_runs_until_it_comes(self):
        process = Process("waits for SIGTERM", python(WAIT_FOR_SIGTERM))
        try:
            assert read_until(process.stdout, "ready") == ["ready"]
            time.sleep(3)
            assert not process.exited, "killed while waiting quietly"
            os.kill(process.pid, signal.SIGTERM)
            finish(process)
        finally:
            process.kill()  # nothing, when it ended
            process.join(till=Till(seconds=30), raise_on_error=False)
        assert drain(process.stdout) == ["got term"]
        assert process.returncode == 0

    def test_waiting_for_stop_runs_until_it_comes(self):
        process = Process("waits for stop", python(WAIT_FOR_SIGTERM))
        assert read_until(process.stdout, "ready") == ["ready"]
        time.sleep(3)
        assert process.stop() is process  # SIGTERM
        finish(process)
        assert drain(process.stdout) == ["got term"]
        assert process.returncode == 0


class TestRules:
    def test_nothing_printed_is_killed_after_startup_timeout_plus_timeout(self, log):
        start = time.monotonic()
        process = Process("mute", python("import time; time.sleep(30)"), timeout=0.5, startup_timeout=1.0)
        with pytest.raises(RuntimeError) as caught:
            finish(process)
        took = time.monotonic() - start
        assert 1.5 <= took < 10, took
        assert process.returncode == -signal.SIGKILL
        assert "by the startup_timeout rule (nothing on stdout or stderr in the first" in str(caught.value)
        assert wait_true(lambda: "by the startup_timeout rule" in log.text() and "mute" in log.text())

    def test_a_stream_that_has_not_printed_keeps_the_startup_allowance(self, log):
        # 'hi' on stdout at once, nothing on stderr: 6.x kills at startup_timeout + timeout, not timeout after 'hi'
        code = "import time\nprint('hi', flush=True)\ntime.sleep(30)"
        start = time.monotonic()
        process = Process("stdout only", python(code), timeout=0.5, startup_timeout=2.0)
        with pytest.raises(RuntimeError) as caught:
            finish(process)
        took = time.monotonic() - start
        assert 2.5 <= took < 10, took
        assert drain(process.stdout) == ["hi"]
        message = str(caught.value)
        assert "by the startup_timeout rule (nothing on stderr in the first" in message  # the stream on its allowance
        assert wait_true(lambda: "by the startup_timeout rule" in log.text())

    def test_output_on_both_streams_leaves_only_timeout(self, log):
        code = BOTH_STREAMS_THEN_QUIET
        start = time.monotonic()
        process = Process("both streams", python(code), timeout=0.5, startup_timeout=5.0)
        with pytest.raises(RuntimeError) as caught:
            finish(process)
        took = time.monotonic() - start
        assert 0.5 <= took < 4.5, took
        message = str(caught.value)
        assert "by the timeout rule" in message and "startup_timeout" not in message
        assert wait_true(lambda: "by the timeout rule" in log.text())

    def test_a_line_after_the_startup_allowance_moves_the_deadline(self):
        # the line at 1 s comes after startup_timeout (0.5 s) but before startup_timeout + timeout (2.5 s)
        code = "import time\ntime.sleep(1)\nprint('late', flush=True)\ntime.sleep(30)"
        start = time.monotonic()
        process = Process("late line", python(code), timeout=2.0, startup_timeout=0.5)
        with pytest.raises(RuntimeError) as caught:
            finish(process)
        took = time.monotonic() - start
        assert 3.0 <= took < 10, took  # 2 s after the line
        assert drain(process.stdout) == ["late"]
        assert "by the timeout rule" in str(caught.value)

    def test_timeout_set_on_a_running_process_takes_effect(self):
        # 6.x's monitor reads `timeout` at every check; its own Command shortens it on a running process
        code = BOTH_STREAMS_THEN_QUIET
        process = Process("shortened", python(code), timeout=30, startup_timeout=0)
        assert read_until(process.stdout, "out") == ["out"]
        start = time.monotonic()
        process.timeout = 0.5
        with pytest.raises(RuntimeError) as caught:
            finish(process, seconds=10)
        assert time.monotonic() - start < 10
        assert "by the timeout rule" in str(caught.value)

    def test_timeout_set_to_none_on_a_running_process_stops_the_watch(self):
        process = Process("relaxed", python("import time; time.sleep(1.5)"), timeout=0.5, startup_timeout=0.2)
        process.timeout = None
        finish(process)
        assert process.returncode == 0

    def test_bad_timeout_set_later_is_refused(self):
        process = Process("strict", python("pass"))
        with pytest.raises(ValueError):
            process.timeout = -1
        with pytest.raises(TypeError):
            process.timeout = "2"  # type: ignore[assignment]
        assert process.timeout == 2.0
        finish(process)


class TestReturnsSelf:
    """Every Process method that returns the process in 6.x does here (`p.stop().join()`)."""

    def test_enter_stop_join_return_the_process(self):
        process = Process("chain", python("import time; time.sleep(30)"), timeout=None)
        with process as entered:
            assert entered is process
            assert process.stop() is process
            assert process.join(till=Till(seconds=30)) is process
        assert process.stop().join() is process  # again, once it ended

    def test_kill_returns_the_process(self):
        process = Process("killed", python("import time; time.sleep(30)"), timeout=None)
        assert process.kill() is process  # None in 6.x; the process here, so it chains too
        assert process.join(till=Till(seconds=30)) is process
