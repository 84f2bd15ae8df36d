"""Tests for mo_threads.threads: Thread, the thread tree, failures, alien threads.

Process exit, OS signals and shutdown are in tests/test_shutdown.py (child processes).
"""

from __future__ import annotations

import threading
import time
from typing import Any, List

import pytest
from mo_logs import logger
from mo_logs.utils import MO_LOGS_EXTRAS

import mo_threads
from mo_threads import (
    MAIN_THREAD,
    NEVER,
    THREAD_TIMEOUT,
    AlienThread,
    BaseThread,
    MainThread,
    RegisterThread,
    Signal,
    Thread,
    Till,
    current_thread,
    join_all_threads,
    register_thread,
    wait_for_shutdown_signal,
)
from mo_threads import _registry
from mo_threads import threads as threads_module
from tests.conftest import LogCapture
from tests.helpers import wait_true


pytestmark = pytest.mark.usefixtures("no_leaked_threads")


def wait_for_stop(please_stop: Signal) -> str:
    please_stop.wait()
    return "stopped"


def explode(message: str = "boom", *, please_stop: Signal) -> None:
    raise ValueError(message)


class TestThread:
    def test_start_runs_the_target_with_args_and_kwargs(self) -> None:
        def add(a: int, b: int, *, scale: int = 1, please_stop: Signal) -> int:
            return (a + b) * scale

        thread = Thread("adder", add, 2, 3, scale=10)
        assert thread.start() is thread
        assert thread.join() == 50

    def test_run_one_liner_returns_the_value(self) -> None:
        assert Thread.run("adder", lambda a, b, please_stop: a + b, 2, 3).join() == 5

    def test_join_raises_wrapped_failure_with_cause_and_names(self) -> None:
        thread = Thread.run("exploder", explode, "boom")
        with pytest.raises(Exception) as info:
            thread.join()
        error = info.value
        assert isinstance(error.__cause__, ValueError)
        assert str(error.__cause__) == "boom"
        assert "boom" in str(error)
        assert "exploder" in str(error)
        assert "boom" in error  # mo_logs Except: find text in the error or its causes

    def test_join_times_out_with_thread_timeout(self) -> None:
        assert issubclass(THREAD_TIMEOUT, TimeoutError)
        thread = Thread.run("sleeper", wait_for_stop)
        with pytest.raises(THREAD_TIMEOUT) as info:
            thread.join(till=Till(seconds=0.1))
        assert "sleeper" in str(info.value)
        assert thread.is_alive()
        thread.stop()
        assert thread.join() == "stopped"

    def test_refuses_target_without_please_stop(self) -> None:
        def no_stop_param(x: int) -> int:
            return x

        with pytest.raises(TypeError) as info:
            Thread.run("bad", no_stop_param, 1)
        assert "no_stop_param" in str(info.value)
        assert "please_stop" in str(info.value)
        with pytest.raises(TypeError, match="no_stop_param"):
            Thread("bad", no_stop_param, 1)
        assert not any(c.name == "bad" for c in MAIN_THREAD.children)

    def test_accepts_target_with_var_kwargs(self) -> None:
        def flexible(**kwargs: Any) -> bool:
            return isinstance(kwargs["please_stop"], Signal)

        assert Thread.run("flexible", flexible).join() is True

    def test_please_stop_kwarg_supplies_the_signal(self) -> None:
        mine = Signal("mine")

        def target(please_stop: Signal) -> bool:
            please_stop.wait()
            return please_stop is mine

        thread = Thread.run("given signal", target, please_stop=mine)
        assert thread.please_stop is mine
        mine.go()
        assert thread.join(till=Till(seconds=10)) is True

    def test_please_stop_kwarg_must_be_a_signal(self) -> None:
        with pytest.raises(TypeError, match="please_stop"):
            Thread("bad signal", wait_for_stop, please_stop="yes")

    def test_stop_asks_the_thread_to_stop(self) -> None:
        thread = Thread.run("stoppable", wait_for_stop)
        assert not thread.please_stop
        thread.stop()
        assert thread.please_stop
        assert thread.join(till=Till(seconds=10)) == "stopped"
        assert thread.stopped
        assert isinstance(thread.stopped, Signal)

    def test_join_of_unstarted_thread_raises(self) -> None:
        thread = Thread("never started", wait_for_stop)
        with pytest.raises(RuntimeError, match="never started"):
            thread.join()

    def test_start_twice_raises(self) -> None:
        thread = Thread.run("twice", wait_for_stop)
        with pytest.raises(RuntimeError, match="twice"):
            thread.start()
        thread.stop()
        thread.join()

    def test_join_with_timeout(self) -> None:
        thread = Thread.run("timed join", wait_for_stop)
        started = time.monotonic()
        with pytest.raises(THREAD_TIMEOUT, match="timed join"):
            thread.join(timeout=0.1)
        assert time.monotonic() - started < 10
        assert thread.is_alive()
        with pytest.raises(THREAD_TIMEOUT):
            thread.join(till=NEVER, timeout=0.05)  # the first of the two ends the wait
        with pytest.raises(TypeError, match="number of seconds"):
            thread.join(timeout="1")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="non-negative"):
            thread.join(timeout=-1)
        thread.stop()
        assert thread.join(timeout=10) == "stopped"

    def test_join_with_bad_till_raises(self) -> None:
        thread = Thread.run("bad till", wait_for_stop)
        with pytest.raises(TypeError, match="Signal"):
            thread.join(till=1.0)
        thread.stop()
        thread.join()

    def test_identity_inside_the_thread(self) -> None:
        seen = {}

        def target(please_stop: Signal) -> None:
            seen["current"] = current_thread()
            seen["Thread.current"] = Thread.current()
            seen["ident"] = threading.get_ident()
            seen["threading name"] = threading.current_thread().name
            please_stop.wait()

        thread = Thread.run("identity", target)
        assert wait_true(lambda: "ident" in seen)
        assert thread.is_alive()
        assert thread.name == "identity"
        assert seen["current"] is thread
        assert seen["Thread.current"] is thread
        assert thread.ident == seen["ident"]
        assert seen["threading name"] == "identity"
        thread.stop()
        thread.join()
        assert not thread.is_alive()

    def test_unstarted_thread_is_not_alive(self) -> None:
        assert not Thread("unstarted", wait_for_stop).is_alive()

    def test_current_thread_in_main_is_the_main_thread(self) -> None:
        assert current_thread() is MAIN_THREAD
        assert Thread.current() is MAIN_THREAD
        assert isinstance(MAIN_THREAD, MainThread)
        assert MAIN_THREAD.ident == threading.main_thread().ident

    def test_context_manager_stops_and_joins(self) -> None:
        with Thread.run("managed", wait_for_stop) as thread:
            assert thread.is_alive()
        assert thread.stopped
        assert thread.result == "stopped"

    def test_an_unstarted_child_does_not_block_its_parent(self) -> None:
        def parent(please_stop: Signal) -> str:
            Thread("child never started", wait_for_stop)
            return "done"

        assert Thread.run("parent", parent).join(till=Till(seconds=10)) == "done"


class TestThreadTree:
    def test_the_creating_thread_is_the_parent(self) -> None:
        made = {}
        ready = Signal()

        def parent(please_stop: Signal) -> None:
            made["child"] = Thread.run("child", wait_for_stop)
            ready.go()
            please_stop.wait()

        thread = Thread.run("parent", parent)
        assert ready.wait(till=Till(seconds=10))
        child = made["child"]
        assert child.parent is thread
        assert child in thread.children
        assert thread in MAIN_THREAD.children
        thread.stop()
        thread.join()
        assert child.stopped
        assert thread not in MAIN_THREAD.children

    def test_children_are_listed_oldest_first_and_leave_in_any_order(self) -> None:
        parent = Thread.run("wide parent", wait_for_stop)
        kids = [Thread.run("kid " + str(i), wait_for_stop, parent_thread=parent) for i in range(20)]
        assert parent.children == kids
        for kid in kids[5:15]:  # from the middle: not the end of the line
            kid.stop()
            kid.join(till=Till(seconds=10))
        assert parent.children == kids[:5] + kids[15:]
        parent.stop()
        parent.join(till=Till(seconds=10))
        assert parent.children == []
        assert all(kid.stopped for kid in kids)

    def test_children_can_be_read_holding_child_locker(self) -> None:
        # 6.x code reads `children` under `child_locker`: reading must not take that lock again
        parent = Thread.run("locked parent", wait_for_stop)
        kid = Thread.run("locked kid", wait_for_stop, parent_thread=parent)
        with parent.child_locker:
            assert list(parent.children) == [kid]
        parent.children.append(kid)  # a copy: changing it changes nothing
        assert parent.children == [kid]
        parent.stop()
        parent.join(till=Till(seconds=10))

    def test_parent_thread_kwarg(self) -> None:
        adopter = Thread.run("adopter", wait_for_stop)
        child = Thread.run("adopted", wait_for_stop, parent_thread=adopter)
        assert child.parent is adopter
        assert child in adopter.children
        adopter.stop()  # stops the child too
        assert child.please_stop
        adopter.join(till=Till(seconds=10))
        assert child.stopped

    def test_parent_thread_must_be_a_thread(self) -> None:
        with pytest.raises(TypeError, match="parent_thread"):
            Thread("orphan", wait_for_stop, parent_thread=threading.main_thread())

    def test_stop_signals_children_first_newest_first(self) -> None:
        order: List[str] = []
        ready = Signal()

        def parent(please_stop: Signal) -> None:
            for name in ("child-1", "child-2"):
                child = Thread.run(name, wait_for_stop)
                child.please_stop.then(lambda name=name: order.append(name))
            ready.go()
            please_stop.wait()

        thread = Thread.run("parent", parent)
        thread.please_stop.then(lambda: order.append("parent"))
        assert ready.wait(till=Till(seconds=10))
        thread.stop()
        thread.join(till=Till(seconds=10))
        assert order == ["child-2", "child-1", "parent"]

    def test_parent_is_not_stopped_until_its_children_are_joined(self) -> None:
        order: List[str] = []
        let_child_go = Signal()
        ready = Signal()

        def slow_child(please_stop: Signal) -> None:
            let_child_go.wait()  # ignores please_stop for a while

        def parent(please_stop: Signal) -> str:
            child = Thread.run("slow child", slow_child)
            child.stopped.then(lambda: order.append("child stopped"))
            ready.go()
            please_stop.wait()
            return "parent done"

        thread = Thread.run("parent", parent)
        thread.stopped.then(lambda: order.append("parent stopped"))
        assert ready.wait(till=Till(seconds=10))
        thread.stop()
        assert not thread.stopped.wait(timeout=0.3)
        assert thread.is_alive()
        let_child_go.go()
        assert thread.join(till=Till(seconds=10)) == "parent done"
        assert order == ["child stopped", "parent stopped"]

    def test_a_thread_started_under_an_ended_parent_goes_to_the_main_thread(self) -> None:
        ended = Thread.run("ended", wait_for_stop)
        late = Thread("late child", wait_for_stop, parent_thread=ended)
        ended.stop()
        ended.join()
        late.start()
        assert late.parent is MAIN_THREAD
        assert late in MAIN_THREAD.children
        late.stop()
        late.join()

    def test_a_failing_start_hook_fails_the_thread(self) -> None:
        def hook(thread: Any) -> None:
            if thread.name == "hooked":
                raise RuntimeError("hook failed")

        _registry.ON_START.append(hook)
        try:
            thread = Thread.run("hooked", wait_for_stop)
            with pytest.raises(Exception, match="hook failed"):
                thread.join(till=Till(seconds=10))
        finally:
            _registry.ON_START.remove(hook)

    def test_children_of_the_main_thread_are_tracked_until_they_end(self) -> None:
        thread = Thread.run("tracked", wait_for_stop)
        assert thread in MAIN_THREAD.children
        assert thread.parent is MAIN_THREAD
        thread.stop()
        thread.join()
        assert thread not in MAIN_THREAD.children


class TestFailures:
    def test_release_logs_a_failure_at_once(self, log: LogCapture) -> None:
        go = Signal()

        def fail_later(please_stop: Signal) -> None:
            go.wait()
            raise ValueError("released boom")

        thread = Thread.run("released one", fail_later).release()
        go.go()
        assert wait_true(lambda: "released boom" in log.text(), timeout=10), log.text()
        assert "released one" in log.text()
        thread.stopped.wait()
        assert thread not in MAIN_THREAD.children

    def test_release_after_the_failure_logs_it(self, log: LogCapture) -> None:
        thread = Thread.run("failed first", explode, "early boom")
        assert thread.stopped.wait(timeout=10)
        assert "early boom" not in log.text()
        thread.release()
        assert "early boom" in log.text()
        assert "failed first" in log.text()
        assert log.text().count("early boom") == log.lines[0].count("early boom")  # one report

    def test_unjoined_failure_is_logged_when_its_parent_ends(self, log: LogCapture) -> None:
        def parent(please_stop: Signal) -> str:
            Thread.run("forgotten child", explode, "forgotten boom")
            return "parent done"

        assert Thread.run("careless parent", parent).join(till=Till(seconds=10)) == "parent done"
        text = log.text()
        assert "forgotten boom" in text
        assert "forgotten child" in text

    def test_joined_failure_is_not_logged(self, log: LogCapture) -> None:
        def parent(please_stop: Signal) -> str:
            child = Thread.run("joined child", explode, "joined boom")
            try:
                child.join()
            except Exception:
                return "caught"
            return "not raised"

        assert Thread.run("careful parent", parent).join() == "caught"
        assert "joined boom" not in log.text()

    def test_failure_of_a_child_of_main_stays_until_joined(self, log: LogCapture) -> None:
        thread = Thread.run("main child", explode, "main boom")
        assert thread.stopped.wait(timeout=10)
        assert thread in MAIN_THREAD.children  # so shutdown reports it if nobody joins
        with pytest.raises(Exception, match="main child"):
            thread.join()
        assert thread not in MAIN_THREAD.children
        assert "main boom" not in log.text()


class TestAlienThread:
    def run_plain(self, target: Any, name: str) -> None:
        plain = threading.Thread(target=target, name=name)
        plain.start()
        plain.join(10)
        assert not plain.is_alive()

    def test_named_after_the_threading_thread(self) -> None:
        seen = {}

        def target() -> None:
            me = current_thread()
            seen["me"] = me
            seen["again"] = current_thread()
            seen["ident"] = threading.get_ident()

        self.run_plain(target, "plain-worker")
        me = seen["me"]
        assert isinstance(me, AlienThread)
        assert isinstance(me, BaseThread)
        assert me.name == "plain-worker"
        assert me.ident == seen["ident"]
        assert seen["again"] is me
        assert me not in MAIN_THREAD.children  # not tracked unless registered

    def test_new_plain_thread_never_inherits_an_old_name(self) -> None:
        seen = []

        def target() -> None:
            seen.append((threading.current_thread().name, current_thread().name, threading.get_ident()))

        for i in range(30):
            self.run_plain(target, "plain-" + str(i))
        for threading_name, our_name, _ in seen:
            assert our_name == threading_name
        assert len(seen) == 30

    def test_an_ended_alien_leaves_no_registry_entry(self) -> None:
        self.run_plain(lambda: current_thread(), "short-lived")
        assert not any(t.name == "short-lived" for t in _registry.live_threads())

    def test_register_thread_context_manager(self) -> None:
        seen = {}

        def target() -> None:
            with RegisterThread(name="registered worker") as me:
                seen["me"] = me
                seen["current"] = current_thread()
                seen["is child of main"] = me in MAIN_THREAD.children
                seen["live"] = me in _registry.live_threads()
            seen["after"] = me in MAIN_THREAD.children

        self.run_plain(target, "plain")
        me = seen["me"]
        assert isinstance(me, AlienThread)
        assert me.name == "registered worker"
        assert seen["current"] is me
        assert seen["is child of main"] is True
        assert seen["live"] is True
        assert seen["after"] is False
        assert me.stopped

    def test_join_a_registered_thread_with_timeout(self) -> None:
        inside, leave = threading.Event(), threading.Event()
        seen = {}

        def target() -> None:
            with RegisterThread(name="registered, joined") as me:
                seen["me"] = me
                inside.set()
                leave.wait(10)

        plain = threading.Thread(target=target)
        plain.start()
        try:
            assert inside.wait(10)
            with pytest.raises(THREAD_TIMEOUT):
                seen["me"].join(timeout=0.05)
        finally:
            leave.set()
        seen["me"].join(timeout=10)
        plain.join(10)

    def test_register_thread_stops_and_joins_its_children(self) -> None:
        seen = {}

        def target() -> None:
            with RegisterThread(name="registered parent") as me:
                seen["child"] = Thread.run("child of alien", wait_for_stop)
                seen["parent"] = seen["child"].parent is me

        self.run_plain(target, "plain")
        assert seen["parent"] is True
        assert seen["child"].stopped

    def test_register_thread_decorator(self) -> None:
        seen = {}

        @register_thread
        def decorated_work(x: int) -> int:
            seen["current"] = current_thread()
            seen["tracked"] = current_thread() in MAIN_THREAD.children
            return x + 1

        result = []
        self.run_plain(lambda: result.append(decorated_work(1)), "plain")
        assert result == [2]
        assert isinstance(seen["current"], AlienThread)
        assert seen["tracked"] is True
        assert seen["current"].name == "plain"  # the thread's own name, as in 6.x

    def test_register_thread_in_a_mo_threads_thread_is_harmless(self) -> None:
        def target(please_stop: Signal) -> bool:
            with RegisterThread() as me:
                return me is current_thread()

        assert Thread.run("already known", target).join() is True

    def test_exported_from_both_modules(self) -> None:
        assert mo_threads.RegisterThread is threads_module.RegisterThread
        assert mo_threads.register_thread is threads_module.register_thread
        assert "RegisterThread" in mo_threads.__all__
        assert "register_thread" in mo_threads.__all__
        assert "RegisterThread" in threads_module.__all__
        assert "register_thread" in threads_module.__all__


class TestLogExtras:
    def test_child_inherits_the_logging_context(self, log: LogCapture) -> None:
        def child(please_stop: Signal) -> Any:
            logger.info("hello from {who}", who="child")
            return dict(getattr(threading.current_thread(), MO_LOGS_EXTRAS)[-1])

        def parent(please_stop: Signal) -> Any:
            return Thread.run("grandchild", child).join()

        with logger.extras(request="r-17"):
            from_child = Thread.run("child", child).join()
            from_grandchild = Thread.run("parent", parent).join()
        assert from_child["request"] == "r-17"
        assert from_grandchild["request"] == "r-17"
        assert log.params, "nothing was logged"
        assert all(params["params"]["request"] == "r-17" for params in log.params)

    def test_no_context_no_extras(self) -> None:
        def child(please_stop: Signal) -> Any:
            return getattr(threading.current_thread(), MO_LOGS_EXTRAS, None)

        assert Thread.run("plain child", child).join() in (None, [{}])


class TestManyThreads:
    def test_a_thousand_threads_start_and_stop(self) -> None:
        threads = [Thread.run("many-" + str(i), wait_for_stop) for i in range(1000)]
        assert all(t.is_alive() for t in threads)
        for t in threads:
            t.stop()
        assert join_all_threads(threads, till=Till(seconds=50)) == ["stopped"] * 1000
        assert not any(t.is_alive() for t in threads)
        assert not any(t in MAIN_THREAD.children for t in threads)


class TestJoinAllThreads:
    def test_results_in_order(self) -> None:
        def value(x: int, please_stop: Signal) -> int:
            return x * x

        threads = [Thread.run("square-" + str(i), value, i) for i in range(10)]
        assert join_all_threads(threads) == [i * i for i in range(10)]

    def test_mixed_failures_raise_one_error_listing_each(self) -> None:
        def maybe(i: int, please_stop: Signal) -> int:
            if i in (1, 3):
                raise ValueError("failure-" + str(i))
            return i

        threads = [Thread.run("mixed-" + str(i), maybe, i) for i in range(5)]
        with pytest.raises(Exception) as info:
            join_all_threads(threads)
        text = str(info.value)
        assert "failure-1" in text and "failure-3" in text
        assert "mixed-1" in text and "mixed-3" in text
        assert "mixed-0" not in text
        assert isinstance(info.value.__cause__, Exception)
        assert all(t.stopped for t in threads)

    def test_bad_arguments_are_refused(self) -> None:
        with pytest.raises(TypeError, match="int"):
            join_all_threads([3])
        with pytest.raises(TypeError, match="till"):
            join_all_threads([], till=3)
        with pytest.raises(TypeError, match="name"):
            RegisterThread(name=3)

    def test_timeout(self) -> None:
        thread = Thread.run("slow", wait_for_stop)
        with pytest.raises(THREAD_TIMEOUT):
            join_all_threads([thread], till=Till(seconds=0.1))
        thread.stop()
        thread.join()


class TestMainThread:
    def test_stop_from_another_thread_raises(self) -> None:
        def target(please_stop: Signal) -> None:
            MAIN_THREAD.stop()

        with pytest.raises(Exception) as info:
            Thread.run("rebel", target).join()
        assert isinstance(info.value.__cause__, RuntimeError)
        assert "main thread" in str(info.value.__cause__)
        assert not MAIN_THREAD.please_stop
        assert not MAIN_THREAD.stopped

    def test_wait_for_shutdown_signal_from_another_thread_raises(self) -> None:
        def target(please_stop: Signal) -> None:
            wait_for_shutdown_signal()

        with pytest.raises(Exception) as info:
            Thread.run("not main", target).join()
        assert isinstance(info.value.__cause__, RuntimeError)
        assert not MAIN_THREAD.please_stop


class TestDetachBeforeStart:
    def test_a_thread_detached_before_start_stays_out_of_the_tree(self) -> None:
        # mo-logs' threaded logger does this: its thread must be stopped after logging, not with the children
        from mo_threads import MAIN_THREAD, Signal, Thread

        release = Signal("release")

        def worker(please_stop: Signal) -> str:
            release.wait()
            return "done"

        thread = Thread("detached", worker)
        thread.parent.remove_child(thread)
        thread.start()
        try:
            assert thread not in MAIN_THREAD.children
        finally:
            release.go()
            assert thread.join() == "done"

    def test_a_thread_never_started_does_not_block_its_parent(self) -> None:
        def child_body(please_stop: Signal) -> None:
            please_stop.wait()

        def parent_body(please_stop: Signal) -> str:
            Thread("never started", child_body)
            return "parent done"

        assert Thread.run("parent", parent_body).join(till=Till(seconds=10)) == "parent done"
