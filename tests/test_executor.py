"""ThreadPool as a `concurrent.futures.Executor` (issue 23, point 1).

The contract tests follow the `concurrent.futures` documentation, point by
point: `submit`, `map` (order, `timeout`, exceptions), `shutdown` (with and
without `wait`, `cancel_futures`, submit after shutdown), the `Future` it
returns (`result`, `exception`, `cancel`, `add_done_callback`, `wait`,
`as_completed`). Then what we add: `please_stop` for a target that takes it,
cancellation firing it, the workers in the thread tree, no failure lost, and
asyncio using the pool as an executor.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import functools
import sys
import threading
import time
from typing import Any, List

import pytest

from mo_threads import MAIN_THREAD, Signal, Thread, Till
from mo_threads.pools import PoolFuture, ThreadPool
from tests.helpers import program_lines, run_python, wait_true

# long enough to fail a test that waits for it, short enough not to hang one that forgot it
LONG = 30


def wait_for_stop(please_stop: Signal) -> bool:
    """A job that runs until asked to stop; returns True when it was."""
    return please_stop.wait(till=Till(seconds=LONG))


class TestSubmit:
    def test_is_an_executor_and_returns_a_concurrent_future(self) -> None:
        with ThreadPool(2) as pool:
            future = pool.submit(pow, 323, 1235)
            assert isinstance(pool, cf.Executor)
            assert isinstance(future, cf.Future) and isinstance(future, PoolFuture)
            assert future.result(timeout=LONG) == pow(323, 1235)

    def test_args_and_kwargs(self) -> None:
        def describe(a: int, b: int, *rest: int, scale: int = 1) -> Any:
            return (a, b, rest, scale)

        with ThreadPool(1) as pool:
            assert pool.submit(describe, 1, 2, 3, scale=4).result(timeout=LONG) == (1, 2, (3,), 4)
            # names the stdlib keeps for itself are no trouble: fn is positional-only
            assert pool.submit(dict, fn=1, self=2).result(timeout=LONG) == {"fn": 1, "self": 2}

    def test_states_of_the_future(self) -> None:
        started = threading.Event()
        release = threading.Event()

        def blocked() -> str:
            started.set()
            release.wait(LONG)
            return "done"

        with ThreadPool(1) as pool:
            future = pool.submit(blocked)
            assert started.wait(LONG)
            assert future.running() and not future.done() and not future.cancelled()
            with pytest.raises(cf.TimeoutError):
                future.result(timeout=0.05)
            release.set()
            assert future.result(timeout=LONG) == "done"
            assert future.done() and not future.running()

    def test_add_done_callback(self) -> None:
        seen: List[Any] = []
        with ThreadPool(1) as pool:
            future = pool.submit(lambda: 7)
            future.add_done_callback(seen.append)
            cf.wait([future], timeout=LONG)
            assert seen == [future]  # called with the future, once done
            future.add_done_callback(seen.append)  # already done: called at once
            assert seen == [future, future]

    def test_wait_and_as_completed(self) -> None:
        with ThreadPool(3) as pool:
            futures = [pool.submit(time.sleep, seconds) for seconds in (0.3, 0.01, 0.1)]
            done, not_done = cf.wait(futures, timeout=LONG, return_when=cf.FIRST_COMPLETED)
            assert futures[1] in done
            finished = list(cf.as_completed(futures, timeout=LONG))
            assert set(finished) == set(futures)

    def test_exception_is_raised_as_it_is(self) -> None:
        failure = ValueError("job failed")

        def fail() -> None:
            raise failure

        with ThreadPool(1) as pool:
            future = pool.submit(fail)
            with pytest.raises(ValueError) as caught:
                future.result(timeout=LONG)
            assert caught.value is failure
            assert future.exception(timeout=LONG) is failure
            assert future.done() and not future.cancelled()

    def test_not_callable(self) -> None:
        with ThreadPool(1) as pool:
            with pytest.raises(TypeError) as caught:
                pool.submit(3)  # type: ignore[arg-type]
            assert "callable" in str(caught.value)


class TestMap:
    def test_results_in_order(self) -> None:
        def slow_square(x: int) -> int:
            time.sleep(0.01 * (5 - x))  # the first ones end last
            return x * x

        with ThreadPool(4) as pool:
            assert list(pool.map(slow_square, range(5))) == [0, 1, 4, 9, 16]
            assert list(pool.map(pow, [2, 3], [5, 2])) == [32, 9]  # one argument from each iterable
            assert list(pool.map(pow, [2, 3], [5, 2], chunksize=10)) == [32, 9]  # chunksize is ignored

    def test_iterables_are_collected_at_once(self) -> None:
        calls: List[int] = []
        with ThreadPool(2) as pool:
            results = pool.map(calls.append, [1, 2, 3])
            pool.join()  # every call ran, though nobody asked for a result
            assert sorted(calls) == [1, 2, 3]
            assert list(results) == [None, None, None]

    def test_exception_is_raised_at_its_place(self) -> None:
        def invert(x: int) -> float:
            return 1 / x

        with ThreadPool(2) as pool:
            results = pool.map(invert, [1, 2, 0, 4])
            assert next(results) == 1.0
            assert next(results) == 0.5
            with pytest.raises(ZeroDivisionError):
                next(results)

    def test_timeout_counts_from_the_call_to_map(self) -> None:
        def take(seconds: float, please_stop: Signal) -> float:
            please_stop.wait(till=Till(seconds=seconds))
            return seconds

        with ThreadPool(2) as pool:
            started = time.monotonic()
            results = pool.map(take, [0.01, LONG], timeout=0.5)
            assert next(results) == 0.01
            with pytest.raises(cf.TimeoutError):
                next(results)
            # the job left behind was cancelled, so it was asked to stop: the pool ends at once
            pool.join(till=Till(seconds=LONG / 2))
            assert time.monotonic() - started < LONG / 2

    def test_ending_early_cancels_the_rest(self) -> None:
        def take(seconds: float, please_stop: Signal) -> float:
            please_stop.wait(till=Till(seconds=seconds))
            return seconds

        with ThreadPool(2) as pool:
            started = time.monotonic()
            results = pool.map(take, [0.01, LONG, LONG, LONG])
            assert next(results) == 0.01
            results.close()  # the caller is done: the running job is asked to stop, the queued one never runs
            pool.join(till=Till(seconds=LONG / 2))
            assert time.monotonic() - started < LONG / 2

    def test_map_after_shutdown(self) -> None:
        pool = ThreadPool(1)
        pool.shutdown()
        with pytest.raises(RuntimeError):
            pool.map(abs, [1])


class TestShutdown:
    def test_submit_after_shutdown_raises(self) -> None:
        pool = ThreadPool(1, name="finished")
        pool.submit(abs, -1)
        pool.shutdown()
        with pytest.raises(RuntimeError) as caught:
            pool.submit(abs, -1)
        assert "finished" in str(caught.value) and "after shutdown" in str(caught.value)
        with pytest.raises(RuntimeError):
            pool.run("late", wait_for_stop)
        pool.shutdown()  # again: no harm

    def test_wait_runs_every_pending_future(self) -> None:
        pool = ThreadPool(2)
        futures = [pool.submit(time.sleep, 0.02) for _ in range(10)]
        pool.shutdown(wait=True)
        assert all(f.done() and not f.cancelled() for f in futures)
        assert not any(worker.is_alive() for worker in pool._workers)

    def test_without_wait_returns_at_once_and_the_futures_still_run(self) -> None:
        release = threading.Event()
        pool = ThreadPool(1)
        running = pool.submit(release.wait, LONG)
        queued = pool.submit(lambda: "queued ran")
        started = time.monotonic()
        pool.shutdown(wait=False)
        assert time.monotonic() - started < 1.0
        assert not queued.done()
        release.set()
        assert running.result(timeout=LONG) is True
        assert queued.result(timeout=LONG) == "queued ran"
        pool.join(till=Till(seconds=LONG))

    def test_cancel_futures_cancels_only_the_pending_ones(self) -> None:
        started = threading.Event()
        release = threading.Event()

        def blocked() -> str:
            started.set()
            release.wait(LONG)
            return "finished"

        pool = ThreadPool(1)
        running = pool.submit(blocked)
        assert started.wait(LONG)
        pending = [pool.submit(lambda: "never") for _ in range(3)]
        pool.shutdown(wait=False, cancel_futures=True)
        assert all(f.cancelled() for f in pending)
        assert all(f.please_stop for f in pending)
        with pytest.raises(cf.CancelledError):
            pending[0].result(timeout=LONG)
        assert not running.cancelled() and not running.please_stop  # running: left alone
        release.set()
        assert running.result(timeout=LONG) == "finished"
        pool.join(till=Till(seconds=LONG))

    def test_with_block_is_shutdown_with_wait(self) -> None:
        with ThreadPool(2) as pool:
            futures = [pool.submit(time.sleep, 0.02) for _ in range(4)]
        assert all(f.done() for f in futures)

    def test_program_exits_after_pending_futures_ran(self) -> None:
        # the stdlib: "regardless of the value of wait, the entire Python program will not
        # exit until all pending futures are done executing"
        result = run_python(
            """
            import time
            from mo_threads import ThreadPool

            def job(i):
                time.sleep(0.05)
                print("job", i, flush=True)

            pool = ThreadPool(1)
            for i in range(3):
                pool.submit(job, i)
            pool.shutdown(wait=False)
            print("main ends", flush=True)
            """,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        assert program_lines(result.stdout) == ["main ends", "job 0", "job 1", "job 2"]


class TestPleaseStop:
    def test_a_target_taking_please_stop_gets_the_jobs_signal(self) -> None:
        seen: List[Any] = []

        def work(x: int, please_stop: Signal) -> int:
            seen.append(please_stop)
            return x

        with ThreadPool(1) as pool:
            future = pool.submit(work, 5)
            assert future.result(timeout=LONG) == 5
        assert seen == [future.please_stop] and isinstance(seen[0], Signal)

    def test_please_stop_found_through_decorators_methods_and_partials(self) -> None:
        def decorate(fn: Any) -> Any:
            @functools.wraps(fn)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                return fn(*args, **kwargs)

            return wrapper

        class Job:
            def method(self, please_stop: Signal) -> Signal:
                return please_stop

            def __call__(self, *, please_stop: Signal) -> Signal:
                return please_stop

        def given(x: int, please_stop: Signal) -> Signal:
            return please_stop

        calls = [(decorate(given), (1,)), (Job().method, ()), (Job(), ()), (functools.partial(given, 1), ())]
        with ThreadPool(1) as pool:
            for fn, args in calls:
                future = pool.submit(fn, *args)
                assert future.result(timeout=LONG) is future.please_stop, fn

    def test_other_targets_are_called_as_they_are(self) -> None:
        def positional(x: int, /, please_stop: Any = "not given") -> Any:
            return please_stop

        def anything(*args: Any, **kwargs: Any) -> Any:
            return args, kwargs

        with ThreadPool(1) as pool:
            assert pool.submit(anything, 1).result(timeout=LONG) == ((1,), {})
            assert pool.submit(functools.partial(anything, 2)).result(timeout=LONG) == ((2,), {})
            assert pool.submit(pow, 2, 10).result(timeout=LONG) == 1024
            assert pool.submit(positional, 1).result(timeout=LONG) is not None
            explicit = Signal()
            assert pool.submit(wait_for_stop, please_stop=explicit.go()).result(timeout=LONG) is True

    def test_cancel_of_a_running_job_fires_its_please_stop(self) -> None:
        with ThreadPool(1) as pool:
            future = pool.submit(wait_for_stop)
            assert wait_true(future.running)
            assert future.cancel() is False  # the stdlib's answer for a running job
            assert future.please_stop
            assert future.result(timeout=LONG) is True  # it stopped because it was asked

    def test_cancel_of_a_queued_job(self) -> None:
        seen: List[Any] = []
        with ThreadPool(1) as pool:
            blocker = pool.submit(wait_for_stop)
            queued = pool.submit(wait_for_stop)
            queued.add_done_callback(seen.append)
            with pytest.raises(cf.TimeoutError):
                queued.exception(timeout=0.01)
            assert queued.cancel() is True
            assert queued.cancel() is True  # again: still cancelled
            assert queued.cancelled() and queued.done() and queued.please_stop
            assert seen == [queued]  # a cancelled future is done: its callbacks ran
            with pytest.raises(cf.CancelledError):
                queued.result(timeout=0)
            with pytest.raises(cf.CancelledError):
                queued.exception(timeout=0)
            blocker.cancel()
        assert queued.cancelled() and blocker.result() is True

    def test_cancel_of_a_finished_job(self) -> None:
        with ThreadPool(1) as pool:
            future = pool.submit(abs, -3)
            assert future.result(timeout=LONG) == 3
            assert future.cancel() is False
            assert not future.cancelled() and future.result() == 3

    def test_stop_asks_running_and_queued_jobs_to_stop(self) -> None:
        pool = ThreadPool(1)
        running = pool.submit(wait_for_stop)
        queued = pool.submit(wait_for_stop)
        assert wait_true(running.running)
        pool.stop()
        pool.join(till=Till(seconds=LONG))
        assert running.result() is True and queued.result() is True


class TestInTheTree:
    def test_workers_are_children_of_the_thread_that_made_the_pool(self) -> None:
        with ThreadPool(2) as pool:
            pool.submit(abs, 1).result(timeout=LONG)
            assert pool._workers and all(worker.parent is MAIN_THREAD for worker in pool._workers)
            assert all(worker in MAIN_THREAD.children for worker in pool._workers)

    def test_stopping_the_owner_stops_the_jobs(self) -> None:
        futures: List[Any] = []

        def owner(please_stop: Signal) -> None:
            pool = ThreadPool(2)
            futures.append(pool.submit(wait_for_stop))
            please_stop.wait()

        thread = Thread.run("pool owner", owner)
        assert wait_true(lambda: futures and futures[0].running())
        thread.stop().join(till=Till(seconds=LONG))
        assert futures[0].result(timeout=0) is True

    def test_failure_nobody_looked_at_is_reported_at_exit(self) -> None:
        result = run_python(
            """
            from mo_threads import ThreadPool

            def fail(what):
                raise ValueError(what)

            pool = ThreadPool(2)
            looked_at = pool.submit(fail, "the failure that was looked at")
            looked_at.exception()
            pool.submit(fail, "the failure nobody looked at")
            print("main ends", flush=True)
            """,
            timeout=60,
        )
        output = result.stdout + result.stderr
        assert "main ends" in result.stdout, output
        assert output.count("the failure nobody looked at") == 1
        assert "the failure that was looked at" not in output

    def test_failures_looked_at_are_not_kept(self) -> None:
        with ThreadPool(2) as pool:
            for _ in range(20):
                with pytest.raises(ZeroDivisionError):
                    pool.submit(divmod, 1, 0).result(timeout=LONG)
            assert not pool._failures


class TestAsyncio:
    def test_run_in_executor(self) -> None:
        def fail() -> None:
            raise KeyError("in the pool")

        async def main(pool: ThreadPool) -> Any:
            loop = asyncio.get_running_loop()
            value = await loop.run_in_executor(pool, pow, 2, 8)
            with pytest.raises(KeyError):
                await loop.run_in_executor(pool, fail)
            return value

        with ThreadPool(2) as pool:
            assert asyncio.run(main(pool)) == 256
            assert not pool._failures  # asyncio looked at the failure

    def test_cancelled_task_fires_the_jobs_please_stop(self) -> None:
        futures: List[Any] = []

        async def main(pool: ThreadPool) -> None:
            loop = asyncio.get_running_loop()
            future = pool.submit(wait_for_stop)
            futures.append(future)
            task = asyncio.ensure_future(asyncio.wrap_future(future))
            while not future.running():
                await asyncio.sleep(0.01)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await loop.run_in_executor(None, future.please_stop.wait)

        with ThreadPool(1) as pool:
            asyncio.run(main(pool))
        assert futures[0].result(timeout=LONG) is True

    def test_default_executor(self) -> None:
        async def main(pool: ThreadPool) -> Any:
            loop = asyncio.get_running_loop()
            loop.set_default_executor(pool)
            return await loop.run_in_executor(None, threading.current_thread)

        pool = ThreadPool(1, name="default")
        worker = asyncio.run(main(pool))
        assert "default worker" in worker.name
        if sys.version_info >= (3, 9):  # asyncio.run() ends with loop.shutdown_default_executor()
            with pytest.raises(RuntimeError):
                pool.submit(abs, 1)
        pool.join(till=Till(seconds=LONG))

