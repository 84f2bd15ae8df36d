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

from mo_logs import logger

from mo_threads._restart import RestartPolicy, run_with_restarts
from mo_threads.signals import Signal
from mo_threads.threads import BaseThread, Thread, _accepts_please_stop, _describe_function, current_thread

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
    """
    policy = RestartPolicy(restart, max_restarts, backoff)
    if not callable(target):
        raise TypeError("supervise " + repr(name) + ": target must be callable, not " + type(target).__name__)
    if not _accepts_please_stop(target):
        raise TypeError(
            "Thread "
            + repr(name)
            + ": function "
            + _describe_function(target)
            + "() must accept a please_stop keyword argument (the Signal that asks it to stop)"
        )
    extra = {}
    please_stop = kwargs.pop("please_stop", None)
    if please_stop is not None:
        extra["please_stop"] = please_stop
    return Thread.run(name, _supervised, name, target, args, kwargs, policy, parent_thread=parent_thread, **extra)


def _supervised(
    name: str, target: Callable[..., Any], args: Any, kwargs: Any, policy: RestartPolicy, please_stop: Signal
) -> Any:
    me = current_thread()

    def attempt() -> Any:
        return target(*args, please_stop=please_stop, **kwargs)

    def clear_children() -> None:
        # a failed try may leave threads behind: stop and join them before the next try
        for child, failure in me._stop_and_join_children():
            logger.warning(
                "Thread {name|quote} failed (nobody joined it before {parent|quote} restarted)",
                name=child.name,
                parent=name,
                cause=failure,
                log_severity="ERROR",
            )

    return run_with_restarts(name, attempt, please_stop, policy, clear_children)
