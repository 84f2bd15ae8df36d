"""Tests for mo_threads.groups.ThreadGroup: structured concurrency for threads."""

from __future__ import annotations

import sys
import threading
import time
from typing import Any, List

import pytest

from mo_threads import Signal, Till, current_thread
from mo_threads import groups as groups_module
from mo_threads.groups import ThreadGroup, ThreadGroupError
from tests.helpers import finish, program_lines, run_python, send, start_python, wait_for_line, wait_true


pytestmark = pytest.mark.usefixtures("no_leaked_threads")


def wait_for_stop(please_stop: Signal) -> str:
    please_stop.wait()
    return "stopped"


def fail_soon(please_stop: Signal) -> None:
    time.sleep(0.05)
    raise ValueError("member failed")


class TestThreadGroup:
    def test_waits_for_every_member(self) -> None:
        results: List[int] = []
        lock = threading.Lock()

        def work(n: int, please_stop: Signal) -> int:
            time.sleep(0.01 * n)
            with lock:
                results.append(n)
            return n * n

        with ThreadGroup("squares") as group:
            members = [group.run("square " + str(n), work, n) for n in range(5)]
        assert sorted(results) == [0, 1, 2, 3, 4]
        assert [m.result for m in members] == [0, 1, 4, 9, 16]
        assert group.stopped and not group.failures

    def test_one_of_ten_fails_and_the_other_nine_stop(self) -> None:
        stopped_at: List[float] = []
        lock = threading.Lock()

        def patient(please_stop: Signal) -> None:
            please_stop.wait(timeout=30)
            with lock:
                stopped_at.append(time.time())

        failed_at: List[float] = []

        def failing(please_stop: Signal) -> None:
            time.sleep(0.05)
            failed_at.append(time.time())
            raise ValueError("member failed")

        with pytest.raises(ThreadGroupError) as info:
            with ThreadGroup("ten") as group:
                for i in range(9):
                    group.run("patient " + str(i), patient)
                group.run("failing", failing)
        assert len(stopped_at) == 9
        assert max(stopped_at) - failed_at[0] < 1.0  # the bound: the other nine stop within a second
        error = info.value
        assert len(error.exceptions) == 1 and isinstance(error.exceptions[0], ValueError)
        assert "1 of 10" in str(error) and "ten" in str(error)
        assert group.failures[0][0].name == "failing"
        if sys.version_info >= (3, 11):
            assert isinstance(error, ExceptionGroup)  # noqa: F821
        else:
            assert error.__cause__ is error.exceptions[0]

    def test_error_before_python_3_11(self, monkeypatch: Any) -> None:
        # load the module that defines ThreadGroupError as an older Python would: it is then a plain Exception
        import importlib.util

        from mo_threads import _vocabulary

        monkeypatch.setattr(sys, "version_info", (3, 9, 0))
        spec = importlib.util.spec_from_file_location("vocabulary_before_3_11", _vocabulary.__file__)
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        spec.loader.exec_module(module)  # type: ignore[union-attr]
        monkeypatch.undo()
        monkeypatch.setattr(groups_module, "ThreadGroupError", module.ThreadGroupError)
        first = ValueError("a")
        error = groups_module._group_error("Thread group 'g': 2 of 3 members failed", [first, SystemExit(3)])
        assert type(error).__mro__[1] is Exception
        assert error.exceptions[0] is first and error.__cause__ is first
        assert isinstance(error.exceptions[1], RuntimeError) and isinstance(error.exceptions[1].__cause__, SystemExit)
        assert str(error) == "Thread group 'g': 2 of 3 members failed (2 sub-exceptions)"

    def test_except_star_matches_members(self) -> None:
        if sys.version_info < (3, 11):
            pytest.skip("except* needs Python 3.11")
        code = (
            "caught = []\n"
            "try:\n"
            "    with ThreadGroup('g') as group:\n"
            "        group.run('a', fail_soon)\n"
            "        group.run('b', fail_soon)\n"
            "except* ValueError as group_error:\n"
            "    caught.extend(group_error.exceptions)\n"
        )
        scope: dict = {"ThreadGroup": ThreadGroup, "fail_soon": fail_soon}
        exec(code, scope)
        assert 1 <= len(scope["caught"]) <= 2  # the second may have been stopped before failing

    def test_exception_in_block_stops_members_and_propagates(self) -> None:
        with pytest.raises(KeyError):
            with ThreadGroup("body fails") as group:
                member = group.run("waiter", wait_for_stop)
                raise KeyError("from the block")
        assert member.result == "stopped"

    def test_block_error_and_member_failure_together(self) -> None:
        with pytest.raises(ThreadGroupError) as info:
            with ThreadGroup("both") as group:
                group.run("failing", fail_soon)
                assert wait_true(lambda: group.failures)
                raise KeyError("block")
        assert [type(e) for e in info.value.exceptions] == [KeyError, ValueError]

    def test_first_completed_stops_the_rest(self) -> None:
        with ThreadGroup("race", mode="first-completed") as group:
            slow = group.run("slow", wait_for_stop)
            fast = group.run("fast", lambda please_stop: "fast")
        assert group.first_completed is fast
        assert slow.result == "stopped" and fast.result == "fast"

    def test_deadline_stops_all(self) -> None:
        start = time.time()
        with ThreadGroup("bounded", deadline=0.1) as group:
            assert group.remaining() is not None and 0 < group.remaining() <= 0.1
            members = [group.run("waiter", wait_for_stop) for _ in range(3)]
        assert time.time() - start >= 0.09
        assert group.timed_out and all(m.result == "stopped" for m in members)

    def test_deadline_signal_and_no_timeout_when_done_first(self) -> None:
        with ThreadGroup("quick", deadline=Till(seconds=30)) as group:
            group.run("quick", lambda please_stop: None)
        assert not group.timed_out
        assert ThreadGroup("none").remaining() is None

    def test_nested_groups(self) -> None:
        events: List[str] = []
        lock = threading.Lock()

        def note(what: str) -> None:
            with lock:
                events.append(what)

        def inner_member(please_stop: Signal) -> None:
            please_stop.wait(timeout=30)
            note("inner stopped")

        def outer_member(please_stop: Signal) -> None:
            # a group inside a member: stopped with the member
            with ThreadGroup("inside member") as inner:
                inner.run("deep", inner_member)
            note("outer member done")

        with pytest.raises(ThreadGroupError) as info:
            with ThreadGroup("outer", deadline=30) as outer:
                outer.run("outer member", outer_member)
                with ThreadGroup("inner", deadline=60) as inner:
                    assert inner.remaining() <= 30  # the outer deadline is tighter
                    node = inner._node
                    assert node.parent is outer._node  # nested in the tree
                    inner.run("inner waiter", inner_member)
                    outer.run("failing", fail_soon)  # an outer failure stops the inner group too
        assert "failing" in str(info.value) or len(info.value.exceptions) == 1
        assert sorted(events) == ["inner stopped", "inner stopped", "outer member done"]

    def test_nested_failure_propagates_to_outer(self) -> None:
        with pytest.raises(ThreadGroupError) as info:
            with ThreadGroup("outer") as outer:
                waiter = outer.run("waiter", wait_for_stop)
                with ThreadGroup("inner") as inner:
                    inner.run("failing", fail_soon)
        # the inner group's error is the outer block's exception: it propagates unchanged
        assert "'inner'" in str(info.value) and isinstance(info.value.exceptions[0], ValueError)
        assert waiter.result == "stopped"

    def test_members_are_in_the_thread_tree(self) -> None:
        seen: List[Any] = []

        def look(please_stop: Signal) -> None:
            me = current_thread()
            seen.append((me.parent, me.parent.parent))

        with ThreadGroup("tree") as group:
            group.run("look", look)
        assert seen[0][0] is group._node and seen[0][1] is current_thread()
        assert group._node not in current_thread().children

    def test_member_can_start_members(self) -> None:
        def spawner(please_stop: Signal) -> None:
            for i in range(3):
                group.run("child " + str(i), lambda please_stop: time.sleep(0.02))

        with ThreadGroup("spawning") as group:
            group.run("spawner", spawner)
        assert len(group.members) == 4 and not any(m.is_alive() for m in group.members)

    def test_run_outside_block_and_bad_arguments(self) -> None:
        group = ThreadGroup("unused")
        with pytest.raises(RuntimeError):
            group.run("x", wait_for_stop)
        with pytest.raises(ValueError):
            ThreadGroup("bad", mode="some")
        with pytest.raises(ValueError):
            ThreadGroup("bad", deadline=-1)
        with ThreadGroup("g") as group:
            with pytest.raises(TypeError, match="please_stop"):
                group.run("no stop", lambda: None)
        with pytest.raises(RuntimeError):
            group.run("late", wait_for_stop)

    def test_shutdown_stops_members(self) -> None:
        result = run_python(
            """
            import sys
            from mo_threads import Thread, stop_main_thread
            from mo_threads.groups import ThreadGroup

            def member(please_stop):
                please_stop.wait()
                sys.stdout.write("member stopped\\n")

            def owner(please_stop):
                with ThreadGroup("g") as group:
                    group.run("m1", member)
                    group.run("m2", member)
                print("group ended", flush=True)

            Thread.run("owner", owner)
            import time; time.sleep(0.2)
            stop_main_thread()
            print("shut down", flush=True)
            """,
            timeout=30,
        )
        assert result.returncode == 0, result.stderr
        assert program_lines(result.stdout) == ["member stopped", "member stopped", "group ended", "shut down"]

    def test_ctrl_c_in_the_block_stops_members(self) -> None:
        proc = start_python(
            """
            import sys
            from mo_threads.groups import ThreadGroup

            def member(please_stop):
                please_stop.wait()
                sys.stdout.write("member stopped\\n")

            try:
                with ThreadGroup("g") as group:
                    group.run("m", member)
                    print("ready", flush=True)
                    group.please_stop.wait()  # parked in the block (never fires by itself)
            except KeyboardInterrupt:
                print("interrupted", flush=True)
            """
        )
        wait_for_line(proc, "ready")
        send(proc)
        result = finish(proc, timeout=30)
        assert program_lines(result.stdout) == ["member stopped", "interrupted"], result.stderr
