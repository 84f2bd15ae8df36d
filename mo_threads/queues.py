"""Queues between threads: `Queue`, `PriorityQueue` and `ThreadedQueue`.

Theory of operation
-------------------
A `Queue` is a deque guarded by one raw `_thread` lock. Items pass by
reference: nothing is copied or serialized.

The add-to-pop path is kept lean: under the lock `add` appends, and `pop`
takes without the lock (taking from the left of a deque is atomic); neither
allocates anything. Only a thread that must wait allocates:
a consumer that finds the queue empty (or a producer that finds it full) parks
on a raw lock of its own, kept in the `_getters` (or `_putters`) deque. A
producer wakes one parked consumer only when there is one, by popping its raw
lock and releasing it; a consumer likewise wakes one parked producer after it
takes an item. The waker takes the raw lock out of line before releasing it,
so a thread woken that way need not take the queue lock to leave the line. A
woken thread always looks at the queue again before deciding what to return, so
a wake-up that raced with a timeout is never lost: if an item is there, it is
taken. Only a thread that parks is recorded in `_blocking` (kind "Queue"), once
per call.

`watch(callback)` puts a `Watch` in the consumers' line: an add wakes it like a
parked consumer, by calling `release()`, which runs the callback. `unwatch()`
passes on a wake-up the watcher did not use. This is how `wait_any` and
`async_pop` wait on a queue without a thread parked in `pop()`.

A wait with `till=` parks the same raw lock on that Signal too, so whichever
comes first wakes it; `timeout=` is a timed acquire of that raw lock, honoured
to within the OS wake-up latency. No `Till` is made per item or per wait.

The storage is reached only through hooks that `_init()` binds: `_put`,
`_put_front`, `_put_all`, `_get`, `_get_all`, `_qsize`, `_contains` (as in the stdlib
`queue.Queue` template). `PriorityQueue` rebinds them to its lanes; everything
else (closing, blocking, waking, timeouts) is shared.

`join()` returns when every item added was `task_done()`'d (the stdlib rule)
or when the queue is closed and drained (the 6.x rule). An open queue's joiner
parks in `_joiners`, woken by the `task_done()` that brings the count to zero
and by `close()`. A closed queue's joiner parks in `_putters`: once closed, no
producer waits there, and every take already wakes one waiter of that line, so
the take that empties the queue wakes a joiner at no cost to the fast path
(`_wake_putter` skips the wake-up while items are left); that joiner wakes the
others.

Closing (`close()`, or adding `PLEASE_STOP`) wakes every waiting thread.
Consumers still get what was queued before the close; once the queue is closed
and drained, `pop()` returns `PLEASE_STOP` (the same object every time), or,
after `close(error)`, raises that error (every consumer, every time).
"""

from __future__ import annotations

# isort: off  (in the order the API page shows them: mkdocstrings' members_order is "source")
from mo_threads._vocabulary import QueueClosed, QueueEmpty, QueueFull
from mo_threads._queue_core import Watch, Queue, PriorityQueue
from mo_threads._threaded_queue import ThreadedQueue

# isort: on

__all__ = ("Queue", "PriorityQueue", "ThreadedQueue", "QueueClosed", "QueueFull", "QueueEmpty", "Watch")
