"""Work that runs elsewhere, as a thread of the tree: a Dask future, a `concurrent.futures.Future`.

    from distributed import Client
    from mo_threads.remote import follow

    client = Client(cluster)
    job = follow("train", client.submit(train, data))
    ...
    model = job.join()            # the remote result, or the remote failure raised

`follow()` starts a thread that stands for the remote work: it is a child in
the thread tree like any other, so stopping it, its parent, its `ThreadGroup`
or the program (Ctrl-C, `stop_main_thread()`) cancels the work, and its result
or failure comes back through `join()` (the remote exception is the
`__cause__` of the thread's failure; a failure nobody joins is reported at
exit, as for every thread). Inside a group or a pool, run `wait_remote` as the
target: `group.run("train", wait_remote, future)`.

Any future-like object works: one with `add_done_callback(fn)` (called with the
future once it is finished, failed or cancelled, from any thread),
`cancel()`, `cancelled()` and `result()`, as Dask's `distributed.Future` and
`concurrent.futures.Future` have.

Cancelling is the remote engine's business: Dask drops a task that has not
started and releases the result of one that has, but can not interrupt a
function already running in a worker thread; `concurrent.futures` cancels only
a job still pending. The thread ends when the future is done (finished or
cancelled): work that goes on regardless keeps the thread alive, and the
shutdown watchdog reports it, rather than leaving it running unseen.
"""

from __future__ import annotations

import concurrent.futures as _cf
from typing import Any

from mo_threads._vocabulary import check_name
from mo_threads.signals import Signal
from mo_threads.threads import Thread

__all__ = ("follow", "wait_remote")

_FUTURE_METHODS = ("add_done_callback", "cancel", "cancelled", "result")


def follow(name: str, future: Any, **options: Any) -> Thread:
    """Start a thread named `name` that waits for `future` and cancels it when asked to stop.

    `join()` returns the future's result or raises the thread's failure (as
    for any thread: the future's exception is its `__cause__`); a future
    cancelled because the thread was asked to stop gives None, one cancelled
    by someone else fails with `concurrent.futures.CancelledError`. `options` are
    `Thread`'s keywords (`parent_thread=`, `deadline=`, ...). Raises TypeError
    for an object that is not a future, before starting anything.
    """
    check_name(name, "follow() name")
    _check_future(future)
    return Thread.run(name, wait_remote, future, **options)


def wait_remote(future: Any, please_stop: Signal) -> Any:
    """Wait for `future`; cancel it when `please_stop` fires first. The target `follow()` runs.

    Returns the future's result, or raises its failure; None when it was
    cancelled on `please_stop`.
    """
    _check_future(future)
    done = Signal("remote work done")
    future.add_done_callback(lambda _: done.go())
    (done | please_stop).wait()
    if not done:
        future.cancel()
        done.wait()  # work that can not be cancelled: the watchdog reports this thread until it ends
    if future.cancelled():
        if please_stop:
            return None
        raise _cf.CancelledError("the remote work was cancelled, not by this thread")
    return future.result()


def _check_future(future: Any) -> None:
    missing = [method for method in _FUTURE_METHODS if not callable(getattr(future, method, None))]
    if missing:
        raise TypeError(
            "expected a future (with " + ", ".join(_FUTURE_METHODS) + "), not " + type(future).__name__
            + " (missing " + ", ".join(missing) + ")"
        )
