"""How the structured-concurrency primitives wait (internal).

`groups`, `channels`, `sync`, `waiting` and `supervise` share one rule for a
wait cut short: a call that hands something back (`Channel.send`/`receive`,
`Barrier.wait`, `wait_any`) raises `ThreadTimeout` (a `TimeoutError`, the
library's `THREAD_TIMEOUT`, also raised by `Thread.join` and `Future.wait`);
a call that only says whether it got what it asked for (`Semaphore.acquire`,
`Latch.wait`, like `Lock.acquire` and `Signal.wait`) returns False.
`Queue` keeps the stdlib's and upstream's conventions instead: `add` on a
full queue raises `QueueFull` (a `queue.Full` and a `ThreadTimeout`), `get`
raises `QueueEmpty` (a `queue.Empty`), and `pop` returns None.
docs/guide/waits.md lists every blocking call.

Every wait parks through `_parking`: `Semaphore` and `Channel` in lots of
their own, the broadcasts (`Barrier`'s round, `Latch`) on one Signal with
`wait_for`, `wait_any` on its waker Signal with `_parking.park_on` (holding the
main thread's signal handlers from the wake-up to the take); a main thread
blocked in one still sees Ctrl-C.
"""

from __future__ import annotations

from typing import Optional

from mo_threads.signals import Signal

__all__ = ("wait_for",)


def wait_for(signal: Signal, till: Optional[Signal], timeout: Optional[float]) -> bool:
    """Block until `signal` fires (True) or `till`/`timeout` comes first (False)."""
    return signal.wait(till, timeout=timeout)
