"""Blocking metrics: mo_threads.statistics(), reset_statistics(), the file next to the profile (issue 10)."""

from __future__ import annotations

import os
import threading
import time
from typing import Any, Dict, List

import mo_threads
from mo_threads import Signal, Thread, _blocking
from mo_threads.metrics import COLUMNS, statistics_filename, write_statistics
from tests.helpers import run_python, wait_true


def waits_on(target: Any, times: int, seconds: float, kind: str = "Signal") -> None:
    """Record `times` waits of `seconds` each on `target`, as a blocking primitive's slow path does."""
    for _ in range(times):
        record = _blocking.begin(kind, target, bounded=True)
        try:
            time.sleep(seconds)
        finally:
            _blocking.end(record)


def blocked_for(ident: Any) -> float:
    """Seconds thread `ident` has been blocked so far (0 when it is not)."""
    found = _blocking.blocked_on(ident)
    return 0.0 if found is None else found[2]


def read_tab(path: str) -> List[Dict[str, str]]:
    with open(path, encoding="utf8") as source:
        lines = source.read().splitlines()
    header = lines[0].split("\t")
    assert tuple(header) == COLUMNS
    return [dict(zip(header, line.split("\t"))) for line in lines[1:]]


class TestStatistics:
    def setup_method(self) -> None:
        mo_threads.reset_statistics()

    def test_five_waits_count_as_five(self) -> None:
        gate = Signal("metrics gate")
        Thread.run("metrics worker", lambda please_stop: waits_on(gate, 5, 0.02)).join()
        stats = mo_threads.statistics()
        primitive = stats["primitives"]["Signal 'metrics gate'"]
        assert primitive["waits"] == 5
        assert 0.09 <= primitive["seconds"] < 30
        worker = stats["threads"]["metrics worker"]
        assert worker["waits"] == 5
        assert worker["seconds"] >= primitive["seconds"] * 0.99

    def test_each_primitive_and_thread_counts_apart(self) -> None:
        first, second = Signal("first gate"), Signal("second gate")
        Thread.run("metrics one", lambda please_stop: waits_on(first, 2, 0.002)).join()
        Thread.run("metrics two", lambda please_stop: waits_on(second, 3, 0.002)).join()
        stats = mo_threads.statistics()
        assert stats["primitives"]["Signal 'first gate'"]["waits"] == 2
        assert stats["primitives"]["Signal 'second gate'"]["waits"] == 3
        assert stats["threads"]["metrics one"]["waits"] == 2
        assert stats["threads"]["metrics two"]["waits"] == 3

    def test_a_nested_wait_counts_once_under_the_outer_primitive(self) -> None:
        inner = Signal("inner gate")

        class Box:
            name = "outer box"

        def nested(please_stop: Signal) -> None:
            outer = _blocking.begin("Queue", Box(), bounded=True)
            try:
                waits_on(inner, 1, 0.002)
            finally:
                _blocking.end(outer)

        Thread.run("metrics nested", nested).join()
        stats = mo_threads.statistics()
        assert stats["primitives"]["Queue 'outer box'"]["waits"] == 1
        assert "Signal 'inner gate'" not in stats["primitives"]
        assert stats["threads"]["metrics nested"]["waits"] == 1

    def test_an_unnamed_primitive_counts_under_its_kind(self) -> None:
        waits_on(object(), 2, 0.001, kind="Semaphore")
        assert mo_threads.statistics()["primitives"]["Semaphore"]["waits"] == 2

    def test_reset_forgets_the_totals(self) -> None:
        waits_on(Signal("reset gate"), 1, 0.002)
        assert "Signal 'reset gate'" in mo_threads.statistics()["primitives"]
        mo_threads.reset_statistics()
        stats = mo_threads.statistics()
        assert "Signal 'reset gate'" not in stats["primitives"]
        assert stats["primitives"] == {} or all(v["waits"] > 0 for v in stats["primitives"].values())

    def test_the_result_is_a_copy(self) -> None:
        waits_on(Signal("copy gate"), 1, 0.002)
        stats = mo_threads.statistics()
        stats["primitives"]["Signal 'copy gate'"]["waits"] = 100
        stats["primitives"].clear()
        assert mo_threads.statistics()["primitives"]["Signal 'copy gate'"]["waits"] == 1


class TestRealPrimitives:
    def setup_method(self) -> None:
        mo_threads.reset_statistics()

    def test_five_contended_lock_entries_count_as_five(self) -> None:
        lock = mo_threads.Lock("metrics ledger")
        again = threading.Event()
        left: List[int] = []

        def clerk(please_stop: Signal) -> None:
            for i in range(5):
                with lock:
                    pass
                left.append(i)  # out of the lock: main takes it without contention
                again.wait(10)  # a plain Event: not counted
                again.clear()

        thread = None
        for i in range(5):
            with lock:
                if thread is None:
                    thread = Thread.run("metrics clerk", clerk)
                else:
                    again.set()
                clerk_thread = thread
                assert wait_true(lambda: blocked_for(clerk_thread.ident) > 0.005)  # past the 1 ms threshold
            assert wait_true(lambda: len(left) == i + 1)
        again.set()
        assert thread is not None
        thread.join()
        stats = mo_threads.statistics()
        assert stats["primitives"]["Lock 'metrics ledger'"]["waits"] == 5
        assert stats["threads"]["metrics clerk"]["waits"] == 5

    def test_five_waits_on_a_named_signal(self) -> None:
        def waiter(please_stop: Signal) -> None:
            for _ in range(5):
                Signal("metrics signal").wait(timeout=0.01)

        Thread.run("metrics waiter", waiter).join()
        stats = mo_threads.statistics()
        assert stats["primitives"]["Signal 'metrics signal'"]["waits"] == 5
        assert stats["primitives"]["Signal 'metrics signal'"]["seconds"] >= 0.04



class TestWaitThreshold:
    """Waits shorter than the threshold (default 1 ms) are not counted; dumps and deadlock detection see every wait."""

    def setup_method(self) -> None:
        mo_threads.reset_statistics()

    def teardown_method(self) -> None:
        mo_threads.set_wait_threshold(mo_threads.metrics.DEFAULT_WAIT_THRESHOLD)

    def _ping_pong(self, name: str, hand_offs: int) -> None:
        """Two threads hand control back and forth with a fresh Signal each time."""
        box = [Signal(name)]
        back = [Signal(name)]

        def other(please_stop: Signal) -> None:
            for _ in range(hand_offs):
                box[0].wait()
                box[0] = Signal(name)
                answer, back[0] = back[0], Signal(name)
                answer.go()

        thread = Thread.run(name + " partner", other)
        for _ in range(hand_offs):
            answer = back[0]
            box[0].go()
            answer.wait()
        thread.join()

    def test_the_default_is_one_millisecond(self) -> None:
        assert mo_threads.metrics.wait_threshold() == 0.001 == mo_threads.metrics.DEFAULT_WAIT_THRESHOLD

    def test_a_wait_under_the_threshold_is_not_counted(self) -> None:
        mo_threads.set_wait_threshold(0.5)
        Signal("short gate").wait(timeout=0.05)
        assert "Signal 'short gate'" not in mo_threads.statistics()["primitives"]

    def test_a_wait_over_the_threshold_counts_from_its_start(self) -> None:
        mo_threads.set_wait_threshold(0.05)
        Signal("long gate").wait(timeout=0.2)
        totals = mo_threads.statistics()["primitives"]["Signal 'long gate'"]
        assert totals["waits"] == 1
        assert 0.19 <= totals["seconds"] < 30  # all of it, not only what came after the threshold

    def test_a_wait_under_the_threshold_still_shows_while_it_lasts(self) -> None:
        mo_threads.set_wait_threshold(1)
        gate = Signal("visible gate")
        thread = Thread.run("visible waiter", lambda please_stop: gate.wait(timeout=30))
        try:
            assert wait_true(lambda: _blocking.blocked_on(thread.ident) is not None)
            kind, target, _ = _blocking.blocked_on(thread.ident)  # type: ignore[misc]
            assert (kind, target) == ("Signal", gate)
        finally:
            gate.go()
            thread.join()
        assert "Signal 'visible gate'" not in mo_threads.statistics()["primitives"]

    def test_zero_counts_every_wait_that_parks(self) -> None:
        mo_threads.set_wait_threshold(0)
        self._ping_pong("counted hand-off", 200)
        waits = mo_threads.statistics()["primitives"]["Signal 'counted hand-off'"]["waits"]
        assert 1 <= waits <= 400  # each wait that parked (a signal may fire before its wait)

    def test_quick_hand_offs_are_not_counted_by_default(self) -> None:
        self._ping_pong("quick hand-off", 200)
        found = mo_threads.statistics()["primitives"].get("Signal 'quick hand-off'", {"waits": 0})
        # most hand-offs are over in microseconds; an OS hiccup may stretch a few past 1 ms
        assert found["waits"] < 100

    def test_a_queue_pop_parked_past_the_threshold_counts_once(self) -> None:
        queue: mo_threads.Queue[int] = mo_threads.Queue("threshold queue")

        def producer(please_stop: Signal) -> None:
            time.sleep(0.1)
            queue.add(1)

        thread = Thread.run("threshold producer", producer)
        assert queue.pop() == 1
        thread.join()
        totals = mo_threads.statistics()["primitives"]["Queue 'threshold queue'"]
        assert totals["waits"] == 1
        assert totals["seconds"] >= 0.05

    def test_deadlocks_are_refused_whatever_the_threshold(self) -> None:
        mo_threads.set_wait_threshold(1)
        first, second = mo_threads.Lock("threshold first"), mo_threads.Lock("threshold second")
        holding = threading.Event()
        errors: List[BaseException] = []

        def other(please_stop: Signal) -> None:
            with second:
                holding.set()
                try:
                    with first:
                        pass
                except mo_threads.DeadlockError as error:
                    errors.append(error)

        with first:
            thread = Thread.run("threshold other", other)
            assert holding.wait(10)
            try:
                with second:
                    pass
            except mo_threads.DeadlockError as error:
                errors.append(error)
        thread.join()
        assert len(errors) >= 1
        assert "threshold first" in str(errors[0]) or "threshold second" in str(errors[0])

    def test_bad_thresholds_fail_at_the_call(self) -> None:
        for bad in ("1", None, True):
            try:
                mo_threads.set_wait_threshold(bad)  # type: ignore[arg-type]
            except TypeError as error:
                assert "wait threshold" in str(error)
            else:
                raise AssertionError("accepted " + repr(bad))
        for bad in (-0.001, float("nan"), float("inf"), 1.5):
            try:
                mo_threads.set_wait_threshold(bad)
            except ValueError as error:
                assert "between 0 and 1" in str(error)
            else:
                raise AssertionError("accepted " + repr(bad))
        assert mo_threads.metrics.wait_threshold() == 0.001  # left as it was

    def test_it_returns_the_previous_threshold(self) -> None:
        assert mo_threads.set_wait_threshold(0.25) == 0.001
        assert mo_threads.set_wait_threshold(0) == 0.25
        assert mo_threads.metrics.wait_threshold() == 0.0


class TestWriteStatistics:
    def setup_method(self) -> None:
        mo_threads.reset_statistics()

    def test_the_file_lists_threads_then_primitives(self, tmp_path: Any) -> None:
        Thread.run("tab worker", lambda please_stop: waits_on(Signal("tab gate"), 4, 0.002)).join()
        path = write_statistics(str(tmp_path / "sub" / "blocking.tab"))
        rows = read_tab(path)
        kinds = [row["kind"] for row in rows]
        assert kinds == sorted(kinds, key=lambda kind: kind != "thread")
        worker = [row for row in rows if row["kind"] == "thread" and row["name"] == "tab worker"]
        gate = [row for row in rows if row["kind"] == "primitive" and row["name"] == "Signal 'tab gate'"]
        assert len(worker) == 1 and worker[0]["waits"] == "4"
        assert len(gate) == 1 and gate[0]["waits"] == "4"
        assert float(gate[0]["seconds"]) > 0

    def test_next_to_the_profile(self) -> None:
        assert statistics_filename("out/profile.tab") == "out/profile.blocking.tab"
        assert statistics_filename("profile") == "profile.blocking.tab"


class TestWrittenWithTheProfile:
    def test_blocking_file_written_next_to_the_profile_at_exit(self, tmp_path: Any) -> None:
        profile = str(tmp_path / "run.tab")
        result = run_python(
            """
            import sys, time
            from mo_threads import Signal, Thread, _blocking, profiles

            profiles.enable_profilers(sys.argv[1])
            gate = Signal("profiled gate")

            def worker(please_stop):
                for _ in range(5):
                    record = _blocking.begin("Signal", gate, bounded=True)
                    try:
                        time.sleep(0.01)
                    finally:
                        _blocking.end(record)

            Thread.run("profiled worker", worker).join()
            print("exiting")
            """,
            profile,
            timeout=30,
            cwd=str(tmp_path),
        )
        assert result.returncode == 0, result.stderr
        assert os.path.exists(profile), result.stderr
        path = str(tmp_path / "run.blocking.tab")
        assert os.path.exists(path), os.listdir(str(tmp_path))
        rows = read_tab(path)
        gate = [row for row in rows if row["name"] == "Signal 'profiled gate'"]
        assert len(gate) == 1 and gate[0]["waits"] == "5", rows
        worker = [row for row in rows if row["name"] == "profiled worker"]
        assert len(worker) == 1 and worker[0]["kind"] == "thread"
