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
        Thread.run("metrics one", lambda please_stop: waits_on(first, 2, 0.001)).join()
        Thread.run("metrics two", lambda please_stop: waits_on(second, 3, 0.001)).join()
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
                waits_on(inner, 1, 0.001)
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
        waits_on(Signal("reset gate"), 1, 0.001)
        assert "Signal 'reset gate'" in mo_threads.statistics()["primitives"]
        mo_threads.reset_statistics()
        stats = mo_threads.statistics()
        assert "Signal 'reset gate'" not in stats["primitives"]
        assert stats["primitives"] == {} or all(v["waits"] > 0 for v in stats["primitives"].values())

    def test_the_result_is_a_copy(self) -> None:
        waits_on(Signal("copy gate"), 1, 0.001)
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
                assert wait_true(lambda: _blocking.blocked_on(clerk_thread.ident) is not None)
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



class TestWriteStatistics:
    def setup_method(self) -> None:
        mo_threads.reset_statistics()

    def test_the_file_lists_threads_then_primitives(self, tmp_path: Any) -> None:
        Thread.run("tab worker", lambda please_stop: waits_on(Signal("tab gate"), 4, 0.001)).join()
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
