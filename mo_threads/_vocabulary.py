"""The words every layer of mo_threads shares (internal): the bottom layer.

Theory of operation
-------------------
Every module needs the same few words: the `PLEASE_STOP` marker that ends a
queue, the exceptions a blocking call raises, and the checks that turn a bad
`till=`, `timeout=`, count or name into a clear error at the call that made
it. They live here, below everything else, so that a lock or a queue does not
import the thread machinery for a sentinel or an exception, and no module
imports late (inside a function) to dodge the import order.

This module imports nothing of mo_threads (nor mo-logs): every layer may
import it. Users import these names from their public homes, which re-export
them as the same objects: `mo_threads.PLEASE_STOP` (also `THREAD_STOP`,
`mo_threads.threads.PLEASE_STOP`), `mo_threads.threads.ThreadTimeout`,
`mo_threads.queues.QueueClosed`, and so on. Each exception's `__module__` is
that public home, so a traceback, a repr and a pickle name the path users know,
never this private module.

`till=` must be a Signal, and Signal sits above this layer: `SignalBase` is
the empty base class of `mo_threads.signals.Signal`, so the checks here tell a
Signal without importing it.

The checks raise TypeError for a value of the wrong type and ValueError for a
value out of range, with a message that names the parameter (`what`) and what
was given; a few older call sites raise ValueError for a wrong type as well,
as they always did (`wrong_type=ValueError`). The checks are for the calls
that already checked: a hot path keeps its own inline test and calls a check
only on the way to raising.
"""

from __future__ import annotations

import math
import queue as _stdlib_queue
import sys
from threading import BrokenBarrierError
from typing import Any, List, NoReturn, Optional, Tuple, Type, overload

__all__ = (
    "PLEASE_STOP",
    "THREAD_STOP",
    "THREAD_TIMEOUT",
    "ThreadTimeout",
    "QueueClosed",
    "QueueFull",
    "QueueEmpty",
    "ChannelClosed",
    "DeadlockError",
    "BrokenBarrierError",
    "BarrierTimeout",
    "AllFailed",
    "ThreadGroupError",
    "SignalBase",
    "bad_till",
    "check_till",
    "check_timeout",
    "check_wait",
    "check_blocking",
    "check_number",
    "check_count",
    "check_name",
)


# --- the marker --------------------------------------------------------------------
class _StopMarker:
    """The queue marker meaning "no more items": compare with `is`."""

    __slots__ = ()
    # pickled as mo_threads.threads.PLEASE_STOP (its public home), and unpickled as the one marker
    __module__ = "mo_threads.threads"

    def __repr__(self) -> str:
        return "PLEASE_STOP"

    def __reduce__(self) -> str:
        return "PLEASE_STOP"


PLEASE_STOP: Any = _StopMarker()
THREAD_STOP = PLEASE_STOP  # the name mo-logs imports


# --- the exceptions ------------------------------------------------------------------
# Each names its public home as `__module__`: the module users import it from.


class ThreadTimeout(TimeoutError):
    """Raised by a blocking call whose `till` (or `timeout`) comes first: `join(till=)` and the like.

    A `TimeoutError`; `THREAD_TIMEOUT` is the same class, by its 6.x name.
    """

    __module__ = "mo_threads.threads"


THREAD_TIMEOUT = ThreadTimeout


class QueueClosed(RuntimeError):
    """Raised when adding to a closed queue (one made without `allow_add_after_close`)."""

    __module__ = "mo_threads.queues"


class QueueFull(_stdlib_queue.Full, ThreadTimeout):
    """Raised when a full queue stays full past the `timeout` or `till` of an add.

    It is a `queue.Full`, a `TimeoutError` and a `THREAD_TIMEOUT`, so code written
    for the stdlib or for upstream mo-threads catches it.
    """

    __module__ = "mo_threads.queues"


class QueueEmpty(_stdlib_queue.Empty):
    """Raised by `get()` / `get_nowait()` when no item comes in time (a `queue.Empty`)."""

    __module__ = "mo_threads.queues"


class ChannelClosed(QueueClosed):
    """Raised by `send()` on a closed channel (a `QueueClosed`, so a `RuntimeError`)."""

    __module__ = "mo_threads.channels"


class DeadlockError(RuntimeError):
    """A wait that could never end: it closes a cycle of threads waiting on each other.

    Raised by the wait that closes the cycle, instead of blocking. `cycle` lists
    (thread name, what it waits on) for every thread in the cycle, starting with
    the thread that raised.
    """

    __module__ = "mo_threads"

    def __init__(self, message: str, cycle: List[Tuple[str, str]]) -> None:
        RuntimeError.__init__(self, message)
        self.cycle = cycle

    def __reduce__(self) -> Any:
        return type(self), (str(self), self.cycle)


# `BrokenBarrierError` is the stdlib's (`threading.BrokenBarrierError`), re-exported by
# mo_threads.sync: a `Barrier` of either kind raises the same class.


class BarrierTimeout(ThreadTimeout, BrokenBarrierError):
    """What `Barrier.wait` raises when its `till` or `timeout` comes first.

    A `ThreadTimeout`, as every wait of this library cut short raises, and the
    stdlib's `BrokenBarrierError`, as `threading.Barrier.wait` raises then: the
    party that gave up broke the barrier. Code written for either catches it.
    """

    __module__ = "mo_threads.sync"


if sys.version_info >= (3, 11):
    _BaseGroup: Any = BaseExceptionGroup  # noqa: F821 (a builtin from 3.11)
    _Group: Any = ExceptionGroup  # noqa: F821 (a builtin from 3.11)
else:
    _BaseGroup = _Group = Exception


class AllFailed(_BaseGroup):  # type: ignore[misc,valid-type]
    """Every future given to `Future.any_of` failed: `exceptions` holds their failures, in argument order.

    On Python 3.11+ this is a `BaseExceptionGroup` (catch members with
    `except*`). Before, it is an `Exception` with the same `message` and
    `exceptions` attributes, and the first failure as `__cause__`.
    """

    __module__ = "mo_threads.futures"

    def __reduce__(self) -> Any:
        # explicit (not the builtin one): tblib's pickling, which distributed installs for every
        # exception class, rebuilds a BaseExceptionGroup subclass without its arguments otherwise
        return type(self), (self.message, self.exceptions), self.__dict__ or None

    if _BaseGroup is Exception:

        def __init__(self, message: str, exceptions: Any) -> None:
            exceptions = tuple(exceptions)
            Exception.__init__(self, message, exceptions)
            self.message = message
            self.exceptions = exceptions
            if exceptions:
                self.__cause__ = exceptions[0]

        def __str__(self) -> str:
            return self.message + " (" + str(len(self.exceptions)) + " sub-exceptions)"


class ThreadGroupError(_Group):  # type: ignore[misc,valid-type]
    """Every failure of a `ThreadGroup` (and of its block), raised together when the block ends.

    On Python 3.11+ this is an `ExceptionGroup` (catch members with
    `except* ValueError:`). Before, it is an `Exception` with the same
    `message` and `exceptions` attributes, and the first failure as
    `__cause__`. `exceptions` holds the original exceptions, the block's
    own first when it raised; a member that ended with a `BaseException`
    that is not an `Exception` (SystemExit) is represented by a
    `RuntimeError` whose cause it is.
    """

    __module__ = "mo_threads.groups"

    def __reduce__(self) -> Any:
        # explicit (not the builtin one): tblib's pickling, which distributed installs for every
        # exception class, rebuilds a BaseExceptionGroup subclass without its arguments otherwise
        return type(self), (self.message, self.exceptions), self.__dict__ or None

    if _Group is Exception:

        def __init__(self, message: str, exceptions: Any) -> None:
            exceptions = tuple(exceptions)
            if not exceptions:
                raise ValueError("ThreadGroupError needs at least one exception")
            Exception.__init__(self, message, exceptions)
            self.message = message
            self.exceptions = exceptions
            self.__cause__ = exceptions[0]

        def __str__(self) -> str:
            count = len(self.exceptions)
            return self.message + " (" + str(count) + " sub-exception" + ("" if count == 1 else "s") + ")"


# --- what a till is --------------------------------------------------------------------
class SignalBase:
    """The base of `mo_threads.signals.Signal`: what a `till=` must be an instance of.

    Empty (no slots, no methods): it only lets this layer tell a Signal without
    importing signals.py.
    """

    __slots__ = ()


# --- the argument checks ------------------------------------------------------------------
def bad_till(till: Any) -> TypeError:
    """The error every blocking call raises for a `till=` that is not a Signal."""
    return TypeError("till must be a Signal (for example Till(seconds=1)), not " + type(till).__name__)


def check_till(till: Any) -> None:
    """Raise TypeError unless `till` is None or a Signal."""
    if till is not None and not isinstance(till, SignalBase):
        raise bad_till(till)


def check_timeout(
    seconds: Any, what: str = "timeout", expected: str = "a number of seconds", maximum: Optional[float] = None
) -> float:
    """Return `seconds` as a float, or raise a clear error for a bad timeout (`what` names it).

    TypeError for a bool or a non-number (the message says it must be
    `expected`); ValueError for NaN, a negative number, or one above `maximum`.
    """
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TypeError(what + " must be " + expected + ", not " + type(seconds).__name__)
    value = float(seconds)
    if maximum is not None:
        if not 0 <= value <= maximum:  # NaN fails too
            raise ValueError(what + " must be between 0 and " + str(maximum) + " seconds, not " + repr(value))
    elif math.isnan(value):
        raise ValueError(what + " must be a number of seconds, not NaN")
    elif value < 0:
        raise ValueError(what + " must be a non-negative number of seconds, not " + repr(value))
    return value


def check_wait(till: Any, timeout: Any) -> Optional[float]:
    """Check `till=` and `timeout=` of a blocking call; return the timeout as a float (or None)."""
    if till is not None and not isinstance(till, SignalBase):
        raise bad_till(till)
    if timeout is None:
        return None
    return check_timeout(timeout, "timeout")


def check_blocking(blocking: Any, timeout: Any, till: Any, kind: str, name: str) -> bool:
    """Check the `blocking` argument of `kind` `name`'s acquire (stdlib-shaped); return it as a bool.

    ValueError, as `threading.Lock` raises, for a `timeout` given with
    `blocking=False`, and likewise for a `till`. TypeError for a `blocking`
    that is not a bool (0 and 1 pass, as the stdlib's locks take them): a
    Signal there, meant as `till=`, would otherwise be read as its current state.
    """
    if isinstance(blocking, SignalBase):
        raise TypeError(
            kind + " " + repr(name) + ".acquire(blocking) must be a bool, not a Signal: pass a Signal as till="
        )
    if not isinstance(blocking, int):
        raise TypeError(kind + " " + repr(name) + ".acquire(blocking) must be a bool, not " + type(blocking).__name__)
    if blocking:
        return True
    if timeout is not None:
        raise ValueError("can't specify a timeout for a non-blocking call (" + kind + " " + repr(name) + ".acquire)")
    if till is not None:
        raise ValueError("can't specify a till for a non-blocking call (" + kind + " " + repr(name) + ".acquire)")
    return False


def check_number(value: Any, what: str, expected: str = "a number") -> float:
    """Return `value` as a float: TypeError for a bool or a non-number, ValueError for NaN (`what` names it)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(what + " must be " + expected + ", not " + type(value).__name__)
    number = float(value)
    if math.isnan(number):
        raise ValueError(what + " must be " + expected + ", not NaN")
    return number


@overload
def check_count(
    value: Any, what: str, minimum: int = 0, maximum: Optional[int] = None, none: None = None, wrong_type: Type[Exception] = TypeError
) -> int: ...


@overload
def check_count(
    value: Any, what: str, minimum: int = 0, maximum: Optional[int] = None, *, none: str, wrong_type: Type[Exception] = TypeError
) -> Optional[int]: ...


def check_count(
    value: Any,
    what: str,
    minimum: int = 0,
    maximum: Optional[int] = None,
    none: Optional[str] = None,
    wrong_type: Type[Exception] = TypeError,
) -> Optional[int]:
    """Return `value`, an int (not a bool) from `minimum` to `maximum` (if given); else raise naming `what`.

    With `none` (what None means, say "unbounded"), None is allowed too and
    returned as is. A value of the wrong type raises `wrong_type` (TypeError
    unless the call site always raised ValueError); one out of range raises
    ValueError.
    """
    if value is None and none is not None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise wrong_type(what + " must be an int" + _or_none(none) + ", not " + type(value).__name__)
    if value < minimum or (maximum is not None and value > maximum):
        allowed = "at least " + str(minimum) if maximum is None else "from " + str(minimum) + " to " + str(maximum)
        raise ValueError(what + " must be " + allowed + _or_none(none) + ", not " + repr(value))
    return value


def _or_none(none: Optional[str]) -> str:
    return "" if none is None else " or None (" + none + ")"


def as_closed(error: BaseException) -> Tuple[Any, Optional[BaseException]]:
    """What `raise_as_closed` needs of `error`, taken when a queue or channel is closed with it."""
    return error.__traceback__, error.__context__


def raise_as_closed(error: BaseException, closed: Tuple[Any, Optional[BaseException]]) -> NoReturn:
    """Raise the error a queue or channel was closed with, as it was then.

    Its traceback is the one it had at the close (not one grown by every earlier
    raise), and its context too: raised from inside our own `except IndexError`
    it would otherwise show an internal "pop from an empty deque" first.
    """
    traceback, context = closed
    try:
        raise error.with_traceback(traceback)
    except BaseException:
        error.__context__ = context
        raise


def check_name(value: Any, what: str) -> str:
    """Return `value` if it is a str; else raise TypeError naming `what` ("Lock name must be a str, not int")."""
    if not isinstance(value, str):
        raise TypeError(what + " must be a str, not " + type(value).__name__)
    return value

