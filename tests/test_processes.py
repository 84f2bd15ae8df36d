from __future__ import annotations

import os
import random
import signal
import sys
import time
from typing import List

import pytest

from mo_threads import MAIN_THREAD, PLEASE_STOP, Thread, ThreadTimeout, Till
from mo_threads.processes import Process
from tests.helpers import REPO, child_env, finish as finish_python, program_lines, run_python, send, start_python, wait_for_line, wait_true

PY = sys.executable
PROGRAMS = os.path.join(REPO, "tests", "programs")


def drain(queue, seconds: float = 20) -> List[str]:
    """Every line until the queue closes; fails if it does not close in time."""
    till = Till(seconds=seconds)
    lines = []
    while True:
        line = queue.pop(till=till)
        if line is PLEASE_STOP:
            return lines
        if line is None:
            raise AssertionError("queue did not close in " + str(seconds) + " s; got " + repr(lines))
        lines.append(line)


def read_until(queue, text: str, seconds: float = 20) -> List[str]:
    till = Till(seconds=seconds)
    lines = []
    while True:
        line = queue.pop(till=till)
        if line is None or line is PLEASE_STOP:
            raise AssertionError("never saw " + repr(text) + "; got " + repr(lines))
        lines.append(line)
        if text in line:
            return lines


def finish(process: Process, seconds: float = 30, raise_on_error: bool = True) -> Process:
    """Join with a hard limit: a hang kills the program and fails the test."""
    try:
        return process.join(till=Till(seconds=seconds), raise_on_error=raise_on_error)
    except ThreadTimeout:
        process.kill()
        process.join(raise_on_error=False)
        raise AssertionError("process " + process.name + " hung past " + str(seconds) + " s")


def python(code: str) -> List[str]:
    return [PY, "-c", code]


class TestProcess:
    def test_echo(self):
        process = finish(Process("echo", python("print('hello'); print('world')")))
        assert drain(process.stdout) == ["hello", "world"]
        assert drain(process.stderr) == []
        assert process.returncode == 0
        assert process.stopped

    def test_exit_code_raises_with_stderr(self):
        process = Process("fail", python("import sys; sys.stderr.write('boom\\n'); sys.exit(3)"))
        with pytest.raises(RuntimeError) as caught:
            finish(process)
        assert "code 3" in str(caught.value)
        assert "boom" in str(caught.value)
        assert "fail" in str(caught.value)
        assert process.returncode == 3
        # without raise_on_error, join returns and the lines are all there
        assert process.join(raise_on_error=False) is process
        assert drain(process.stderr) == ["boom"]

    def test_stderr_capture(self):
        process = finish(Process("err", python("import sys; print('out'); sys.stderr.write('e1\\ne2\\n')")))
        assert drain(process.stdout) == ["out"]
        assert drain(process.stderr) == ["e1", "e2"]

    def test_many_lines_then_exit_at_once(self):
        code = "import os, sys\nsys.stdout.write(''.join('line %d\\n' % i for i in range(20000)))\nsys.stdout.flush()\nos._exit(0)"
        process = finish(Process("many", python(code)))
        lines = drain(process.stdout)
        assert len(lines) == 20000
        assert lines[0] == "line 0" and lines[-1] == "line 19999"

    def test_decoding_bad_bytes_and_line_endings(self):
        code = "import sys; sys.stdout.buffer.write(b'caf\\xc3\\xa9\\r\\n\\xff\\nlast')"
        process = finish(Process("bytes", python(code)))
        assert drain(process.stdout) == ["caf\u00e9", "\ufffd", "last"]

    def test_stdin_close_is_end_of_file(self):
        process = Process("cat", ["cat"], timeout=None)
        process.stdin.add("hello")
        process.stdin.add("w\u00f6rld")
        process.stdin.close()
        finish(process)
        assert drain(process.stdout) == ["hello", "w\u00f6rld"]
        assert process.returncode == 0

    def test_conversation(self):
        code = "import sys\nfor line in sys.stdin:\n    print('got ' + line.strip(), flush=True)"
        process = Process("echo back", python(code), timeout=None)
        try:
            process.stdin.add("one")
            assert process.stdout.pop(till=Till(seconds=20)) == "got one"
            process.stdin.add("two")
            assert process.stdout.pop(till=Till(seconds=20)) == "got two"
        finally:
            process.stdin.close()
            finish(process)

    def test_silent_process_is_killed_and_reported(self, log):
        code = (
            "import sys, time\nsys.stdin.readline()\nprint('first', flush=True)\n"
            "print('e', file=sys.stderr, flush=True)\ntime.sleep(60)"
        )
        # once both stdout and stderr have printed, the program may be silent for `timeout` seconds
        # (the rules are in test_upstream_process_compat.py)
        process = Process("hang", python(code), timeout=0.5, startup_timeout=20)
        process.stdin.add("the question")
        assert process.stdout.pop(till=Till(seconds=20)) == "first"
        with pytest.raises(RuntimeError) as caught:
            finish(process)
        assert "by the timeout rule" in str(caught.value)
        assert process.returncode != 0
        assert wait_true(lambda: "the question" in log.text())
        assert "hang" in log.text() and "silent" in log.text()

    def test_silent_before_first_line_gets_startup_timeout_plus_timeout(self):
        process = Process("slow start", python("import time; time.sleep(60)"), timeout=0.3, startup_timeout=0.3)
        with pytest.raises(RuntimeError) as caught:
            finish(process)
        assert process.returncode != 0
        assert "by the startup_timeout rule" in str(caught.value)

    def test_output_keeps_the_watchdog_quiet(self):
        # runs twice as long as the timeout, never silent for long
        code = (
            "import sys, time\nprint('e', file=sys.stderr, flush=True)\n"
            "for i in range(30):\n    print(i, flush=True)\n    time.sleep(0.1)"
        )
        process = finish(Process("chatty", python(code), timeout=1.5, startup_timeout=20))
        assert drain(process.stdout) == [str(i) for i in range(30)]
        assert process.returncode == 0

    def test_a_check_armed_as_the_process_ends_leaves_no_callback(self, monkeypatch):
        # the program ends (its watch timer dropped) between the watchdog choosing its next
        # timer and registering the check on it: the check must not stay on that Till
        armed: List[Till] = []
        original = Process._set_watch_timer

        def ends_right_after(self, turn, timer):
            chosen = original(self, turn, timer)
            if chosen and timer is not None and not armed:
                armed.append(timer[0])
                self._drop_watch_timer()
            return chosen

        monkeypatch.setattr(Process, "_set_watch_timer", ends_right_after)
        finish(Process("ends", python("print(1)"), timeout=5, startup_timeout=20))
        assert armed and not armed[0]._jobs

    def test_timeout_none_disables_the_watchdog(self):
        process = finish(Process("quiet", python("import time; time.sleep(0.6)"), timeout=None, startup_timeout=0.1))
        assert process.returncode == 0

    def test_killed_from_outside(self):
        process = Process("victim", python("import time; time.sleep(60)"), timeout=None)
        os.kill(process.pid, signal.SIGKILL)
        with pytest.raises(RuntimeError) as caught:
            finish(process)
        assert process.returncode == -signal.SIGKILL
        assert str(-signal.SIGKILL) in str(caught.value)

    def test_stop_terminates_without_error(self):
        process = Process("sleeper", python("import time; time.sleep(60)"), timeout=None)
        process.stop()
        finish(process)  # asked to stop: no error
        assert process.returncode == -signal.SIGTERM

    def test_stop_kills_a_program_ignoring_sigterm(self):
        code = "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint('ready', flush=True)\ntime.sleep(60)"
        process = Process("stubborn", python(code), timeout=None)
        process.grace_period = 0.3
        read_until(process.stdout, "ready")
        process.stop()
        finish(process)
        assert process.returncode == -signal.SIGKILL

    def test_kill(self):
        process = Process("sleeper", python("import time; time.sleep(60)"), timeout=None)
        process.kill()
        finish(process)
        assert process.returncode == -signal.SIGKILL

    def test_twenty_at_once(self):
        processes = [Process("p" + str(i), python("print(%d)" % i)) for i in range(20)]
        for process in processes:
            finish(process)
        assert [drain(p.stdout) for p in processes] == [[str(i)] for i in range(20)]
        assert len({p.pid for p in processes}) == 20

    def test_missing_program_is_a_clear_error(self, tmp_path):
        with pytest.raises(FileNotFoundError) as caught:
            Process("missing", ["no-such-program-here", "x"], cwd=str(tmp_path))
        message = str(caught.value)
        assert "no-such-program-here" in message
        assert str(tmp_path) in message
        assert "missing" in message

    def test_missing_working_directory(self, tmp_path):
        where = str(tmp_path / "not-here")
        with pytest.raises(OSError) as caught:
            Process("nowhere", ["ls"], cwd=where)
        assert where in str(caught.value)

    def test_bad_arguments(self):
        with pytest.raises(TypeError):
            Process("line", "echo hi")  # a command line needs shell=True
        with pytest.raises(ValueError):
            Process("empty", [])
        with pytest.raises(ValueError):
            Process("negative", ["ls"], timeout=-1)

    def test_shell_and_env_and_cwd(self, tmp_path):
        process = finish(Process("shell", "echo $((1+2)) $MO_TEST_VALUE; pwd", shell=True, cwd=tmp_path, env={"MO_TEST_VALUE": "x y"}))
        assert drain(process.stdout) == ["3 x y", os.path.realpath(str(tmp_path))]

    def test_child_of_the_creating_thread(self):
        process = Process("tree", python("import time; time.sleep(60)"), timeout=None)
        try:
            assert process in MAIN_THREAD.children
            assert process.parent is MAIN_THREAD
        finally:
            process.stop()
            finish(process)
        assert wait_true(lambda: process not in MAIN_THREAD.children)

    def test_finished_process_leaves_the_tree(self):
        process = Process("quick", python("pass"))
        assert process.stopped.wait(till=Till(seconds=20))
        assert wait_true(lambda: process not in MAIN_THREAD.children)

    def test_stopping_the_parent_thread_stops_the_process(self):
        made = []

        def work(please_stop):
            made.append(Process("inner", python("import time; time.sleep(60)"), timeout=None))
            please_stop.wait()

        thread = Thread.run("owner", work)
        assert wait_true(lambda: made)
        thread.stop()
        thread.join(till=Till(seconds=30))
        assert made[0].stopped
        assert made[0].returncode == -signal.SIGTERM

    def test_context_manager_joins(self):
        with Process("with", python("print('in')")) as process:
            pass
        assert process.stopped
        assert drain(process.stdout) == ["in"]

    def test_debug_logs_lines(self, log):
        finish(Process("loud", python("print('said this')"), debug=True))
        assert "said this" in log.text()

    def test_unjoined_failure_is_reported_when_the_parent_ends(self):
        result = run_python(
            """
            import sys
            from mo_threads import Thread
            from mo_threads.processes import Process

            def work(please_stop):
                process = Process("failing", [sys.executable, "-c", "import sys; sys.stderr.write('bad\\\\n'); sys.exit(5)"])
                process.exited.wait()  # it failed on its own, before the end of this thread stops it

            Thread.run("owner", work).join()
            print("joined")
            """,
            timeout=60,
        )
        assert "joined" in result.stdout
        output = result.stdout + result.stderr
        assert "failing" in output and "code 5" in output


def sleepers(seconds: str) -> List[int]:
    """The pids of the live `sleep <seconds>` programs (zombies count as gone); Linux /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/" + entry + "/cmdline", "rb") as file:
                cmdline = file.read().split(b"\0")
            with open("/proc/" + entry + "/stat") as file:
                state = file.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if cmdline[:2] == [b"sleep", seconds.encode()] and state != "Z":
            found.append(int(entry))
    return found


@pytest.mark.skipif(not os.path.isdir("/proc") or not hasattr(os, "killpg"), reason="needs process groups and /proc")
class TestProcessGroup:
    """Stopping a program ends what it started: the whole process group (issue 21, point 15)."""

    def start(self, **kwargs) -> tuple:
        seconds = "31.%06d" % random.randrange(10**6)  # names this test's grandchild in /proc
        process = Process("group", ["sh", "-c", "sleep " + seconds + "; echo done"], **kwargs)
        assert wait_true(lambda: sleepers(seconds)), "the grandchild never started"
        return process, seconds

    def check_ended(self, process: Process, seconds: str, ended_at: float, stdout: tuple = ()) -> None:
        finish(process, raise_on_error=False)
        assert time.monotonic() - ended_at < 3.0  # the pipes closed with the group, no drain wait
        assert wait_true(lambda: not sleepers(seconds), timeout=5), "the grandchild survived"
        assert drain(process.stdout) == list(stdout)

    def test_stop(self):
        process, seconds = self.start(timeout=None)
        process.stop()
        self.check_ended(process, seconds, time.monotonic())

    def test_kill(self):
        process, seconds = self.start(timeout=None)
        process.kill()
        self.check_ended(process, seconds, time.monotonic())

    def test_silence_timeout(self):
        process, seconds = self.start(timeout=0.5, startup_timeout=0.1)
        assert process.exited.wait(till=Till(seconds=20))
        self.check_ended(process, seconds, time.monotonic())
        with pytest.raises(RuntimeError):
            process.join()

    def test_kill_after_the_program_exited_ends_what_holds_its_pipes(self):
        seconds = "31.%06d" % random.randrange(10**6)
        process = Process("leaves a child", ["sh", "-c", "sleep " + seconds + " & echo started"], timeout=None)
        assert process.exited.wait(till=Till(seconds=20))
        assert wait_true(lambda: sleepers(seconds)), "the grandchild never started"
        process.kill()
        self.check_ended(process, seconds, time.monotonic(), stdout=("started",))

    def test_without_process_groups_only_the_program_is_signalled(self, monkeypatch):
        # the fallback where os.setsid/os.killpg do not exist
        from mo_threads import processes

        monkeypatch.setattr(Process, "_own_process_group", False)
        monkeypatch.setattr(processes, "PIPE_DRAIN_SECONDS", 0.2)  # the grandchild holds the pipes
        process, seconds = self.start(timeout=None)
        try:
            process.stop()
            finish(process, raise_on_error=False)
            assert process.returncode == -signal.SIGTERM
            assert sleepers(seconds)  # what it started lives on
        finally:
            for pid in sleepers(seconds):
                os.kill(pid, signal.SIGKILL)

    def test_shutdown(self):
        seconds = "31.%06d" % random.randrange(10**6)
        result = run_python(
            """
            import sys
            from mo_threads.processes import Process
            from tests.helpers import wait_true
            from tests.test_processes import sleepers

            process = Process("group", ["sh", "-c", "sleep " + sys.argv[1] + "; echo done"], timeout=None)
            assert wait_true(lambda: sleepers(sys.argv[1]))
            print("running", flush=True)
            # the program ends here: the shutdown stops the process
            """,
            seconds,
            timeout=60,
        )
        assert "running" in result.stdout, result.stderr
        assert wait_true(lambda: not sleepers(seconds), timeout=5), "the grandchild survived the shutdown"

    def test_forced_exit(self):
        # a signal during the shutdown forces the exit at once (os._exit): the programs, in their own
        # process groups, get no Ctrl-C from the terminal, so the forced exit must end them itself,
        # also one still in its grace period
        seconds = "31.%06d" % random.randrange(10**6)
        proc = start_python(
            """
            import sys
            from mo_threads import Thread, stop_main_thread
            from mo_threads.processes import Process
            from tests.helpers import wait_true
            from tests.test_processes import sleepers

            # a program slow to stop: it ignores SIGTERM, and gets SIGKILL only after its grace period
            process = Process("group", ["sh", "-c", "trap '' TERM; sleep " + sys.argv[1] + "; echo done"], timeout=None)
            process.grace_period = 30
            assert wait_true(lambda: sleepers(sys.argv[1]))
            Thread.run("stubborn", lambda please_stop: __import__("time").sleep(60))
            print("running", flush=True)
            stop_main_thread()  # waits for the stubborn thread: a signal now forces the exit
            """,
            seconds,
        )
        try:
            wait_for_line(proc, "running")
            time.sleep(0.5)  # the shutdown is under way
            send(proc, signal.SIGTERM)
            result = finish_python(proc, timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert result.returncode == 128 + signal.SIGTERM, result.stderr
        assert wait_true(lambda: not sleepers(seconds), timeout=5), "the grandchild survived the forced exit"


class TestShutdownSignals:
    """A child program built on wait_for_shutdown_signal stops in order."""

    def run_program(self, stop) -> Process:
        program = os.path.join(PROGRAMS, "shutdown_on_signal.py")
        process = Process("program", [PY, program], env=child_env(), timeout=None)
        try:
            assert read_until(process.stdout, "ready") == ["ready"]
            stop(process)
            finish(process, seconds=30, raise_on_error=False)
        finally:
            if not process.stopped:
                process.kill()
                process.join(raise_on_error=False)
        return process

    def check(self, process: Process) -> None:
        assert program_lines("\n".join(drain(process.stdout))) == ["worker cleanup", "main done"]
        assert process.returncode == 0, drain(process.stderr)

    def test_sigint(self):
        self.check(self.run_program(lambda p: os.kill(p.pid, signal.SIGINT)))

    def test_sigterm(self):
        self.check(self.run_program(lambda p: os.kill(p.pid, signal.SIGTERM)))

    def test_exit_on_stdin(self):
        self.check(self.run_program(lambda p: p.stdin.add("exit")))

    def test_shutdown_stops_running_processes(self):
        result = run_python(
            """
            import sys
            from mo_threads import stop_main_thread
            from mo_threads.processes import Process

            process = Process("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"], timeout=None)
            stop_main_thread()
            print("stopped", bool(process.stopped), process.returncode)
            """,
            timeout=60,
        )
        assert "stopped True -15" in result.stdout, result.stdout + result.stderr
