"""`supervise()`: keep a named long-running thread alive, restarting it when it fails.

    worker = supervise("listener", listen, port, max_restarts=10, backoff=2)
    ...
    worker.stop(); worker.join()

The returned `Thread` is named `name` and runs `target` in a loop (see
`_restart.run_with_restarts`): each failure is logged with its cause, then,
after the children the failed try left behind are stopped and joined and
`backoff` seconds have passed, `target` runs again on the same thread, with
the same `please_stop`. Restarts stop when `please_stop` fires (`stop()`, the
parent stopping, or shutdown): no new try starts and a backoff wait ends at
once.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from mo_threads._restart import RestartPolicy
from mo_threads._thread_options import _take_options
from mo_threads.threads import BaseThread, Thread

__all__ = ("supervise",)


def supervise(
    name: str,
    target: Callable[..., Any],
    *args: Any,
    restart: str = "on-failure",
    max_restarts: Optional[int] = None,
    backoff: float = 1.0,
    parent_thread: Optional[BaseThread] = None,
    **kwargs: Any,
) -> Thread:
    """Start thread `name` running `target(*args, please_stop=<Signal>, **kwargs)`, restarted per `restart`.

    `restart`: "on-failure" (run again when it raises), "always" (also when it
    returns, until `please_stop`), or "never". `max_restarts`: how many
    restarts at most (None: no limit); the failure after the last one is the
    thread's failure (raised by `join()`). `backoff`: seconds between a failure
    and the restart. `join()` returns the result of the try that succeeded.
    Raises `ValueError`/`TypeError` for a bad policy or a target without a
    `please_stop` keyword.

    The same as `Thread.run(name, target, *args, restart=..., max_restarts=...,
    backoff=..., **kwargs)`, except that here these keywords are always the
    policy, even for a target that declares parameters of those names;
    `deadline=` follows `Thread`'s rule.
    """
    policy = RestartPolicy(restart, max_restarts, backoff)
    deadline, _ = _take_options(name, target, kwargs)
    return Thread._make(name, target, args, kwargs, parent_thread, deadline, policy).start()
