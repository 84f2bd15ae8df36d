"""The contract of every blocking call (issue 20, point 6), over the table of tests/contract.py.

For each blocking call: a `till=` fired before the call returns at once, cut short; a
`till=` that fires while it is blocked cuts it short (from this thread's `Till`, or from
another thread's `go()`); `timeout=` is honoured (never early, not much late); a bad `till`
or `timeout` is refused with a clear error at the call, on the fast path too, and leaves
nothing half-done; a hand-off from another thread completes the wait, whether the call
has a limit or not. After every call cut short or refused, a new waiter and a new
hand-off still meet: no stale waiter is left to swallow it.

What a wait cut short does (return False or None, raise ThreadTimeout, QueueFull or
QueueEmpty) is each row's, as docs/guide/waits.md lists it. KeyboardInterrupt at
the moment of a hand-off is tested with real signals in child processes:
tests/test_handoff.py.
"""

from __future__ import annotations

import math
import re
import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Dict, Iterator, List, Sequence, Tuple

import pytest

from mo_threads import DONE, Signal, Till
from tests.contract import PRIMITIVES, Call, Primitive, Setup

pytestmark = pytest.mark.usefixtures("no_leaked_threads")

SHORT = 0.1  # seconds: the till or timeout that cuts a call short
EARLY = 0.002  # tolerance for "never before" (float rounding of the clock)
LATE = 2.0  # generous bound on lateness
AT_ONCE = 0.5  # "returns at once", generously
GUARD = 5.0  # the limit of a call that should complete: a lost hand-off fails, not hangs


def _id(primitive: Primitive) -> str:
    return re.sub(r"[^\w.]+", "-", primitive.name).strip("-")


def cases(
    test: str,
    variants: Sequence[Tuple[str, Any]] = (("", None),),
    where: Callable[[Primitive], bool] = lambda p: True,
) -> List[Any]:
    """(primitive, variant) for every row `where` holds; xfail (strict) where the row says the library fails.

    A variant named "timeout" is only for the rows whose call takes `timeout=`.
    """
    output = []
    for primitive in PRIMITIVES:
        if not where(primitive):
            continue
        for name, variant in variants:
            if name == "timeout" and not primitive.timeout:
                continue
            reason = primitive.xfail.get(test + "[" + name + "]") or primitive.xfail.get(test)
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            output.append(
                pytest.param(primitive, variant, id=_id(primitive) + ("-" + name if name else ""), marks=marks)
            )
    return output


def _takes_timeout(primitive: Primitive) -> bool:
    return primitive.timeout


def _can_be_ready(primitive: Primitive) -> bool:
    return primitive.ready is not None


@contextmanager
def made(primitive: Primitive) -> Iterator[Setup]:
    setup = primitive.make()
    try:
        yield setup
    finally:
        setup.close()


def bounded(primitive: Primitive) -> Dict[str, Any]:
    """A limit for a call that should complete: `timeout=` where taken, else `till=`."""
    if primitive.timeout:
        return {"timeout": GUARD}
    return {"till": Till(seconds=GUARD)}


def expect_cut_short(primitive: Primitive, outcome: Callable[[], Any]) -> None:
    """`outcome()` is the row's wait cut short: its value returned, or its exception raised."""
    if primitive.raises is not None:
        with pytest.raises(primitive.raises):
            outcome()
        return
    result = outcome()
    assert result is primitive.returns, (
        primitive.name + " cut short returned " + repr(result) + ", not " + repr(primitive.returns)
    )


def still_works(primitive: Primitive, setup: Setup) -> None:
    """After a call cut short or refused: nothing changed, and a new waiter gets the next hand-off."""
    if primitive.intact is not None:
        primitive.intact(setup)
    if primitive.mend is not None:
        primitive.mend(setup)
    kwargs = bounded(primitive)
    call = Call(lambda: primitive.call(setup, **kwargs))
    call.parked()
    primitive.hand_off(setup)
    primitive.check(setup, call.outcome(GUARD + LATE))


# --- till= ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "primitive, till",
    cases("test_till_fired_before_the_call", [("DONE", DONE), ("fired", "fired"), ("Till0", "till0")]),
)
def test_till_fired_before_the_call(primitive: Primitive, till: Any) -> None:
    if till == "fired":
        till = Signal("fired")
        till.go()
    elif till == "till0":
        till = Till(seconds=0)
    with made(primitive) as setup:
        started = time.monotonic()
        expect_cut_short(primitive, lambda: primitive.call(setup, till=till))
        assert time.monotonic() - started < AT_ONCE
        still_works(primitive, setup)


@pytest.mark.parametrize("primitive, _", cases("test_till_cuts_a_blocked_call_short"))
def test_till_cuts_a_blocked_call_short(primitive: Primitive, _: Any) -> None:
    with made(primitive) as setup:
        started = time.monotonic()
        expect_cut_short(primitive, lambda: primitive.call(setup, till=Till(seconds=SHORT)))
        waited = time.monotonic() - started
        assert SHORT - EARLY <= waited < SHORT + LATE, "cut short after " + str(waited) + " seconds"
        still_works(primitive, setup)


@pytest.mark.parametrize("primitive, _", cases("test_till_fired_by_another_thread"))
def test_till_fired_by_another_thread(primitive: Primitive, _: Any) -> None:
    """A plain Signal (no deadline) fired while the call is parked wakes it: no polling."""
    with made(primitive) as setup:
        stop = Signal("contract stop")
        call = Call(lambda: primitive.call(setup, till=stop))
        call.parked()
        fired = time.monotonic()
        stop.go()
        expect_cut_short(primitive, lambda: call.outcome(GUARD))
        assert time.monotonic() - fired < 1.0
        still_works(primitive, setup)


# --- timeout= -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "primitive, seconds", cases("test_timeout_honoured", [("0", 0), ("short", SHORT)], where=_takes_timeout)
)
def test_timeout_honoured(primitive: Primitive, seconds: float) -> None:
    with made(primitive) as setup:
        started = time.monotonic()
        expect_cut_short(primitive, lambda: primitive.call(setup, timeout=seconds))
        waited = time.monotonic() - started
        assert seconds - EARLY <= waited < seconds + (AT_ONCE if seconds == 0 else LATE), (
            "gave up after " + str(waited) + " seconds"
        )
        still_works(primitive, setup)


@pytest.mark.parametrize(
    "primitive, first",
    cases("test_the_first_of_till_and_timeout_wins", [("till", "till"), ("timeout", "timeout")], where=_takes_timeout),
)
def test_the_first_of_till_and_timeout_wins(primitive: Primitive, first: str) -> None:
    with made(primitive) as setup:
        started = time.monotonic()
        if first == "till":
            expect_cut_short(primitive, lambda: primitive.call(setup, till=Till(seconds=SHORT), timeout=60))
        else:
            expect_cut_short(primitive, lambda: primitive.call(setup, till=Signal("never"), timeout=SHORT))
        waited = time.monotonic() - started
        assert SHORT - EARLY <= waited < SHORT + LATE, "cut short after " + str(waited) + " seconds"
        still_works(primitive, setup)


# --- bad input ------------------------------------------------------------------------

BAD_TILLS = [("int", 3), ("str", "x"), ("Event", threading.Event())]
BAD_TIMEOUTS = [
    ("negative", (-1, ValueError)),
    ("NaN", (math.nan, ValueError)),
    ("str", ("x", TypeError)),
    ("list", ([1], TypeError)),
]


def refused(primitive: Primitive, setup: Setup, error: Any, match: str, **kwargs: Any) -> None:
    """The call with `kwargs` raises `error` naming `match`, at once (on a thread of its own: a bug must not hang)."""
    call = Call(lambda: primitive.call(setup, **kwargs))
    with pytest.raises(error, match=match):
        call.outcome(AT_ONCE + LATE)


@pytest.mark.parametrize("primitive, till", cases("test_bad_till_refused", BAD_TILLS))
def test_bad_till_refused(primitive: Primitive, till: Any) -> None:
    with made(primitive) as setup:
        refused(primitive, setup, TypeError, "till", till=till)
        if primitive.untouched is not None:
            primitive.untouched(setup)
        still_works(primitive, setup)


@pytest.mark.parametrize("primitive, bad", cases("test_bad_timeout_refused", BAD_TIMEOUTS, where=_takes_timeout))
def test_bad_timeout_refused(primitive: Primitive, bad: Tuple[Any, Any]) -> None:
    timeout, error = bad
    with made(primitive) as setup:
        refused(primitive, setup, error, "timeout", timeout=timeout)
        if primitive.untouched is not None:
            primitive.untouched(setup)
        still_works(primitive, setup)


@pytest.mark.parametrize(
    "primitive, bad",
    cases(
        "test_refused_even_when_it_would_not_block",
        [("till", ("till", "x", TypeError)), ("timeout", ("timeout", -1, ValueError))],
        where=_can_be_ready,
    ),
)
def test_refused_even_when_it_would_not_block(primitive: Primitive, bad: Tuple[str, Any, Any]) -> None:
    """Bad input is refused at the call whether or not it would have blocked; what was ready stays ready."""
    name, value, error = bad
    with made(primitive) as setup:
        assert primitive.ready is not None
        primitive.ready(setup)
        refused(primitive, setup, error, name, **{name: value})
        kwargs = bounded(primitive)
        primitive.check(setup, Call(lambda: primitive.call(setup, **kwargs)).outcome(AT_ONCE + LATE))


# --- hand-off -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "primitive, limit",
    cases("test_hand_off_completes_the_wait", [("none", "none"), ("till", "till"), ("timeout", "timeout")]),
)
def test_hand_off_completes_the_wait(primitive: Primitive, limit: str) -> None:
    """Another thread hands the thing over; the blocked call completes with it, with or without a limit."""
    kwargs: Dict[str, Any] = {}
    if limit == "till":
        kwargs["till"] = Till(seconds=GUARD)
    elif limit == "timeout":
        kwargs["timeout"] = GUARD
    with made(primitive) as setup:
        call = Call(lambda: primitive.call(setup, **kwargs))
        call.parked()
        primitive.hand_off(setup)
        primitive.check(setup, call.outcome(GUARD + LATE))
