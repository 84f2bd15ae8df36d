"""Tests for mo_threads.pools.ThreadPool."""

from __future__ import annotations

import gc
import threading
import time
import weakref
from typing import Any, List

import pytest

from mo_threads.pools import PoolThread, ThreadPool
from mo_threads.signals import Signal
from mo_threads.threads import THREAD_TIMEOUT
from mo_threads.till import Till
from tests.helpers import cpython_only, program_lines, run_python


class TestThreadPool:
    def test_results_through_join(self) -> None:
        with ThreadPool(3, name="squares") as pool:
            jobs = [pool.run("square " + str(i), lambda i, please_stop: i * i, i) for i in range(10)]
            assert all(isinstance(job, PoolThread) for job in jobs)
            results = [job.join() for job in jobs]
        assert results == [i * i for i in range(10)]

    def test_kwargs_and_please_stop_passed(self) -> None:
        seen: List[Any] = []

        def work(a: int, b: int = 0, please_stop: Any = None) -> int:
            seen.append(please_stop)
            return a + b

        with ThreadPool(1) as pool:
            job = pool.run("add", work, 1, b=2)
            assert job.join() == 3
        assert seen == [job.please_stop] and isinstance(seen[0], Signal)

    def test_at_most_num_threads_at_once(self) -> None:
        lock = threading.Lock()
        running = [0]
        most = [0]

        def work(please_stop: Signal) -> None:
            with lock:
                running[0] += 1
                most[0] = max(most[0], running[0])
            time.sleep(0.02)
            with lock:
                running[0] -= 1

        with ThreadPool(2) as pool:
            for i in range(10):
                pool.run("job " + str(i), work)
        assert most[0] == 2

    def test_leaving_block_runs_every_queued_job(self) -> None:
        done: List[int] = []
        lock = threading.Lock()

        def work(i: int, please_stop: Signal) -> None:
            time.sleep(0.005)
            with lock:
                done.append(i)

        with ThreadPool(2) as pool:
            for i in range(30):
                pool.run("job", work, i)
        assert sorted(done) == list(range(30))
        assert pool._workers and not any(w.is_alive() for w in pool._workers)

    def test_errors_propagate_through_join(self) -> None:
        def boom(please_stop: Signal) -> None:
            raise ValueError("boom in job")

        with ThreadPool(2) as pool:
            job = pool.run("exploding", boom)
            with pytest.raises(Exception) as info:
                job.join()
        assert "exploding" in str(info.value)
        assert isinstance(info.value.__cause__, ValueError)

    def test_join_till_timeout(self) -> None:
        with ThreadPool(1) as pool:
            job = pool.run("slow", lambda please_stop: please_stop.wait(till=Till(seconds=5)))
            with pytest.raises(THREAD_TIMEOUT):
                job.join(till=Till(seconds=0.05))
            job.stop()
            assert job.join(till=Till(seconds=5)) is True

    def test_exception_in_block_stops_jobs(self) -> None:
        with pytest.raises(KeyError):
            with ThreadPool(1) as pool:
                job = pool.run("waits", lambda please_stop: please_stop.wait(till=Till(seconds=10)))
                raise KeyError("leave")
        assert job.please_stop and job.stopped

    def test_stop_closes_and_stops_every_job(self) -> None:
        pool = ThreadPool(1, name="stopping")
        running = pool.run("running", lambda please_stop: please_stop.wait(till=Till(seconds=10)))
        queued = pool.run("queued", lambda please_stop: bool(please_stop))
        running.started.wait(till=Till(seconds=5))
        pool.stop()
        with pytest.raises(RuntimeError):
            pool.run("late", lambda please_stop: None)
        pool.join(till=Till(seconds=10))
        assert running.join() is True  # woken by its please_stop, not the till
        assert queued.join() is True  # still ran, already asked to stop

    def test_run_after_join_raises(self) -> None:
        pool = ThreadPool(1, name="closed pool")
        pool.join()
        with pytest.raises(RuntimeError) as info:
            pool.run("late", lambda please_stop: None)
        assert "closed pool" in str(info.value)

    def test_unjoined_failure_is_logged(self, monkeypatch: Any) -> None:
        from mo_threads import pools

        logged: List[Any] = []

        class FakeLogger:
            def warning(self, template: str, **params: Any) -> None:
                logged.append(params)

        monkeypatch.setattr(pools, "logger", FakeLogger())

        def boom(please_stop: Signal) -> None:
            raise ValueError("nobody looks")

        with ThreadPool(1) as pool:
            pool.run("forgotten", boom)
            pool.run("released", boom).release()
            joined = pool.run("joined", boom)
            with pytest.raises(Exception):
                joined.join()
        names = sorted(p["name"] for p in logged)
        assert names == ["forgotten", "released"]

    def test_bad_input(self) -> None:
        with pytest.raises(ValueError):
            ThreadPool(0)
        with pytest.raises(TypeError):
            ThreadPool(1, name=3)  # type: ignore[arg-type]
        with ThreadPool(1) as pool:
            with pytest.raises(TypeError) as info:
                pool.run("no stop", lambda: None)
            assert "please_stop" in str(info.value)
            with pytest.raises(TypeError):
                pool.run("not callable", 3)  # type: ignore[arg-type]
            job = pool.run("fine", lambda please_stop: 1)
            with pytest.raises(TypeError):
                job.join(till=1)  # type: ignore[arg-type]
            assert job.join() == 1

    def test_jobs_may_run_jobs(self) -> None:
        pool = ThreadPool(3, name="nested")

        def inner(x: int, please_stop: Signal) -> Any:
            please_stop.wait(till=Till(seconds=0.05 + 0.1 * x))
            return (x, bool(please_stop))

        def outer(please_stop: Signal) -> Any:
            return [pool.run("inner", inner, x) for x in range(4)]

        with pool:
            handles = pool.run("outer", outer).join()
        # the block ended while inner jobs ran on workers started by a job: a worker that
        # runs out of jobs must not stop the others (no worker owns another)
        results = [h.join() for h in handles]
        assert results == [(x, False) for x in range(4)]

    def test_program_exit_stops_running_jobs(self) -> None:
        # nobody joins the pool: shutdown asks the workers to stop, which stops their jobs
        result = run_python(
            """
            import sys
            from mo_threads import ThreadPool

            def wait_for_stop(i, please_stop):
                please_stop.wait()
                # one write per line: two threads printing at once must not interleave words
                sys.stdout.write("job %d stopped\\n" % i)
                sys.stdout.flush()

            pool = ThreadPool(2)
            for i in range(2):
                pool.run("waiter", wait_for_stop, i)
            print("main ends", flush=True)
            """,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        lines = program_lines(result.stdout)
        assert lines[0] == "main ends"
        assert sorted(lines[1:]) == ["job 0 stopped", "job 1 stopped"]


class TestPoolFailuresNeverLostNorKept:
    """Issue 21: a failure nobody joins is reported (point 10); a joined one is not kept (point 11)."""

    def test_failure_of_a_pool_never_joined_is_reported_at_exit(self) -> None:
        result = run_python(
            """
            from mo_threads import ThreadPool

            def boom(please_stop):
                raise ValueError("the lost job failure")

            pool = ThreadPool(2, name="forgotten pool")
            pool.run("exploding job", boom).stopped.wait()
            print("main ends", flush=True)
            """,
            timeout=60,
        )
        assert program_lines(result.stdout)[0] == "main ends", result.stderr
        output = result.stdout + result.stderr
        assert "exploding job" in output and "the lost job failure" in output
        assert output.count("the lost job failure") == 1  # reported once

    # on PyPy one of the 50 joined failures is often still referenced after the collection (seen
    # 2 runs in 3; not in a plain script): freed later than by CPython's reference counting
    @cpython_only("a joined failure freed by the time of one gc.collect()")
    def test_joined_failures_are_not_kept(self) -> None:
        class JobFailure(ValueError):
            """A failure we can hold a weak reference to (built-in exceptions take none)."""

        def boom(please_stop: Signal) -> None:
            raise JobFailure("joined failure")

        pool = ThreadPool(2, name="long lived")
        failures = []
        for _ in range(50):
            job = pool.run("fails", boom)
            try:
                job.join()
            except Exception as error:
                failures.append(weakref.ref(error.__cause__))  # type: ignore[arg-type]
            del job
        gc.collect()
        assert not [f for f in failures if f() is not None]
        assert not pool._failures
        pool.join()
