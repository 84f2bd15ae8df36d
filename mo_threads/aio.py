"""asyncio bridges: await mo_threads objects, and run blocking code on mo_threads Threads.

Theory of operation
-------------------
`await signal` (see `Signal.__await__`) is the one primitive: a `then()`
callback on the signal wakes the event loop with `call_soon_threadsafe`, from
whichever thread fires it, so the loop keeps running its other tasks meanwhile.
Everything here is built on it:

    pop(queue)                 `Queue.async_pop`: the queue wakes a parked Signal
    receive(channel)           `Channel.async_receive`: its watcher hook wakes one
    run_in_thread(name, fn)    awaits the thread's `stopped` Signal; cancelling
                               the awaiting task fires the thread's `please_stop`

This module is above every other one; nothing in mo_threads imports it.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, TypeVar

from mo_threads.channels import Channel
from mo_threads.queues import Queue
from mo_threads._vocabulary import check_till
from mo_threads.signals import Signal
from mo_threads.threads import Thread

__all__ = ("pop", "receive", "run_in_thread", "wait")

_T = TypeVar("_T")


async def wait(signal: Signal, till: Optional[Signal] = None) -> bool:
    """Await `signal` without blocking the event loop; False when `till` fires first.

    Returns True once `signal` has fired (`await signal` does the same without `till`).
    """
    if not isinstance(signal, Signal):
        raise TypeError("aio.wait() expects a Signal, not " + type(signal).__name__)
    check_till(till)
    if signal or till is None:
        return await signal
    await (signal | till)
    return bool(signal)


async def pop(queue: Queue[_T], till: Optional[Signal] = None) -> Any:
    """Await the next item of `queue` (`Queue.async_pop`) without blocking the event loop.

    Returns the item, `None` when `till` fires first, and `PLEASE_STOP` once the
    queue is closed and drained.
    """
    if not isinstance(queue, Queue):
        raise TypeError("aio.pop() expects a Queue, not " + type(queue).__name__)
    return await queue.async_pop(till=till)


async def receive(channel: Channel[_T], till: Optional[Signal] = None, *, timeout: Optional[float] = None) -> Any:
    """Await the next value of `channel` (`Channel.async_receive`) without blocking the event loop.

    As `Channel.receive`: once the channel is closed and drained, returns
    `PLEASE_STOP` or raises the error given to `close()`; raises
    `ThreadTimeout` when `till` fires or `timeout` passes first.
    """
    if not isinstance(channel, Channel):
        raise TypeError("aio.receive() expects a Channel, not " + type(channel).__name__)
    return await channel.async_receive(till, timeout=timeout)


async def run_in_thread(name: str, fn: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
    """Run `fn(*args, please_stop=<Signal>, **kwargs)` on a new mo_threads Thread; await its result.

    `fn` must accept `please_stop`, as every Thread target does. The event loop
    keeps running meanwhile. Returns what `fn` returns; raises what
    `Thread.join` raises when `fn` fails. Cancelling the awaiting task fires
    the thread's `please_stop` and lets the task end at once: the thread ends
    on its own (a failure then is logged, since nobody joins it).
    """
    thread = Thread(name, fn, *args, **kwargs)
    thread.start()
    try:
        await thread.stopped
    except BaseException:
        # cancelled (or the loop is closing): ask the thread to stop, and let it end alone
        thread.stop()
        thread.release()
        raise
    result: _T = thread.join()
    return result
