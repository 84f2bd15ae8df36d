from __future__ import annotations

import gc
import os
import signal
import weakref
from typing import List

import pytest

from mo_threads import PLEASE_STOP, Thread, ThreadTimeout, Till
from mo_threads import commands as commands_module
from mo_threads.commands import SESSIONS, Command, quote_command
from tests.helpers import run_python, wait_true


@pytest.fixture(autouse=True)
def close_sessions():
    yield
    SESSIONS.close_all()


def drain(queue, seconds: float = 20) -> List[str]:
    till = Till(seconds=seconds)
    lines = []
    while True:
        line = queue.pop(till=till)
        if line is PLEASE_STOP:
            return lines
        if line is None:
            raise AssertionError("queue did not close in " + str(seconds) + " s; got " + repr(lines))
        lines.append(line)


def run(name, params, **kwargs) -> Command:
    command = Command(name, params, **kwargs)
    try:
        return command.join(till=Till(seconds=30))
    except ThreadTimeout:
        command.kill()
        raise AssertionError("command " + name + " hung")


class TestCommand:
    def test_output_and_exit_code(self):
        command = run("hello", "echo hello; echo oops >&2")
        assert drain(command.stdout) == ["hello"]
        assert drain(command.stderr) == ["oops"]
        assert command.returncode == 0

    def test_exit_code_and_raise_on_error(self):
        command = run("fails", "echo why >&2; exit 3")
        assert command.returncode == 3
        with pytest.raises(RuntimeError) as caught:
            command.join(raise_on_error=True)
        assert "code 3" in str(caught.value) and "why" in str(caught.value)

    def test_same_shell_serves_commands_in_a_row(self):
        first = run("first", "echo $$")
        second = run("second", "echo $$")
        assert drain(first.stdout) == drain(second.stdout) == [str(first.pid)]
        assert first.pid == second.pid

    def test_session_is_back_in_the_pool_when_join_returns(self, monkeypatch):
        # the reader thread that ends a command gives its session back: slowed down there, the
        # next command of the joining thread must still find it, not start another bash
        release = commands_module._Sessions.release

        def slow_release(sessions, session):
            Till(seconds=0.2).wait()
            release(sessions, session)

        monkeypatch.setattr(commands_module._Sessions, "release", slow_release)
        first = run("first", "true")
        second = run("second", "true")
        assert first.pid == second.pid

    def test_output_isolation_between_consecutive_commands(self):
        first = run("first", "echo one; echo one-err >&2; printf no-newline")
        second = run("second", "echo two; echo two-err >&2")
        assert first.pid == second.pid
        assert drain(first.stdout) == ["one", "no-newline"]
        assert drain(first.stderr) == ["one-err"]
        assert drain(second.stdout) == ["two"]
        assert drain(second.stderr) == ["two-err"]

    def test_arguments_are_shell_quoted(self):
        tricky = "it's $HOME; `echo x` \"q\" * \\ $(echo y)"
        command = run("quoted", ["printf", "%s\\n", tricky, ""])
        assert drain(command.stdout) == [tricky, ""]
        assert quote_command(["a b", "c"]) == "'a b' c"

    def test_syntax_error_stays_in_its_command(self):
        broken = run("broken", 'echo "unbalanced')
        assert broken.returncode != 0
        assert drain(broken.stderr)
        after = run("after", "echo fine")
        assert drain(after.stdout) == ["fine"]
        assert after.pid == broken.pid

    def test_cd_and_exit_do_not_leak_into_the_next_command(self, tmp_path):
        where = os.path.realpath(str(tmp_path))
        first = run("cd", "cd / && exit 4", cwd=where)
        assert first.returncode == 4
        second = run("pwd", "pwd", cwd=where)
        assert drain(second.stdout) == [where]
        assert second.pid == first.pid

    def test_shell_state_does_not_leak_into_the_next_command(self):
        first = run(
            "changes",
            "export MO_LEAK=1; MO_VAR=2; set -e; __mo_w='echo hijacked'; printf() { :; }; echo done",
        )
        assert drain(first.stdout) == ["done"]
        second = run("reads", "echo \"[$MO_LEAK][$MO_VAR][$-]\"; false; echo after")
        assert second.pid == first.pid
        lines = drain(second.stdout)
        assert lines[0].startswith("[][][") and "e" not in lines[0].split("][")[2]
        assert lines[1:] == ["after"]

    def test_a_command_can_not_close_its_subshell(self, tmp_path):
        where = os.path.realpath(str(tmp_path))
        escape = run("escape", "true ); cd /; ( true", cwd=where)
        assert escape.returncode != 0
        after = run("pwd", "pwd", cwd=where)
        assert after.pid == escape.pid
        assert drain(after.stdout) == [where]

    def test_odd_endings_run_as_written(self):
        # a trailing backslash and a here-document without its end take the line after them
        assert drain(run("backslash", "echo \\\\").stdout) == ["\\"]
        assert drain(run("here", "cat <<END\nbody").stdout) == ["body"]
        assert drain(run("parenthesis", "echo $(echo a) # (b)").stdout) == ["a"]

    def test_command_runs_at_the_top_level_of_the_shell(self):
        command = run("top", "echo \"$# [$1] [${FUNCNAME[*]}] [${__mo_c-}${__mo_w-}]\"; local x 2>/dev/null || echo top")
        assert drain(command.stdout) == ["0 [] [] []", "top"]

    def test_multi_line_command(self):
        command = run("lines", "echo one\necho 'two\nthree'")
        assert drain(command.stdout) == ["one", "two", "three"]

    def test_sessions_are_kept_per_cwd_and_env(self, tmp_path):
        here = run("here", "echo $$ $MO_V", cwd=str(tmp_path))
        there = run("there", "echo $$ $MO_V", cwd=str(tmp_path), env={"MO_V": "set"})
        assert here.pid != there.pid
        assert drain(there.stdout) == [str(there.pid) + " set"]

    def test_command_does_not_read_the_session_stdin(self):
        command = run("cat", "cat; echo after")
        assert drain(command.stdout) == ["after"]

    def test_timeout_kills_the_command_and_its_children(self):
        command = Command("slow", "sleep 60 & sleep 60", timeout=0.3)
        command.join(till=Till(seconds=20))
        assert command.returncode == -signal.SIGKILL
        with pytest.raises(RuntimeError) as caught:
            command.join(raise_on_error=True)
        assert "timeout" in str(caught.value)
        after = run("after", "echo alive")
        assert drain(after.stdout) == ["alive"]
        assert after.pid != command.pid

    def test_kill(self):
        command = Command("killed", "sleep 60")
        command.kill()
        command.join(till=Till(seconds=20))
        assert command.returncode == -signal.SIGKILL

    def test_idle_session_is_closed(self, monkeypatch):
        monkeypatch.setattr(commands_module, "IDLE_SECONDS", 0.2)
        command = run("idle", "true")
        session = command._session
        assert wait_true(lambda: session.exited, timeout=20)
        assert session.returncode == 0
        assert wait_true(lambda: not SESSIONS.idle, timeout=20)

    def test_a_closed_session_is_not_kept_by_its_idle_timer(self):
        command = run("idle", "echo hi")
        session = weakref.ref(command._session)
        del command
        SESSIONS.close_all()
        # its 60 s idle timer let go of it; close_all() returns once the session ended, while the
        # last steps of its threads may still hold it a moment (seen on PyPy under load)
        assert wait_true(lambda: (gc.collect(), session())[1] is None, timeout=20)  # (PyPy's collect() returns None)

    def test_max_stdout_keeps_the_last_lines(self):
        command = run("many", "seq 1 500", max_stdout=100)
        assert drain(command.stdout) == [str(i) for i in range(401, 501)]

    def test_many_lines_are_all_kept(self):
        command = run("many", "seq 1 1000")
        assert len(drain(command.stdout)) == 1000

    def test_without_shell(self):
        command = run("direct", ["echo", "$HOME"], shell=False)
        assert drain(command.stdout) == ["$HOME"]
        assert command.returncode == 0

    def test_concurrent_commands_get_their_own_output(self):
        results = {}

        def work(i, please_stop):
            command = run("c" + str(i), "for j in 1 2 3; do echo " + str(i) + "-$j; done")
            results[i] = drain(command.stdout)

        threads = [Thread.run("t" + str(i), work, i) for i in range(6)]
        for thread in threads:
            thread.join(till=Till(seconds=30))
        assert results == {i: [str(i) + "-1", str(i) + "-2", str(i) + "-3"] for i in range(6)}

    def test_shutdown_closes_sessions(self):
        result = run_python(
            """
            from mo_threads import stop_main_thread
            from mo_threads.commands import Command

            command = Command("one", "echo hi").join()
            session = command._session
            stop_main_thread()
            print("closed", bool(session.exited))
            """,
            timeout=60,
        )
        assert "closed True" in result.stdout, result.stdout + result.stderr

    def test_a_command_that_kills_its_session_is_its_own_failure_only(self):
        # the session is ours, not the program's: its end is the command's exit code, never a
        # failure reported at shutdown; the next command gets a new session
        result = run_python(
            """
            from mo_threads import stop_main_thread
            from mo_threads.commands import Command

            killer = Command("killer", "kill $$").join()
            after = Command("after", "echo alive").join()
            print("codes", killer.returncode, after.returncode, list(after.stdout), killer.pid != after.pid)
            stop_main_thread()
            """,
            timeout=60,
        )
        assert "codes -15 0 ['alive'] True" in result.stdout, result.stdout + result.stderr
        assert "failed" not in result.stderr and "ERROR" not in result.stderr, result.stderr

    def test_bad_arguments(self):
        with pytest.raises(ValueError):
            Command("empty", [])
        with pytest.raises(ValueError):
            Command("max", "true", max_stdout=0)


def test_an_idle_timer_dropped_before_its_check_is_registered_keeps_no_callback(monkeypatch):
    # the session is taken for a new command (its idle timer dropped) between arming the
    # timer and registering the check on it: the check must not stay on that Till
    racing: List[commands_module._Session] = []
    armed: List[Till] = []
    original_arm = commands_module._Session.arm_idle_timer
    original_then = Till.then

    def arm(self, turn):
        racing.append(self)
        original_arm(self, turn)

    def then(self, fn, *args, **kwargs):
        if getattr(fn, "__name__", "") == "close" and racing:
            racing.pop().drop_idle_timer()
            armed.append(self)
        return original_then(self, fn, *args, **kwargs)

    monkeypatch.setattr(commands_module._Session, "arm_idle_timer", arm)
    monkeypatch.setattr(Till, "then", then)
    Command("once", "true").join()
    assert wait_true(lambda: bool(armed))
    assert not armed[0]._jobs
