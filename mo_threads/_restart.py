"""Restart policy and loop behind `supervise()` (internal; below `threads`, so `Thread` can use it too).

`run_with_restarts` calls a function again when it fails (or, with
`restart="always"`, whenever it returns), waiting `backoff` seconds between
tries, logging every failure and restart through mo_logs, until it succeeds,
`max_restarts` is spent, or `please_stop` fires. It imports nothing from
`threads`: what happens between tries (stopping the children of the failed
try) is passed in.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from mo_logs import logger

from mo_threads._vocabulary import check_count, check_timeout
from mo_threads.signals import Signal

__all__ = ("RESTART_POLICIES", "RestartPolicy", "run_with_restarts")

RESTART_POLICIES = ("on-failure", "always", "never")


class RestartPolicy:
    """When to run a thread's function again: `restart`, `max_restarts` (None: no limit), `backoff` seconds."""

    __slots__ = ("restart", "max_restarts", "backoff")

    def __init__(self, restart: str = "on-failure", max_restarts: Optional[int] = None, backoff: float = 1.0) -> None:
        if restart not in RESTART_POLICIES:
            raise ValueError("restart must be 'on-failure', 'always' or 'never', not " + repr(restart))
        check_count(max_restarts, "max_restarts", 0, none="no limit")
        self.restart = restart
        self.max_restarts = max_restarts
        self.backoff = check_timeout(backoff, "backoff")


def run_with_restarts(
    name: str,
    call: Callable[[], Any],
    please_stop: Signal,
    policy: RestartPolicy,
    between: Optional[Callable[[], None]] = None,
) -> Any:
    """Run `call()` under `policy`; return the result of the last try, or raise its failure.

    A failure is restarted (after `between()` and `policy.backoff` seconds)
    unless `please_stop` has fired, the policy is "never", or `max_restarts`
    restarts were made already; then it is raised. Only `Exception`s are
    restarted: KeyboardInterrupt and SystemExit end the loop at once. Once
    `please_stop` fires, no new try starts.
    """
    restarts = 0
    while True:
        failure: Optional[Exception] = None
        result: Any = None
        try:
            result = call()
        except Exception as cause:
            failure = cause
        if please_stop or policy.restart == "never" or (failure is None and policy.restart != "always"):
            if failure is not None:
                raise failure
            return result
        if policy.max_restarts is not None and restarts >= policy.max_restarts:
            if failure is not None:
                logger.warning(
                    "Thread {name|quote} failed again; gave up after {restarts} restarts",
                    name=name,
                    restarts=restarts,
                    cause=failure,
                    log_severity="ERROR",
                )
                raise failure
            return result
        restarts += 1
        if failure is not None:
            logger.warning(
                "Thread {name|quote} failed; restart {restarts} in {seconds} seconds",
                name=name,
                restarts=restarts,
                seconds=policy.backoff,
                cause=failure,
            )
        else:
            logger.info(
                "Thread {name|quote} returned; restart {restarts} in {seconds} seconds",
                name=name,
                restarts=restarts,
                seconds=policy.backoff,
            )
        if between is not None:
            between()
        if policy.backoff and please_stop.wait(timeout=policy.backoff):
            return None  # asked to stop while backing off: the failure is logged already
        if please_stop:
            return None
        logger.info("Thread {name|quote} restarted (restart {restarts})", name=name, restarts=restarts)
