"""`ThreadedQueue`: a `Queue` whose worker `Thread` forwards items in batches; its public home is `mo_threads.queues`.

It lives apart from the queue core (`_queue_core`) because it is the one queue
that runs a thread: the core stays below the thread tree, and only this module
imports `mo_threads.threads`.
"""

from __future__ import annotations

import functools
import types
from time import monotonic as _monotonic, sleep as _sleep
from typing import Any, Callable, List, Optional, TypeVar

from mo_logs import logger

from mo_threads._queue_core import Queue
from mo_threads._vocabulary import PLEASE_STOP, check_count, check_till, check_timeout
from mo_threads.signals import Signal
from mo_threads.threads import Thread  # ThreadedQueue's worker

__all__ = ("ThreadedQueue",)

_T = TypeVar("_T")

# the types ThreadedQueue treats as "run me after the preceding batch is delivered"
_CALLBACK_TYPES = (types.FunctionType, types.MethodType, functools.partial)


class ThreadedQueue(Queue[_T]):
    """A Queue whose worker thread forwards items in batches to `slow_queue.extend(batch)`.

    A batch goes out when `batch_size` items are waiting, or `period` seconds
    after the first of them arrived. A function (or method, or
    `functools.partial`) added to the queue is not forwarded: it is called,
    with no arguments, after the items added before it are delivered.

    `stop()`, leaving the `with` block, or the worker being asked to stop
    (shutdown) closes the queue; every item is then delivered exactly once, in
    order, and `slow_queue.add(PLEASE_STOP)` is called if the slow queue has an
    `add` method (a sink without `add` is just left alone); after
    `close(error)`, a `Queue` sink is closed with that error instead.

    When `slow_queue.extend` raises, the error and the batch go to
    `error_target(error, batch)` (on the worker thread), or to the log, and the
    same batch is retried after a short backoff — nothing is dropped, so a sink
    that keeps failing keeps `stop()` waiting. Once the worker itself is asked
    to stop (`queue.thread.stop()`, or shutdown), a batch that still fails after
    a few more tries is logged as lost, so shutdown can not hang on a dead sink.
    """

    __module__ = "mo_threads.queues"  # its public home

    __slots__ = ("slow_queue", "batch_size", "period", "error_target", "thread")

    def __init__(
        self,
        name: str,
        slow_queue: Any,
        batch_size: Optional[int] = None,
        max_size: Optional[int] = None,
        period: Optional[float] = None,
        silent: bool = False,
        error_target: Optional[Callable[[BaseException, List[Any]], Any]] = None,
    ) -> None:
        if not callable(getattr(slow_queue, "extend", None)):
            raise TypeError("ThreadedQueue " + repr(name) + ": slow_queue must have an extend() method")
        for what, number in (("batch_size", batch_size), ("max_size", max_size)):
            check_count(number, "ThreadedQueue " + repr(name) + ": " + what, 1, none="the default", wrong_type=ValueError)
        if period is None:
            period = 1.0
        elif check_timeout(period, "period") == 0:
            raise ValueError("ThreadedQueue " + repr(name) + ": period must be more than 0 seconds")
        if error_target is not None and not callable(error_target):
            raise TypeError("ThreadedQueue " + repr(name) + ": error_target must be callable")
        batch_size = batch_size or (max(1, max_size // 2) if max_size else 900)
        max_size = max_size or batch_size * 2
        Queue.__init__(self, name, max=max_size, silent=silent)
        self.slow_queue = slow_queue
        self.batch_size = batch_size
        self.period = float(period)
        self.error_target = error_target
        self.thread = Thread.run("threaded queue for " + name, self._worker)

    def _worker(self, please_stop: Signal) -> None:
        please_stop.then(self.close)
        batch_size = self.batch_size
        batch: List[Any] = []
        callbacks: List[Any] = []
        flush_at: Optional[float] = None
        while True:
            taken = self._take(batch_size - len(batch), flush_at)
            if taken is PLEASE_STOP:
                break
            for item in taken:
                if isinstance(item, _CALLBACK_TYPES):
                    callbacks.append(item)
                else:
                    batch.append(item)
            if (batch or callbacks) and flush_at is None:
                flush_at = _monotonic() + self.period
            if len(batch) >= batch_size or (flush_at is not None and _monotonic() >= flush_at):
                self._deliver(batch, please_stop)
                self._run_callbacks(callbacks)
                batch, callbacks, flush_at = [], [], None
        self._deliver(batch, please_stop)
        self._run_callbacks(callbacks)
        if self._error is not None:
            if isinstance(self.slow_queue, Queue):
                self.slow_queue.close(self._error)  # pass the reason on
                return
            logger.warning(
                "ThreadedQueue {name|quote} was closed with an error its sink can not be told about",
                name=self.name,
                cause=self._error,
            )
        add = getattr(self.slow_queue, "add", None)
        if callable(add):
            try:
                add(PLEASE_STOP)
            except Exception as cause:
                logger.warning("ThreadedQueue {name|quote} could not pass PLEASE_STOP on", name=self.name, cause=cause)

    def _deliver(self, batch: List[Any], please_stop: Signal) -> None:
        if not batch:
            return
        failures = 0
        while True:
            try:
                self.slow_queue.extend(batch)
                return
            except Exception as cause:
                failures += 1
                self._report(cause, batch)
                if please_stop and failures >= 3:
                    logger.warning(
                        "ThreadedQueue {name|quote} is stopping and lost {num} items its sink refused",
                        name=self.name,
                        num=len(batch),
                        log_severity="ERROR",
                    )
                    return
                backoff = min(0.01 * 2 ** failures, 1.0)
                if please_stop:
                    _sleep(min(backoff, 0.1))
                else:
                    please_stop.wait(timeout=backoff)

    def _report(self, cause: BaseException, batch: List[Any]) -> None:
        if self.error_target is not None:
            try:
                self.error_target(cause, batch)
                return
            except Exception as failure:
                logger.warning("ThreadedQueue {name|quote}: error_target failed", name=self.name, cause=failure)
        logger.warning(
            "ThreadedQueue {name|quote} failed to deliver {num} items; will retry", name=self.name, num=len(batch), cause=cause
        )

    def _run_callbacks(self, callbacks: List[Any]) -> None:
        for callback in callbacks:
            try:
                callback()
            except Exception as cause:
                logger.warning("ThreadedQueue {name|quote}: a callback failed", name=self.name, cause=cause)

    def stop(self, till: Optional[Signal] = None) -> ThreadedQueue[_T]:
        """Close, then wait until every item is delivered and the worker has ended; return the queue.

        Raises `THREAD_TIMEOUT` if `till` fires first (the worker carries on).
        """
        check_till(till)
        self.close()
        self.thread.join(till=till)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()
