"""Tests for deadlines down the thread tree: `Thread(..., deadline=)` and `remaining()`."""

from __future__ import annotations

import gc
import math
import threading
import time
import weakref
from typing import Any, Dict, List, Optional

import pytest

from mo_threads import MAIN_THREAD, Signal, Thread, ThreadGroup, Till, current_thread
from mo_threads import till as till_module
from tests.helpers import wait_true


def wait_for_stop(please_stop: Signal) -> float:
    """Park until please_stop (at most 30 s); return when it fired (time.time())."""
    please_stop.wait(till=Till(seconds=30))
    return time.time()


class TestDeadline:
    def test_own_deadline_stops_the_thread(self) -> None:
        start = time.time()
        thread = Thread.run("bounded", wait_for_stop, deadline=0.2)
        stopped_at = thread.join(till=Till(seconds=20))
        assert 0.2 <= stopped_at - start + 0.01  # never before the deadline (a timer's resolution aside)
        assert stopped_at - start < 10
        assert thread.please_stop

    def test_inherited_two_levels_down(self) -> None:
        seen: Dict[str, Any] = {}

        def grandchild(please_stop: Signal) -> float:
            seen["grandchild remaining"] = current_thread().remaining()
            seen["grandchild deadline"] = current_thread().deadline
            return wait_for_stop(please_stop)

        def child(please_stop: Signal) -> float:
            # no deadline= here, nor for the grandchild: both inherit the grandparent's
            return Thread.run("grandchild", grandchild).join()  # type: ignore[no-any-return]

        def grandparent(please_stop: Signal) -> float:
            seen["grandparent deadline"] = current_thread().deadline
            result = Thread.run("child", child).join()
            seen["grandparent stopped"] = bool(please_stop)
            return result  # type: ignore[no-any-return]

        start = time.time()
        stopped_at = Thread.run("grandparent", grandparent, deadline=0.3).join(till=Till(seconds=20))
        assert 0.29 <= stopped_at - start < 10
        assert seen["grandchild deadline"] is seen["grandparent deadline"]  # the same Till: no new timer
        assert isinstance(seen["grandparent deadline"], Till)
        assert 0 < seen["grandchild remaining"] <= 0.3
        assert seen["grandparent stopped"]

    def test_own_tighter_deadline_wins(self) -> None:
        seen: Dict[str, Any] = {}

        def child(please_stop: Signal) -> float:
            seen["child remaining"] = current_thread().remaining()
            return wait_for_stop(please_stop)

        def parent(please_stop: Signal) -> None:
            start = time.time()
            seen["child took"] = Thread.run("child", child, deadline=0.2).join() - start
            seen["parent stopped after child"] = bool(please_stop)
            seen["parent remaining"] = current_thread().remaining()

        Thread.run("parent", parent, deadline=30).join(till=Till(seconds=20))
        assert 0.19 <= seen["child took"] < 10
        assert seen["child remaining"] <= 0.2
        assert seen["parent stopped after child"] is False
        assert 20 < seen["parent remaining"] <= 30

    def test_looser_own_deadline_makes_no_timer(self) -> None:
        seen: Dict[str, Any] = {}

        def child(please_stop: Signal) -> float:
            me = current_thread()
            seen["deadline"] = me.deadline
            seen["own"] = me._own_deadline  # type: ignore[attr-defined]
            return wait_for_stop(please_stop)

        def parent(please_stop: Signal) -> float:
            seen["parent deadline"] = current_thread().deadline
            return Thread.run("child", child, deadline=60).join()  # type: ignore[no-any-return]

        start = time.time()
        stopped_at = Thread.run("parent", parent, deadline=0.2).join(till=Till(seconds=20))
        assert 0.19 <= stopped_at - start < 10  # the parent's deadline stopped the child
        assert seen["deadline"] is seen["parent deadline"]
        assert seen["own"] is None

    def test_deadline_signal(self) -> None:
        deadline = Signal("cut off")
        remaining: List[Optional[float]] = []

        def work(please_stop: Signal) -> str:
            remaining.append(current_thread().remaining())
            please_stop.wait(till=Till(seconds=30))
            return "stopped"

        thread = Thread.run("signal deadline", work, deadline=deadline)
        wait_true(lambda: remaining)
        assert thread.is_alive() and not thread.please_stop
        deadline.go()
        assert thread.join(till=Till(seconds=20)) == "stopped"
        assert remaining == [None]  # a Signal that is not a Till has no known time
        assert not deadline._jobs  # our callback left the long-lived signal

    def test_deadline_zero_stops_at_once(self) -> None:
        thread = Thread.run("no time", wait_for_stop, deadline=0)
        thread.join(till=Till(seconds=20))
        assert thread.please_stop

    def test_deadline_in_the_past_for_a_late_child(self) -> None:
        # a child started after the parent's deadline fired starts stopped
        def parent(please_stop: Signal) -> bool:
            please_stop.wait(till=Till(seconds=30))
            child = Thread.run("late child", wait_for_stop)
            child.join(till=Till(seconds=20))
            return bool(child.please_stop)

        assert Thread.run("parent", parent, deadline=0.05).join(till=Till(seconds=20)) is True


    def test_a_detached_thread_inherits_nothing(self) -> None:
        # remove_child before start() detaches a thread (mo-logs' logging thread): its
        # parent's stop() never reaches it, so it must not carry the parent's deadline
        seen: Dict[str, Any] = {}

        def parent(please_stop: Signal) -> None:
            detached = Thread("detached", wait_for_stop)
            current_thread().remove_child(detached)
            detached.start()
            seen["thread"] = detached
            seen["remaining"] = detached.remaining()
            please_stop.wait(till=Till(seconds=30))

        Thread.run("parent", parent, deadline=0.05).join(till=Till(seconds=20))
        detached = seen["thread"]
        try:
            assert seen["remaining"] is None
            assert not detached.please_stop
        finally:
            detached.stop()
            detached.join(till=Till(seconds=20))


class TestRemaining:
    def test_unbounded(self) -> None:
        assert MAIN_THREAD.remaining() is None
        assert current_thread().remaining() is None
        answers: List[Optional[float]] = []

        def alien() -> None:
            answers.append(current_thread().remaining())

        other = threading.Thread(target=alien)
        other.start()
        other.join()
        assert answers == [None]
        thread = Thread.run("unbounded", lambda please_stop: current_thread().remaining())
        assert thread.join(till=Till(seconds=20)) is None

    def test_counts_down(self) -> None:
        def work(please_stop: Signal) -> List[float]:
            first = current_thread().remaining()
            time.sleep(0.1)
            second = current_thread().remaining()
            return [first, second]  # type: ignore[list-item]

        first, second = Thread.run("counting", work, deadline=10).join(till=Till(seconds=20))
        assert isinstance(first, float) and isinstance(second, float)
        assert 8 < first <= 10
        assert second < first

    def test_zero_once_passed(self) -> None:
        def work(please_stop: Signal) -> Optional[float]:
            please_stop.wait(till=Till(seconds=30))
            return current_thread().remaining()

        assert Thread.run("passed", work, deadline=0.05).join(till=Till(seconds=20)) == 0.0

    def test_group_inside_a_thread_inherits(self) -> None:
        def work(please_stop: Signal) -> Optional[float]:
            with ThreadGroup("inner") as group:
                member = group.run("member", lambda please_stop: current_thread().remaining())
            return member.join()  # type: ignore[no-any-return]

        left = Thread.run("outer", work, deadline=20).join(till=Till(seconds=20))
        assert left is not None and 10 < left <= 20

    def test_group_member_deadline(self) -> None:
        start = time.time()
        with ThreadGroup("members") as group:
            fast = group.run("fast", wait_for_stop, deadline=0.1)
            slow = group.run("slow", lambda please_stop: please_stop.wait(till=Till(seconds=0.5)))
        assert fast.join() - start < 10
        assert not slow.please_stop  # only the member with the deadline was stopped


class TestBadDeadline:
    @pytest.mark.parametrize(
        "bad, error, words",
        [
            (-1, ValueError, ["deadline", "-1"]),
            (math.nan, ValueError, ["deadline", "NaN"]),
            ("soon", TypeError, ["deadline", "str"]),
            (True, TypeError, ["deadline", "bool"]),
            ([1], TypeError, ["deadline", "list"]),
        ],
    )
    def test_refused_at_the_call(self, bad: Any, error: type, words: List[str]) -> None:
        before = list(MAIN_THREAD.children)
        for make in (Thread, Thread.run):
            with pytest.raises(error) as info:  # type: ignore[call-overload]
                make("worker", wait_for_stop, deadline=bad)
            message = str(info.value)
            assert "'worker'" in message
            for word in words:
                assert word in message
        assert MAIN_THREAD.children == before  # nothing half-done

    def test_group_member(self) -> None:
        with ThreadGroup("g") as group:
            with pytest.raises(ValueError, match="deadline"):
                group.run("m", wait_for_stop, deadline=-2)
            with pytest.raises(TypeError, match="restarted"):
                group.run("m", wait_for_stop, restart="always")
            assert not group.members


class TestShadowing:
    """A target that declares a `deadline` parameter gets the keyword, as in mo-threads 6.x."""

    def test_declared_parameter_goes_to_the_target(self) -> None:
        def work(deadline: str, please_stop: Signal) -> Any:
            return deadline, current_thread().remaining(), current_thread().deadline

        assert Thread.run("own", work, deadline="tomorrow").join(till=Till(seconds=20)) == ("tomorrow", None, None)

    def test_keyword_only_parameter_goes_to_the_target(self) -> None:
        def work(*, please_stop: Signal, deadline: float = 0) -> float:
            return deadline

        assert Thread.run("own", work, deadline=-5).join(till=Till(seconds=20)) == -5  # not checked: not ours

    def test_var_keyword_target_gets_a_thread_deadline(self) -> None:
        def work(**kwargs: Any) -> Any:
            return sorted(kwargs), current_thread().remaining()

        names, left = Thread.run("kw", work, deadline=20).join(till=Till(seconds=20))
        assert names == ["please_stop"]
        assert left is not None and 10 < left <= 20


class TestNoLeakedTimers:
    def test_timer_let_go_when_the_thread_ends(self) -> None:
        held: List[Any] = []

        def work(please_stop: Signal) -> None:
            deadline = current_thread().deadline
            held.append(weakref.ref(deadline))  # type: ignore[arg-type]
            assert deadline in till_module._TIMER._strong  # held by the timer while the thread runs

        Thread.run("short", work, deadline=3600).join(till=Till(seconds=20))
        gc.collect()
        assert held[0]() is None  # the Till is gone: nothing holds it, the timer entry is dead

    def test_many_threads_leave_no_strong_timers(self) -> None:
        before = len(till_module._TIMER._strong)
        threads = [Thread.run("t" + str(i), lambda please_stop: None, deadline=3600) for i in range(50)]
        for thread in threads:
            thread.join(till=Till(seconds=20))
        assert len(till_module._TIMER._strong) <= before
