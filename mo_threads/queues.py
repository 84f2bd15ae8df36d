"""Queues between threads: `Queue`, `PriorityQueue` and `ThreadedQueue`.

Items pass by reference: nothing is copied or serialized. `close()` (or adding
`PLEASE_STOP`) ends a queue: consumers still get what was queued, then
`PLEASE_STOP`, or the error given to `close(error)`. The `queue.Queue` methods
(`put`, `get`, `task_done`, `join`, ...) are there too, with `till=` as well as
`timeout=`.

The code lives in `_queue_core` (`Queue`, `PriorityQueue`, `Watch`; its
docstring holds the theory of operation), `_queue_stdlib` (the `queue.Queue`
methods, a mixin `Queue` inherits) and `_threaded_queue` (`ThreadedQueue`);
this module is their public home.
"""

from __future__ import annotations

# isort: off  (in the order the API page shows them: mkdocstrings' members_order is "source")
from mo_threads._vocabulary import QueueClosed, QueueEmpty, QueueFull
from mo_threads._queue_core import Watch, Queue, PriorityQueue
from mo_threads._threaded_queue import ThreadedQueue

# isort: on

__all__ = ("Queue", "PriorityQueue", "ThreadedQueue", "QueueClosed", "QueueFull", "QueueEmpty", "Watch")
