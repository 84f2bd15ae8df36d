"""A hand-off interrupted by a real SIGINT loses nothing (issue 20): Queue, PriorityQueue, Lock, Channel, Semaphore, wait_any.

Each case runs tests/handoff.py in a child interpreter with a hard timeout: the main
thread parks first in line, a second thread behind it, and a third hands one thing
over (an item, room, the lock, a wake-up, a value) and sends SIGINT at once. The
stress suite runs the same with 200 runs each.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import threading
import time

import pytest

from mo_threads import Lock, Queue, Signal, Thread, Till, _os_signals, _parking
from mo_threads import lock as lock_module
from mo_threads.waiting import wait_any
from mo_threads._blocking import blocked_on
from tests.helpers import PYPY, REPO, child_env, program_lines

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="POSIX signals needed")

KINDS = [
    "queue-pop",
    "queue-add",
    "lock-acquire",
    "lock-wait",
    "channel-receive",
    # added with the blocking-call contract (tests/test_blocking_contract.py)
    "priority-queue-pop",
    "priority-queue-add",
    "queue-get",
    "queue-put",
    "semaphore-acquire",
    "wait-any-queue",
    "wait-any-channel",
]


# the kinds where the main thread, first in line, is handed the thing through a park (see HELD_KINDS'
# test); a `with lock:` takes the inner lock itself, a rendezvous Channel serves a parked receiver first
HELD_KINDS = [kind for kind in KINDS if kind != "wait-any-channel"]


def run_handoff(kind: str, runs: int, timeout: float, *options: str) -> None:
    """Run `runs` hand-offs of `kind` in a child; fail with what it printed when one lost something."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.handoff", kind, str(runs), *options],
        cwd=REPO,
        env=child_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert program_lines(done.stdout) == ["ok " + str(runs)], done.stdout + done.stderr


@pytest.mark.parametrize("kind", KINDS)
def test_an_interrupted_hand_off_loses_nothing(kind: str) -> None:
    run_handoff(kind, 20, timeout=50)


@pytest.mark.parametrize("kind", HELD_KINDS)
def test_a_signal_while_the_main_thread_takes_what_it_was_handed_loses_nothing(kind: str) -> None:
    """SIGINT between the wake-up and the end of the hand-off, with mo_threads' handler installed:
    the handler waits until the main thread holds the item (the room, the lock, the wake-up),
    then raises there, and the thing goes to the next in line. On CPython the KeyboardInterrupt
    came out of the bookkeeping after the take (the item was gone: Queue.pop), for want of a hold."""
    run_handoff(kind, 10, 50, "--held")


@pytest.mark.parametrize("kind", HELD_KINDS)
def test_a_handler_of_the_application_is_held_through_the_hand_off_too(kind: str) -> None:
    """The same, with the application's own SIGINT handler installed after mo_threads': on CPython
    it can not defer itself, so the main thread shields it (a wrapper that does) while it parks.
    Without that the handler raised between the wake-up and the take (Queue.pop lost its item)."""
    run_handoff(kind, 10, 50, "--held", "--foreign")


@pytest.mark.parametrize("kind", ["lock-enter", "lock-acquire-blocking", "lock-acquire-timeout"])
def test_an_interrupted_with_lock_loses_nothing(kind: str) -> None:
    """`with lock:`, acquire() and acquire(timeout=) on the main thread, Ctrl-C right as the lock is
    handed over: a signal handler raising just after the inner lock was taken, before the owner was
    set, left the lock held by nobody for ever; now the way out releases it."""
    run_handoff(kind, 20, timeout=50)


@pytest.mark.parametrize("how", ["with", "acquire", "acquire-timeout"])
def test_an_exception_just_after_the_inner_lock_was_taken_leaves_the_lock_free(
    how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The exception a signal handler raises in the last call of a contended acquisition (the
    bookkeeping after the inner lock was taken), here thrown in, leaves the lock free for others."""
    lock = Lock("thrown in")
    real_end_wait = lock_module._end_wait

    def end_then_raise(record: object) -> None:
        real_end_wait(record)
        raise KeyboardInterrupt

    def hold_a_moment(please_stop: Signal) -> None:
        with lock:
            taken.set()
            Till(seconds=0.05).wait()

    taken = threading.Event()
    holder = Thread.run("holder", hold_a_moment)
    taken.wait()
    monkeypatch.setattr(lock_module, "_end_wait", end_then_raise)
    with pytest.raises(KeyboardInterrupt):
        if how == "with":
            with lock:
                raise AssertionError("the block ran")
        else:
            lock.acquire(timeout=None if how == "acquire" else 10)
    monkeypatch.undo()
    holder.join()
    assert not lock.locked(), repr(lock)
    assert lock._owner is None
    got: list = []
    Thread.run("next", lambda please_stop: got.append(lock.acquire(timeout=5)) or lock.release()).join()
    assert got == [True]


def test_a_wake_up_that_raises_leaves_the_signal_handlers_on() -> None:
    """wait_any on the main thread, woken by a close with an error, raises it: the signal handlers
    held from the wake-up on (PyPy) run again (they stayed held: Ctrl-C was ignored from then on,
    and signal.signal() raised ValueError as if called from another thread)."""
    queue: Queue[str] = Queue("closed with an error", silent=True)

    def close_soon(please_stop: Signal) -> None:
        Till(seconds=0.05).wait()
        queue.close(ValueError("no more"))

    closer = Thread.run("closer", close_soon)
    with pytest.raises(Exception, match="no more"):
        wait_any(queue)
    closer.join()
    assert not _parking._held
    signal.signal(signal.SIGINT, signal.getsignal(signal.SIGINT))


def test_only_the_main_thread_ends_its_hold() -> None:
    """Handlers held by the main thread stay held when another thread ends a hand-off of its own."""
    _parking.hold_signals()
    try:
        other = threading.Thread(target=_parking.resume_signals)
        other.start()
        other.join()
        assert _parking._held
    finally:
        _parking.resume_signals()
    assert not _parking._held


def test_handlers_deferred_during_a_hold_run_at_its_end_in_order() -> None:
    """mo_threads' handlers that come while the main thread holds run when it ends the hold, in
    order; one that raises has the thing handed over passed on, and the next still runs after it
    (its exception last, as CPython runs the next pending handler at the next bytecode)."""
    ran: list = []
    passed_on: list = []

    def interrupt(signum: int, frame: object) -> None:
        ran.append(signum)
        raise KeyboardInterrupt

    def terminate(signum: int, frame: object) -> None:
        ran.append(signum)
        raise SystemExit(143)

    _parking.hold_signals()
    assert _parking.defer_while_held(interrupt, 2, None)
    assert _parking.defer_while_held(terminate, 15, None)
    assert ran == []  # held: nothing ran
    with pytest.raises(SystemExit) as caught:
        _parking.resume_signals(passed_on.append, "the item")
    assert ran == [2, 15]
    assert isinstance(caught.value.__context__, KeyboardInterrupt)
    assert passed_on == ["the item"]
    assert not _parking._held and not _parking._deferred
    assert not _parking.defer_while_held(interrupt, 2, None)  # not held: the handler runs itself


@pytest.mark.skipif(PYPY, reason="PyPy holds every handler itself: nothing is swapped")
@pytest.mark.parametrize("way_out", ["handed", "timeout", "interrupted"])
def test_a_handler_that_can_not_defer_itself_is_shielded_only_while_the_main_thread_parks(way_out: str) -> None:
    """A SIGINT handler of the application's, installed after mo_threads' (here Python's own), is
    swapped for a wrapper that defers it only while the main thread parks for a hand-off; every
    way out puts the handler back as it was."""
    queue: Queue[str] = Queue("shielded")
    seen: list = []
    popping = threading.Event()

    def look_then_act(please_stop: Signal) -> None:
        popping.wait()
        main = threading.main_thread().ident
        while blocked_on(main) is None:
            Till(seconds=0.001).wait()
        seen.append(signal.getsignal(signal.SIGINT))
        if way_out == "handed":
            queue.add("the item")
        elif way_out == "interrupted":
            os.kill(os.getpid(), signal.SIGINT)

    other = Thread.run("look then act", look_then_act)  # mo_threads' handlers are installed now
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        popping.set()
        if way_out == "interrupted":
            with pytest.raises(KeyboardInterrupt):
                queue.pop(timeout=10)
        else:
            assert queue.pop(timeout=0.5 if way_out == "timeout" else 10) == ("the item" if way_out == "handed" else None)
        other.join()
        assert len(seen) == 1 and isinstance(seen[0], _parking._Shield)  # the wrapper, while parked
        assert seen[0].handler is signal.default_int_handler
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back
        assert not _parking._shielded and not _parking._held and not _parking._deferred
    finally:
        # mo_threads' watcher reads the signal's byte from its pipe: it must find the application's
        # handler in place, or it takes the signal for one of its own and nudges the main thread
        pipe = _os_signals.STATE.pipe
        deadline = time.monotonic() + 5
        while pipe is not None and select.select([pipe[0]], [], [], 0)[0] and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.05)  # read, and looked at
        signal.signal(signal.SIGINT, previous)
