"""`ThreadPool`: run many jobs on at most `num_threads` threads.

`run()` queues a job and returns a `PoolThread`, a Thread-like handle whose
`join()` returns the job's result or raises its failure. Worker threads (real
mo_threads `Thread`s, children of the thread that made the pool) start on
demand, up to `num_threads`, and take jobs from one `Queue` in order.

`join()` (or leaving the `with` block) closes the pool to new jobs, runs every
job already queued, and joins the workers. `stop()` — called by shutdown when
it stops the workers, and by a `with` block that raised — also closes the pool
and fires the `please_stop` of every job not yet finished; queued jobs still
run (with `please_stop` already set), so nothing queued is silently skipped,
and the workers end once the queue is drained.

A failure nobody joins is never lost: a `release()`d job's failure is logged at
once; any other failure not joined by the time the pool is joined is logged then.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, List, Optional, Set

from mo_logs import Except, logger

from mo_threads import _blocking
from mo_threads.lock import Lock
from mo_threads.queues import Queue
from mo_threads._vocabulary import PLEASE_STOP, ThreadTimeout, bad_till, check_count, check_name, check_till
from mo_threads.signals import Signal
from mo_threads.threads import MAIN_THREAD, AlienThread, BaseThread, Thread, current_thread

__all__ = ("ThreadPool", "PoolThread")


def _accepts_please_stop(target: Callable[..., Any]) -> bool:
    try:
        parameters = inspect.signature(target).parameters.values()
    except (TypeError, ValueError):
        return True  # can not tell: let the call decide
    return any(
        p.kind is p.VAR_KEYWORD or (p.name == "please_stop" and p.kind is not p.POSITIONAL_ONLY) for p in parameters
    )


def _log_failure(name: str, failure: BaseException, why: str) -> None:
    logger.warning("Thread {name|quote} failed, " + why, name=name, cause=failure, log_severity="ERROR")


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
        self._joined = True
        failure = self._failure
        if failure is not None:
            error = Except(template="Thread {name|quote} failed", params={"name": self.name}, cause=Except.wrap(failure))
            error.__cause__ = failure
            raise error
        return self._result

    def release(self) -> PoolThread:
        """Nobody will join this job: a failure is logged as soon as it happens."""
        self._released = True
        if self.stopped and self._failure is not None:
            self._report("and it was released (nobody joins it)")
        return self

    def _report(self, why: str) -> None:
        with self._pool._lock:
            if self._reported or self._joined:
                return
            self._reported = True
        _log_failure(self.name, self._failure, why)  # type: ignore[arg-type]

    def __repr__(self) -> str:
        state = "done" if self.stopped else ("running" if self.started else "queued")
        return "<PoolThread " + repr(self.name) + " " + state + ">"


class ThreadPool:
    """Run jobs on at most `num_threads` threads: `with ThreadPool(4) as pool: pool.run(...)`.

    `run(name, target, *args, **kwargs)` calls `target(*args, please_stop=..., **kwargs)`
    on a worker and returns a `PoolThread`. Leaving the block (or `join()`)
    runs every queued job and joins the workers; if the block raised, the jobs
    are asked to stop first.
    """

    def __init__(self, num_threads: int, name: Optional[str] = None) -> None:
        check_count(num_threads, "ThreadPool num_threads", 1, wrong_type=ValueError)
        if name is not None:
            check_name(name, "ThreadPool name")
        self.name = name or "thread pool"
        self.num_threads = num_threads
        # the pool's own: not made anew at a fork (its workers are threads of the parent; see _runtime)
        self._lock = Lock("thread pool " + self.name)
        self._jobs: Queue[Any] = Queue("jobs of " + self.name, silent=True)
        self._workers: List[Thread] = []
        self._unfinished: Set[PoolThread] = set()
        self._failures: List[PoolThread] = []
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
        with self._lock:
            if self._jobs.closed:
                raise RuntimeError("ThreadPool " + repr(self.name) + " is closed: it takes no more jobs")
            self._unfinished.add(job)
            self._jobs.add(job)
            if len(self._workers) < self.num_threads:
                number = len(self._workers) + 1
                self._workers.append(
                    Thread.run(self.name + " worker " + str(number), self._work, parent_thread=self._parent)
                )
        return job

    def _work(self, please_stop: Signal) -> None:
        please_stop.then(self.stop)
        jobs = self._jobs
        while True:
            job = jobs.pop()
            if job is PLEASE_STOP:
                return
            try:
                job._run()
            finally:
                with self._lock:
                    self._unfinished.discard(job)

    def _failed(self, job: PoolThread) -> None:
        if job._released:
            job._report("and it was released (nobody joins it)")
        else:
            with self._lock:
                self._failures.append(job)

    def stop(self) -> None:
        """Close the pool to new jobs and ask every job not yet finished to stop. Never blocks.

        Queued jobs still run, with please_stop already set; the workers end
        once the queue is drained. Shutdown calls this when it stops the workers.
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
        with self._lock:
            failures, self._failures = self._failures, []
        for job in failures:
            job._report("and nobody joined it before its pool ended")

    def __enter__(self) -> ThreadPool:
        return self

    def __exit__(self, exc_type: Any, exc: Any, traceback: Any) -> None:
        if exc is not None:
            self.stop()
        self.join()

    def __repr__(self) -> str:
        return "<ThreadPool " + repr(self.name) + " " + str(len(self._workers)) + "/" + str(self.num_threads) + " workers>"
