"""`ThreadPool`: run many jobs on at most `num_threads` threads; a `concurrent.futures.Executor`.

Two ways in. `run(name, target)` (mo-threads 6.x) queues a job and returns a
`PoolThread`, a Thread-like handle whose `join()` returns the job's result or
raises its failure; the target must take `please_stop`. `submit(fn, *args)`
and `map(fn, *iterables)` (the `Executor` API) return `concurrent.futures`
futures (`PoolFuture`); `fn` gets the job's `please_stop` only when it has a
parameter of that name, and cancelling its future fires it. Worker threads
(real mo_threads `Thread`s, children of the thread that made the pool) start
on demand, up to `num_threads`, and take jobs from one `Queue` in order.

`join()`, `shutdown()` (or leaving the `with` block) close the pool to new
jobs, run every job already queued, and join the workers (`shutdown(wait=False)`
does not wait; `cancel_futures=True` cancels the futures not yet started).
`stop()`, called by shutdown when it stops the workers and by a `with` block
that raised, also closes the pool and fires the `please_stop` of every job
not yet finished; queued jobs still run (with `please_stop` already set), so
nothing queued is silently skipped (the stdlib's executors, too, run every
pending future before the program exits). The workers end once the queue is
drained.

A failure nobody looks at is never lost: a `release()`d job's failure is logged
at once; any other failure not joined (for a future: whose `result()` or
`exception()` was never asked for) is logged when the pool's last worker ends,
which happens when the pool is joined, shut down or stopped (at the latest by
the program's shutdown). A failure that was joined is not kept by the pool.
"""

from __future__ import annotations

import concurrent.futures as _cf
import inspect
from types import BuiltinFunctionType, CodeType
from time import monotonic as _monotonic
from typing import TYPE_CHECKING, Any, Callable, Dict, Generic, Iterable, Iterator, List, Optional, Tuple, TypeVar, Union

from mo_logs import logger

from mo_threads import _blocking
from mo_threads.lock import Lock
from mo_threads.queues import Queue
from mo_threads._vocabulary import PLEASE_STOP, QueueClosed, ThreadTimeout, bad_till, check_count, check_name, check_till
from mo_threads.signals import Signal
from mo_threads._thread_tree import _wrap_failure
from mo_threads.threads import MAIN_THREAD, AlienThread, BaseThread, Thread, current_thread

__all__ = ("ThreadPool", "PoolThread", "PoolFuture")

_T = TypeVar("_T")


def _accepts_please_stop(target: Callable[..., Any]) -> bool:
    try:
        parameters = inspect.signature(target).parameters.values()
    except (TypeError, ValueError):
        return True  # can not tell: let the call decide
    return any(
        p.kind is p.VAR_KEYWORD or (p.name == "please_stop" and p.kind is not p.POSITIONAL_ONLY) for p in parameters
    )


def _takes_please_stop(fn: Callable[..., Any]) -> bool:
    """True when `fn` has a parameter named please_stop (the Executor API passes it only then)."""
    code = getattr(fn, "__code__", None)
    if code.__class__ is CodeType and not hasattr(fn, "__wrapped__"):
        # a plain function or method: read its code (inspect.signature costs more than a tiny job)
        names = code.co_varnames[code.co_posonlyargcount : code.co_argcount + code.co_kwonlyargcount]
        return "please_stop" in names
    if isinstance(fn, BuiltinFunctionType):
        return False
    try:
        parameters = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False  # can not tell: call it as it is, as any Executor would
    parameter = parameters.get("please_stop")
    return parameter is not None and parameter.kind not in (parameter.POSITIONAL_ONLY, parameter.VAR_POSITIONAL)


class PoolThread:
    """A job queued on a `ThreadPool`, used like a `Thread`.

    `please_stop` is the Signal given to the target; `stopped` fires when the
    job has run (or failed). `join(till=)` returns the result or raises the
    failure (wrapped, with the original as cause); `THREAD_TIMEOUT` when `till`
    fires first.
    """

    __slots__ = (
        "name",
        "please_stop",
        "stopped",
        "started",
        "_pool",
        "_target",
        "_args",
        "_kwargs",
        "_result",
        "_failure",
        "_joined",
        "_released",
        "_reported",
    )

    def __init__(self, pool: ThreadPool, name: str, target: Callable[..., Any], args: Any, kwargs: Any) -> None:
        self.name = name
        please_stop = kwargs.get("please_stop")
        if please_stop is None:
            please_stop = kwargs["please_stop"] = Signal("please_stop of " + name)
        elif not isinstance(please_stop, Signal):
            raise TypeError("please_stop must be a Signal, not " + type(please_stop).__name__)
        self.please_stop: Signal = please_stop
        self.stopped = Signal("stopped " + name)
        self.started = Signal("started " + name)
        self._pool = pool
        self._target: Any = target
        self._args = args
        self._kwargs = kwargs
        self._result: Any = None
        self._failure: Optional[BaseException] = None
        self._joined = False
        self._released = False
        self._reported = False

    def _run(self) -> None:
        """Run the target on the calling (worker) thread."""
        self.started.go()
        try:
            self._result = self._target(*self._args, **self._kwargs)
        except BaseException as failure:
            self._failure = failure
        finally:
            self._target = self._args = self._kwargs = None
            self.stopped.go()
        if self._failure is not None:
            self._pool._failed(self)

    def stop(self) -> PoolThread:
        """Ask the job to stop (fires its `please_stop`). Never blocks; returns the job."""
        self.please_stop.go()
        return self

    def is_alive(self) -> bool:
        """True until the job has run."""
        return not self.stopped

    @property
    def result(self) -> Any:
        """The target's return value, once stopped (None before)."""
        return self._result

    def join(self, till: Optional[Signal] = None) -> Any:
        """Wait for the job to run; return its result or raise its failure.

        Raises `THREAD_TIMEOUT` when `till` fires first.
        """
        if till is not None and not isinstance(till, Signal):
            raise bad_till(till)
        stopped = self.stopped
        if not stopped._go:
            # slow path: recorded for dumps and metrics, as a join of this job
            record = _blocking.begin("join", self, bounded=till is not None)
            try:
                done = stopped.wait(till=till)
            finally:
                _blocking.end(record)
            if not done:
                raise ThreadTimeout("Timeout on join of thread " + repr(self.name))
        failure = self._failure
        if failure is None:
            self._joined = True
            return self._result
        self._pool._forget_failure(self)  # joined: the pool keeps it no longer
        raise _wrap_failure(self.name, failure)

    def release(self) -> PoolThread:
        """Nobody will join this job: a failure is logged as soon as it happens."""
        self._released = True
        if self.stopped and self._failure is not None:
            self._pool._report(self, "and it was released (nobody joins it)")
        return self

    def __repr__(self) -> str:
        state = "done" if self.stopped else ("running" if self.started else "queued")
        return "<PoolThread " + repr(self.name) + " " + state + ">"


if TYPE_CHECKING:
    _ConcurrentFuture = _cf.Future
else:  # concurrent.futures.Future takes no type argument at run time before Python 3.9

    class _ConcurrentFuture(_cf.Future, Generic[_T]):
        __slots__ = ()


class PoolFuture(_ConcurrentFuture[_T]):
    """The `concurrent.futures.Future` of a job given to `ThreadPool.submit()` (or `map()`).

    A `concurrent.futures.Future` in every way (`result(timeout)`,
    `exception()`, `add_done_callback()`, `concurrent.futures.wait()`,
    `asyncio.wrap_future()`), with the job's `please_stop` Signal: `fn` gets
    it when it has a `please_stop` parameter. `cancel()` fires it: a job not
    started yet never runs (cancel returns True, as the stdlib's); a running
    one is asked to stop (cancel returns False, as the stdlib's, and the
    future settles with whatever the job returns or raises). For a
    mo_threads `Future`, use `Future.from_concurrent(future)`.
    """

    _released = False  # a future is never released: its failure waits for result() or exception()

    def __init__(self, pool: ThreadPool, name: str, fn: Callable[..., _T], args: Any, kwargs: Any) -> None:
        _cf.Future.__init__(self)
        self.name = name
        self.please_stop = Signal("please_stop of " + name)
        self._pool = pool
        self._call: Any = (fn, args, kwargs)
        self._joined = False  # its failure was looked at (result() or exception())
        self._reported = False

    def _run(self) -> None:
        """Run the job on the calling (worker) thread, unless it was cancelled."""
        fn, args, kwargs = self._call
        self._call = None
        if not self.set_running_or_notify_cancel():
            return
        try:
            result = fn(*args, **kwargs)
        except BaseException as failure:
            # kept before anyone can see it: a result() that follows forgets it (no race)
            self._pool._failed(self)
            self.set_exception(failure)
        else:
            self.set_result(result)

    def cancel(self) -> bool:
        """Fire `please_stop`; cancel the job if it has not started. True when cancelled (as the stdlib's)."""
        self.please_stop.go()
        return _cf.Future.cancel(self)

    def result(self, timeout: Optional[float] = None) -> _T:
        """The job's result, as `concurrent.futures.Future.result` (its failure raised as it is)."""
        try:
            return _cf.Future.result(self, timeout)
        except BaseException:
            if self.done() and not self.cancelled():  # the job's own failure (not a timeout, not cancelled)
                self._pool._forget_failure(self)
            raise

    def exception(self, timeout: Optional[float] = None) -> Optional[BaseException]:
        """The job's failure (None when it succeeded), as `concurrent.futures.Future.exception`."""
        failure = _cf.Future.exception(self, timeout)
        if failure is not None:
            self._pool._forget_failure(self)
        return failure

    if hasattr(_cf.Future, "_get_snapshot"):  # Python 3.15+

        def _get_snapshot(self) -> Tuple[bool, bool, Any, Optional[BaseException]]:
            # asyncio (wrap_future, run_in_executor) reads a finished future through this
            # private method, not exception(): what it reads was looked at all the same
            snapshot: Tuple[bool, bool, Any, Optional[BaseException]] = _cf.Future._get_snapshot(self)  # type: ignore[attr-defined]
            if snapshot[3] is not None:
                self._pool._forget_failure(self)
            return snapshot

    @property
    def _failure(self) -> Optional[BaseException]:
        # what the pool reports once the job has failed: read without counting as looked at
        return _cf.Future.exception(self)

    def __repr__(self) -> str:
        return "<PoolFuture " + repr(self.name) + " " + self._state.lower() + ">"


_Job = Union[PoolThread, PoolFuture[Any]]


# A ThreadPoolExecutor by type only (its __init__ is not called, none of its machinery used):
# asyncio's set_default_executor() refuses any other Executor. Every public method is ours.
class ThreadPool(_cf.ThreadPoolExecutor):
    """Run jobs on at most `num_threads` threads: `with ThreadPool(4) as pool: pool.run(...)`.

    `run(name, target, *args, **kwargs)` calls `target(*args, please_stop=..., **kwargs)`
    on a worker and returns a `PoolThread`. As a `concurrent.futures.Executor`,
    `submit(fn, *args, **kwargs)` returns a `PoolFuture`, `map(fn, *iterables,
    timeout=None)` yields the results in order (and cancels the rest when it
    ends early), and `shutdown(wait=True, cancel_futures=False)` closes the
    pool; so it serves `loop.run_in_executor(pool, fn)`,
    `loop.set_default_executor(pool)` and any library taking an `executor=`.
    Leaving the block (or `join()`) runs every queued job and joins the
    workers; if the block raised, the jobs are asked to stop first.
    """

    def __init__(self, num_threads: int, name: Optional[str] = None) -> None:
        # not ThreadPoolExecutor.__init__: see above
        check_count(num_threads, "ThreadPool num_threads", 1, wrong_type=ValueError)
        if name is not None:
            check_name(name, "ThreadPool name")
        self.name = name or "thread pool"
        self.num_threads = num_threads
        # the pool's own: not made anew at a fork (its workers are threads of the parent; see _runtime)
        self._lock = Lock("thread pool " + self.name)
        self._jobs: Queue[Any] = Queue("jobs of " + self.name, silent=True)
        self._workers: List[Thread] = []
        self._workers_ended = 0
        self._unfinished: Dict[_Job, None] = {}
        # failed jobs nobody looked at yet, in order (dicts: forgetting one is O(1))
        self._failures: Dict[_Job, None] = {}
        # the workers are children of the thread that made the pool (not of whichever
        # thread calls run(): a job may run more jobs, and a worker must not own another)
        parent: BaseThread = current_thread()
        if isinstance(parent, AlienThread) and not parent.registered:
            parent = MAIN_THREAD  # nobody ends an unregistered thread's tree
        self._parent = parent

    def run(self, name: Any, target: Callable[..., Any], *args: Any, **kwargs: Any) -> PoolThread:
        """Queue `target(*args, please_stop=<Signal>, **kwargs)`; return its `PoolThread`.

        A `name` that is not a str is made one (`str(name)`), as in mo-threads 6.x.
        Raises `RuntimeError` once the pool is joined (closed to new jobs),
        `TypeError` for a target that does not accept `please_stop`.
        """
        if name.__class__ is not str:
            name = str(name)
        if not callable(target):
            raise TypeError("ThreadPool " + repr(self.name) + ": target of " + repr(name) + " must be callable")
        if not _accepts_please_stop(target):
            raise TypeError(
                "ThreadPool "
                + repr(self.name)
                + ": function "
                + getattr(target, "__qualname__", repr(target))
                + "() of job "
                + repr(name)
                + " must accept a please_stop keyword argument"
            )
        job = PoolThread(self, name, target, args, kwargs)
        self._queue(job)
        return job

    def submit(self, fn: Callable[..., _T], /, *args: Any, **kwargs: Any) -> PoolFuture[_T]:
        """Queue `fn(*args, **kwargs)`; return its `PoolFuture` (a `concurrent.futures.Future`).

        `fn` gets the job's `please_stop` Signal as a keyword when it has a
        parameter of that name (and none was given); other callables are
        called as they are. Raises `RuntimeError` once the pool is shut down,
        `TypeError` for an `fn` that is not callable.
        """
        if not callable(fn):
            raise TypeError("ThreadPool " + repr(self.name) + ".submit() takes a callable, not " + type(fn).__name__)
        name = getattr(fn, "__qualname__", None) or type(fn).__name__
        future: PoolFuture[_T] = PoolFuture(self, name, fn, args, kwargs)
        if "please_stop" not in kwargs and _takes_please_stop(fn):
            kwargs["please_stop"] = future.please_stop
        self._queue(future)
        return future

    def map(
        self, fn: Callable[..., _T], *iterables: Iterable[Any], timeout: Optional[float] = None, chunksize: int = 1
    ) -> Iterator[_T]:
        """Submit `fn(*args)` for each tuple of arguments taken from `iterables` at once; yield the results in order.

        As `concurrent.futures.Executor.map`: a failure is raised when its
        result's turn comes; `timeout` (seconds from this call) makes the
        iterator raise `TimeoutError` for a result not ready by then;
        `chunksize` is ignored. The same on every Python: once the iterator
        ends early (failure, timeout, or closed unfinished), every future it
        has not yielded is cancelled, so each job still queued never runs and
        each running one gets its `please_stop`.
        """
        deadline = None if timeout is None else _monotonic() + timeout
        futures: List[PoolFuture[_T]] = []
        try:
            for args in zip(*iterables):
                futures.append(self.submit(fn, *args))
        except BaseException:
            for future in futures:
                future.cancel()
            raise

        def results() -> Iterator[_T]:
            futures.reverse()
            try:
                while futures:
                    value = futures[-1].result(None if deadline is None else deadline - _monotonic())
                    futures.pop()  # no reference kept to a future whose result was yielded
                    yield value
            finally:
                for future in futures:
                    future.cancel()

        return results()

    def _queue(self, job: _Job) -> None:
        # in _unfinished before it is queued, so a stop() that closes the queue finds it;
        # dict item set/pop are atomic: only the pool's first jobs, which start workers, take the lock
        unfinished = self._unfinished
        unfinished[job] = None
        if len(self._workers) < self.num_threads:
            with self._lock:
                if not self._jobs.closed:
                    self._jobs.add(job)
                    if len(self._workers) < self.num_threads:
                        number = len(self._workers) + 1
                        self._workers.append(
                            Thread.run(self.name + " worker " + str(number), self._work, parent_thread=self._parent)
                        )
                    return
        else:
            try:
                self._jobs.add(job)
                return
            except QueueClosed:
                pass
        unfinished.pop(job, None)
        raise RuntimeError(
            "ThreadPool " + repr(self.name) + " is closed: it takes no more jobs (cannot schedule new futures after shutdown)"
        )

    def _work(self, please_stop: Signal) -> None:
        please_stop.then(self.stop)
        jobs = self._jobs
        unfinished = self._unfinished
        try:
            while True:
                job = jobs.pop()
                if job is PLEASE_STOP:
                    return
                try:
                    job._run()
                finally:
                    unfinished.pop(job, None)
                job = None  # the last job is no worker's business while it waits for the next
        finally:
            self._worker_ended()

    def _worker_ended(self) -> None:
        """The last worker to end reports the failures nobody looked at: every job has run."""
        with self._lock:
            self._workers_ended += 1
            if self._workers_ended < len(self._workers) or not self._jobs.closed:
                return
            failures, self._failures = self._failures, {}
        for job in failures:
            self._report(job, "and nobody joined it before its pool ended")

    def _failed(self, job: _Job) -> None:
        if job._released:
            self._report(job, "and it was released (nobody joins it)")
            return
        with self._lock:
            if not job._joined:
                self._failures[job] = None

    def _forget_failure(self, job: _Job) -> None:
        """`job`'s failure was looked at: never report it, and keep it no longer."""
        with self._lock:
            job._joined = True
            self._failures.pop(job, None)

    def _report(self, job: _Job, why: str) -> None:
        """Log `job`'s failure, once, unless it was looked at (joined, `result()`, `exception()`)."""
        with self._lock:
            if job._reported or job._joined:
                return
            job._reported = True
        logger.warning("Thread {name|quote} failed, " + why, name=job.name, cause=job._failure, log_severity="ERROR")

    def stop(self) -> None:
        """Close the pool to new jobs and ask every job not yet finished to stop. Never blocks.

        Queued jobs (`run()` jobs and futures alike) still run, with please_stop
        already set: nothing queued is skipped, as the stdlib's executors run
        every pending future before the program exits. The workers end once
        the queue is drained. Shutdown calls this when it stops the workers.
        """
        with self._lock:
            self._jobs.close()
            jobs = list(self._unfinished)
        for job in jobs:
            job.please_stop.go()

    def join(self, till: Optional[Signal] = None) -> None:
        """Close the pool to new jobs, run every queued job, and join the workers.

        Raises `THREAD_TIMEOUT` when `till` fires first (the pool stays closed).
        Logs the failures of jobs nobody joined.
        """
        check_till(till)
        with self._lock:
            self._jobs.close()
            workers = list(self._workers)
        for worker in workers:
            worker.join(till=till)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Close the pool to new jobs, as `concurrent.futures.Executor.shutdown`.

        With `cancel_futures`, the futures not started yet are cancelled (their
        `please_stop` fires); running ones and `run()` jobs are left to finish.
        With `wait`, returns once every job has run and the workers are joined
        (as `join()`); without, returns at once and the workers end by
        themselves once the queue is drained. Calling it again does no harm.
        """
        with self._lock:
            self._jobs.close()
            pending = [job for job in self._unfinished if isinstance(job, PoolFuture)] if cancel_futures else []
        for future in pending:
            if _cf.Future.cancel(future):  # not a running one: the stdlib leaves those alone
                future.please_stop.go()
        if wait:
            self.join()

    def __enter__(self) -> ThreadPool:
        return self

    def __exit__(self, exc_type: Any, exc: Any, traceback: Any) -> None:
        if exc is not None:
            self.stop()
        self.join()

    def __repr__(self) -> str:
        return "<ThreadPool " + repr(self.name) + " " + str(len(self._workers)) + "/" + str(self.num_threads) + " workers>"
