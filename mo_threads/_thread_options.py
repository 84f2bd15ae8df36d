"""The start options a `Thread` shares with `ThreadGroup.run` and `supervise`.

`deadline=`, `restart=`, `max_restarts=`, `backoff=` are taken from a target's
keywords unless the target declares a parameter of that name; the target must
accept a `please_stop` keyword. Deadlines combine (`_tighter`) and tell the
seconds left (`_seconds_left`). Public names live in `mo_threads.threads`.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, Dict, FrozenSet, Optional, Tuple, Union

from mo_threads._restart import RestartPolicy
from mo_threads._vocabulary import check_name, check_timeout
from mo_threads.signals import Signal
from mo_threads.till import Till


# the keywords Thread takes for itself, unless the target declares a parameter of that name
_THREAD_OPTIONS = frozenset(("deadline", "restart", "max_restarts", "backoff"))


def _signature(target: Callable[..., Any], cache: Dict[Any, Tuple[bool, FrozenSet[str]]] = {}) -> Tuple[bool, FrozenSet[str]]:
    """(accepts a please_stop keyword, names of the parameters it takes by keyword), cached per code object."""
    code = getattr(target, "__code__", None)
    if code is not None:
        known = cache.get(code)
        if known is not None:
            return known
    try:
        parameters = inspect.signature(target).parameters.values()
    except (TypeError, ValueError):
        return True, frozenset()  # builtins and the like: can not tell, let the call decide
    names = frozenset(p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
    accepts = "please_stop" in names or any(p.kind is p.VAR_KEYWORD for p in parameters)
    found = (accepts, names)
    if code is not None:
        cache[code] = found
    return found


def _accepts_please_stop(target: Callable[..., Any]) -> bool:
    return _signature(target)[0]


def _check_target(name: Any, target: Any) -> None:
    """Raise TypeError unless `name` is a str and `target` a callable taking a please_stop keyword."""
    check_name(name, "Thread name")
    if not callable(target):
        raise TypeError("Thread " + repr(name) + " target must be callable, not " + type(target).__name__)
    if not _signature(target)[0]:
        raise TypeError(
            "Thread "
            + repr(name)
            + ": function "
            + _describe_function(target)
            + "() must accept a please_stop keyword argument (the Signal that asks it to stop)"
        )


Deadline = Union[None, float, Signal]


def _check_deadline(name: str, deadline: Any) -> Deadline:
    """`deadline` as seconds (float) or a Signal; TypeError/ValueError naming thread `name` otherwise."""
    if deadline is None or isinstance(deadline, Signal):
        return deadline  # type: ignore[no-any-return]
    return check_timeout(deadline, "Thread " + repr(name) + ": deadline", "a number of seconds or a Signal (a Till)")


def _take_options(
    name: str, target: Callable[..., Any], kwargs: Dict[str, Any]
) -> Tuple[Deadline, Optional[RestartPolicy]]:
    """Pop `deadline=`, `restart=`, `max_restarts=`, `backoff=` from `kwargs` and check them.

    A keyword the target itself declares (a parameter named `deadline`, say)
    is left in `kwargs`: it goes to the target, as in mo-threads 6.x.
    """
    declared = _signature(target)[1]
    options: Dict[str, Any] = {}
    for option in _THREAD_OPTIONS:
        if option in kwargs and option not in declared:
            options[option] = kwargs.pop(option)
    deadline = _check_deadline(name, options.get("deadline"))
    policy = None
    if "restart" in options or "max_restarts" in options or "backoff" in options:
        policy = RestartPolicy(
            options.get("restart", "on-failure"), options.get("max_restarts"), options.get("backoff", 1.0)
        )
    return deadline, policy


def _tighter(own: Optional[Signal], inherited: Optional[Signal]) -> Optional[Signal]:
    """The earlier of two deadlines (either may be None); both when not comparable (not both Tills)."""
    if own is None:
        return inherited
    if inherited is None or own is inherited:
        return own
    if isinstance(own, Till) and isinstance(inherited, Till):
        return own if own.monotonic_deadline <= inherited.monotonic_deadline else inherited
    return own | inherited


def _seconds_left(deadline: Optional[Signal]) -> Optional[float]:
    """Seconds before `deadline` fires: 0.0 once it has, None when unbounded or not a `Till`."""
    if deadline is None:
        return None
    if deadline:
        return 0.0
    if isinstance(deadline, Till):
        return deadline.remaining()
    return None


def _describe_function(target: Callable[..., Any]) -> str:
    module = getattr(target, "__module__", None)
    name = getattr(target, "__qualname__", None) or getattr(target, "__name__", None) or repr(target)
    return module + "." + name if module and module != "builtins" else name
