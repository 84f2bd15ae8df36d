"""CPython's own contract suite for locks, semaphores and barriers, run on ours.

`test/lock_tests.py`, from the running interpreter's standard library, is the
suite CPython runs on `threading.Lock`, `Semaphore`, `BoundedSemaphore` and
`Barrier` (issue 23, point 2: where we claim the stdlib's shape, we have it
exactly). Each class below subclasses one of its suites with our type
(`LockTests` for `Lock` and `BusyLock`); every inherited test runs, except the
ones overridden here with a skip that says why:

- the repr format: ours names the primitive and shows its state in our own words;
- for `Lock` and `BusyLock`, what their design refuses on purpose: re-entering
  from the holder (also through `acquire(timeout=)`) raises RuntimeError at
  once, and so does releasing a `Lock` from a thread that does not hold it;
  there is no `_at_fork_reinit`; and a timeout beyond `TIMEOUT_MAX` means
  "for ever" instead of OverflowError. Where a skipped test checks more than
  the refused case, a test of ours below checks the rest.

The suite differs across versions: 3.8 has no `test_at_fork_reinit` and no
`test_multirelease`; before 3.11 a failure inside the suite's worker threads is
only printed (3.11 collects them into the test's result), and the repr tests
of semaphores and barriers, and (3.13) `Barrier`'s constructor test, are new.
An interpreter installed without the `test` package (Debian's python3.11
without libpython3-testsuite, some PyPy builds) skips this module, saying so.
"""

from __future__ import annotations

import threading
import time
import unittest
from typing import Any, Callable, List

import pytest

from mo_threads import Barrier, BoundedSemaphore, BusyLock, Lock, Semaphore, Till

lock_tests = pytest.importorskip(
    "test.lock_tests",
    reason="this interpreter has no test.lock_tests (its standard library was installed without the `test` package)",
)

REPR = "the repr format: ours shows the name and state in our own words, not threading's `<... at 0x...: value=3>`"
REENTER = "refused on purpose: the holder re-entering the Lock raises RuntimeError at once instead of deadlocking"
FOREIGN_RELEASE = "refused on purpose: only the thread holding the Lock may release it (RuntimeError otherwise)"
NO_AT_FORK_REINIT = (
    "refused on purpose: no _at_fork_reinit, a private hook of CPython's own locks; a user's Lock held at a fork "
    "stays held in the child, as its holder is gone (see test_fork.py)"
)
HUGE_TIMEOUT = (
    "refused on purpose: a timeout beyond TIMEOUT_MAX means 'for ever' (test_bad_input.py, TestHugeTimeouts), "
    "not OverflowError; test_timeout_except_overflow checks the rest of this test"
)


def _skipped(reason: str) -> Callable[[unittest.TestCase], None]:
    """An override of an inherited contract test: skipped, with `reason` in the report (pytest -ra)."""

    @unittest.skip(reason)
    def test(self: unittest.TestCase) -> None:
        """Not run."""

    return test


class _Warm(unittest.TestCase):
    """Start our lazy machinery (the timer thread) before the suite counts threads.

    The suite's tearDown waits up to a second for the thread count to come back
    to what its setUp saw, and warns otherwise: our timer thread, started by
    the first timed wait, is not a leak.
    """

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        Till(seconds=0).wait()


class TestLockContract(_Warm, lock_tests.LockTests):  # type: ignore[misc,name-defined]
    locktype = staticmethod(Lock)

    test_repr = _skipped(REPR)
    test_locked_repr = _skipped(REPR)
    test_timeout = _skipped(HUGE_TIMEOUT)
    test_reacquire = _skipped(REENTER + "; " + FOREIGN_RELEASE)
    test_different_thread = _skipped(FOREIGN_RELEASE)
    test_state_after_timeout = _skipped(
        REENTER + " (this test times out the holder's own acquire); test_state_after_a_timeout checks it from another thread"
    )
    test_at_fork_reinit = _skipped(NO_AT_FORK_REINIT)


class TestBusyLockContract(_Warm, lock_tests.LockTests):  # type: ignore[misc,name-defined]
    locktype = staticmethod(BusyLock)

    test_repr = _skipped(REPR)
    test_locked_repr = _skipped(REPR)
    test_timeout = _skipped(HUGE_TIMEOUT)
    test_reacquire = _skipped(REENTER.replace("Lock", "BusyLock"))
    test_state_after_timeout = _skipped(
        REENTER.replace("Lock", "BusyLock") + "; test_state_after_a_timeout checks it from another thread"
    )
    test_at_fork_reinit = _skipped(NO_AT_FORK_REINIT)


class TestSemaphoreContract(_Warm, lock_tests.SemaphoreTests):  # type: ignore[misc,name-defined]
    semtype = staticmethod(Semaphore)

    test_repr = _skipped(REPR)


class TestBoundedSemaphoreContract(_Warm, lock_tests.BoundedSemaphoreTests):  # type: ignore[misc,name-defined]
    semtype = staticmethod(BoundedSemaphore)

    test_repr = _skipped(REPR)


class TestBarrierContract(_Warm, lock_tests.BarrierTests):  # type: ignore[misc,name-defined]
    barriertype = staticmethod(Barrier)

    test_repr = _skipped(REPR)


# --- the rest of the Lock tests skipped above ------------------------------------------------
def _in_thread(call: Callable[[], Any]) -> List[Any]:
    """Run `call` on a thread of its own, to the end; return [its result]."""
    result: List[Any] = []
    thread = threading.Thread(target=lambda: result.append(call()), daemon=True)
    thread.start()
    thread.join(30)
    assert not thread.is_alive()
    return result


@pytest.mark.parametrize("locktype", [Lock, BusyLock])
class TestLockBeyondTheSuite:
    def test_timeout_except_overflow(self, locktype: Any) -> None:
        """lock_tests' test_timeout, with 'for ever' where the stdlib raises OverflowError."""
        lock = locktype("timed")
        with pytest.raises(ValueError, match="can't specify a timeout for a non-blocking call"):
            lock.acquire(False, 1)
        with pytest.raises(ValueError, match="timeout"):
            lock.acquire(timeout=-100)
        assert lock.acquire(timeout=threading.TIMEOUT_MAX)
        lock.release()
        start = time.monotonic()
        assert lock.acquire(timeout=5)
        assert time.monotonic() - start < 5
        start = time.monotonic()
        assert _in_thread(lambda: lock.acquire(timeout=0.5)) == [False]
        assert 0.5 * 0.6 <= time.monotonic() - start < 5  # the suite's assertTimeout bounds
        lock.release()
        assert lock.acquire(timeout=1e100)  # free: taken at once, "for ever" never needed
        lock.release()

    def test_state_after_a_timeout(self, locktype: Any) -> None:
        """lock_tests' test_state_after_timeout (bpo-11618), the timed-out acquire made by another thread."""
        lock = locktype("state")
        lock.acquire()
        assert _in_thread(lambda: lock.acquire(timeout=0.01)) == [False]
        lock.release()
        assert not lock.locked()
        assert lock.acquire(blocking=False)
        lock.release()
