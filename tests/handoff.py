"""A hand-off interrupted by a real SIGINT loses nothing: the program behind tests/test_handoff.py.

    python -m tests.handoff KIND RUNS [--held [--foreign]]

The main thread parks in a blocking call of KIND (first in line); a second thread
parks behind it; a third hands one thing over (an item, room in a full queue, the
lock, a wake-up) and at once sends SIGINT to the process. The main thread may get
the thing or KeyboardInterrupt; when it gets KeyboardInterrupt, the thing must go
to the second thread at once (or stay where the main thread can still take it),
never be dropped while the second thread sleeps on. Prints "ok RUNS" when every
run kept it, else the first run that lost it, and exits 1.
"""

from __future__ import annotations

import os
import queue
import signal
import sys
import threading
import time
from typing import Any, Callable, List, Tuple

from mo_threads import Channel, Lock, PriorityQueue, Queue, Thread, Till, _os_signals, _parking, _queue_core, waiting
from mo_threads import lock as lock_module
from mo_threads._blocking import blocked_on
from mo_threads.sync import Semaphore
from mo_threads.waiting import wait_any
from tests.helpers import PYPY

# the modules that end a hand-off (one_held_run() puts a signal before each end)
RESUMERS = (_parking, _queue_core, lock_module, waiting)
REAL_RESUME = _parking.resume_signals

PATIENCE = 5.0  # the second thread's own till: waiting that long means the hand-off was lost


def parked(ident: Any) -> None:
    """Return once the thread `ident` is parked in a blocking call."""
    deadline = time.monotonic() + 10
    while blocked_on(ident) is None:
        if time.monotonic() > deadline:
            raise AssertionError("thread never parked")
        time.sleep(0.0002)


def interrupt_main() -> None:
    os.kill(os.getpid(), signal.SIGINT)


# SIGINTs whose handler ran, until one_run() sees its KeyboardInterrupt (or learns it was swallowed)
HANDLER_RAN: List[int] = []


def interrupted(signum: int, frame: Any) -> None:
    """Plain Python's SIGINT handler (KeyboardInterrupt), noting that it ran."""
    HANDLER_RAN.append(signum)
    raise KeyboardInterrupt


class Run:
    """One run: `main()` on the main thread, `second()` behind it, `hand_over()` from a third thread."""

    def __init__(self) -> None:
        self.main_got: List[Any] = []
        self.second_got: List[Any] = []
        self.second_waited = 0.0

    def main(self) -> None:
        raise NotImplementedError

    def second(self) -> None:
        raise NotImplementedError

    def hand_over(self) -> None:
        raise NotImplementedError

    def lost(self) -> str:
        """Empty when nothing was lost; else what was."""
        raise NotImplementedError


class QueuePop(Run):
    def __init__(self) -> None:
        Run.__init__(self)
        self.queue: Queue[str] = Queue("handoff", silent=True)

    def main(self) -> None:
        self.main_got.append(self.queue.pop())

    def second(self) -> None:
        value = self.queue.pop(till=Till(seconds=PATIENCE))
        if value is not None:
            self.second_got.append(value)

    def hand_over(self) -> None:
        self.queue.add("precious")

    def lost(self) -> str:
        if self.main_got or self.second_got:
            return ""
        return "the item stayed queued (" + repr(self.queue.pop_all()) + ") while the second consumer slept"


class QueueAdd(Run):
    def __init__(self) -> None:
        Run.__init__(self)
        self.queue: Queue[str] = Queue("handoff", max=1, silent=True)
        self.queue.add("filler")

    def main(self) -> None:
        self.queue.add("from main")
        self.main_got.append("room")

    def second(self) -> None:
        try:
            self.queue.add("from second", till=Till(seconds=PATIENCE))
        except TimeoutError:
            return
        self.second_got.append("room")

    def hand_over(self) -> None:
        self.queue.pop()

    def lost(self) -> str:
        queued = self.queue.pop_all()
        if "from main" in queued and not self.main_got:
            # main's add went in, and the interrupt came after it: the room went to main
            self.main_got.append("room")
        if self.main_got or self.second_got:
            return ""
        return "the room stayed free (" + repr(queued) + " queued) while the second producer slept"


class LockAcquire(Run):
    def __init__(self) -> None:
        Run.__init__(self)
        self.lock = Lock("handoff")
        # held by a thread that lives until the run ends (so no other thread gets its
        # id); hand_over() has it release the lock
        held, self.done = threading.Event(), threading.Event()
        self.release, self.released = threading.Event(), threading.Event()

        def hold() -> None:
            self.lock.acquire()
            held.set()
            self.release.wait()
            self.lock.release()
            self.released.set()
            self.done.wait()

        self.holder = threading.Thread(target=hold)
        self.holder.start()
        held.wait()

    def main(self) -> None:
        if self.lock.acquire(till=Till(seconds=60)):
            self.main_got.append("lock")
            self.lock.release()

    def second(self) -> None:
        if self.lock.acquire(till=Till(seconds=PATIENCE)):
            self.second_got.append("lock")
            self.lock.release()

    def hand_over(self) -> None:
        self.release.set()
        self.released.wait()

    def lost(self) -> str:
        self.done.set()
        self.holder.join()
        if self.main_got or self.second_got:
            return ""
        return "the lock was free (" + repr(self.lock) + ") while the second thread slept"


class LockEnter(LockAcquire):
    """`with lock:` (a blocking acquire without till) on the main thread."""

    def main(self) -> None:
        with self.lock:
            self.main_got.append("lock")


class LockAcquireBlocking(LockAcquire):
    """`lock.acquire()` (blocking, without till or timeout) on the main thread."""

    def main(self) -> None:
        if self.lock.acquire():
            self.main_got.append("lock")
            self.lock.release()


class LockAcquireTimeout(LockAcquire):
    """`lock.acquire(timeout=)` on the main thread."""

    def main(self) -> None:
        if self.lock.acquire(timeout=60):
            self.main_got.append("lock")
            self.lock.release()


class LockWait(Run):
    def __init__(self) -> None:
        Run.__init__(self)
        self.lock = Lock("handoff")

    def main(self) -> None:
        with self.lock:
            if self.lock.wait():
                self.main_got.append("wake-up")

    def second(self) -> None:
        with self.lock:
            if self.lock.wait(till=Till(seconds=PATIENCE)):
                self.second_got.append("wake-up")

    def hand_over(self) -> None:
        with self.lock:
            pass  # leaving the lock wakes the first waiter

    def lost(self) -> str:
        if self.main_got or self.second_got:
            return ""
        return "the wake-up of a thread leaving the lock went nowhere while the second waiter slept"


class ChannelReceive(Run):
    def __init__(self) -> None:
        Run.__init__(self)
        self.channel: Channel[str] = Channel("handoff")

    def main(self) -> None:
        self.main_got.append(self.channel.receive())

    def second(self) -> None:
        try:
            self.second_got.append(self.channel.receive(till=Till(seconds=PATIENCE)))
        except TimeoutError:
            pass

    def hand_over(self) -> None:
        self.channel.send("precious")

    def lost(self) -> str:
        if self.main_got or self.second_got:
            return ""
        found, value = self.channel.try_receive()
        if found:
            return "the value stayed in the channel while the second receiver slept"
        return "send() returned but no receiver got the value"


# --- more kinds (the blocking-call contract, tests/test_blocking_contract.py) ------------
# Only calls where one thing goes to one waiter have a hand-off to lose. Signal, Future,
# Latch, Barrier, Thread joins and Queue.join are broadcasts: what wakes one waiter wakes
# them all, so an interrupted waiter can not take anything from the one behind it.


class PriorityQueuePop(QueuePop):
    def __init__(self) -> None:
        Run.__init__(self)
        self.queue = PriorityQueue("handoff", numpriorities=2, silent=True)

    def hand_over(self) -> None:
        self.queue.add("precious", priority=1)


class PriorityQueueAdd(QueueAdd):
    def __init__(self) -> None:
        Run.__init__(self)
        self.queue = PriorityQueue("handoff", numpriorities=2, max=1, silent=True)
        self.queue.add("filler", priority=1)


class QueueGet(QueuePop):
    def main(self) -> None:
        self.main_got.append(self.queue.get())

    def second(self) -> None:
        try:
            self.second_got.append(self.queue.get(timeout=PATIENCE))
        except queue.Empty:
            pass


class QueuePut(QueueAdd):
    def main(self) -> None:
        self.queue.put("from main")
        self.main_got.append("room")

    def second(self) -> None:
        try:
            self.queue.put("from second", timeout=PATIENCE)
        except queue.Full:
            return
        self.second_got.append("room")


class SemaphoreAcquire(Run):
    def __init__(self) -> None:
        Run.__init__(self)
        self.semaphore = Semaphore(0, name="handoff")

    def main(self) -> None:
        if self.semaphore.acquire():
            self.main_got.append("permit")

    def second(self) -> None:
        if self.semaphore.acquire(till=Till(seconds=PATIENCE)):
            self.second_got.append("permit")

    def hand_over(self) -> None:
        self.semaphore.release()

    def lost(self) -> str:
        if self.main_got or self.second_got:
            return ""
        return "the permit was released (" + repr(self.semaphore) + ") while the second acquirer slept"


class WaitAnyQueue(QueuePop):
    """The main thread waits on a Queue through wait_any; the second pops it."""

    def main(self) -> None:
        self.main_got.append(wait_any(self.queue).item)


class WaitAnyChannel(ChannelReceive):
    """The main thread waits on a Channel through wait_any; the second receives from it."""

    def main(self) -> None:
        self.main_got.append(wait_any(self.channel).item)


KINDS: dict = {
    "queue-pop": QueuePop,
    "queue-add": QueueAdd,
    "lock-acquire": LockAcquire,
    "lock-enter": LockEnter,
    "lock-acquire-blocking": LockAcquireBlocking,
    "lock-acquire-timeout": LockAcquireTimeout,
    "lock-wait": LockWait,
    "channel-receive": ChannelReceive,
    "priority-queue-pop": PriorityQueuePop,
    "priority-queue-add": PriorityQueueAdd,
    "queue-get": QueueGet,
    "queue-put": QueuePut,
    "semaphore-acquire": SemaphoreAcquire,
    "wait-any-queue": WaitAnyQueue,
    "wait-any-channel": WaitAnyChannel,
}


def start_behind_main(run: Run, after_hand_over: Callable[[threading.Event], None]) -> Tuple[threading.Event, Thread, Thread]:
    """Start the second thread and the hand-over thread of `run`; the caller sets the Event, then calls `run.main()`.

    The second thread parks once main has parked; the third hands the thing over
    once the second has parked, then calls `after_hand_over(in_main)`.
    """
    main_ident = threading.get_ident()
    second_ident: List[Any] = []
    # set once main has started both threads: before, main may wait in Thread.start() (a
    # contended lock of the thread tree), which parked() would take for the wait of the run
    in_main = threading.Event()

    def second(please_stop: Any) -> None:
        in_main.wait()
        parked(main_ident)
        second_ident.append(threading.get_ident())
        started = time.monotonic()
        run.second()
        run.second_waited = time.monotonic() - started

    def hand_over(please_stop: Any) -> None:
        while not second_ident:
            time.sleep(0.0002)
        parked(second_ident[0])
        run.hand_over()
        after_hand_over(in_main)

    return in_main, Thread.run("second", second), Thread.run("hand over", hand_over)


def what_was_lost(run: Run) -> str:
    """Empty when the thing reached main or, at once, the second thread; else what went wrong."""
    lost = run.lost()
    if not lost and not run.main_got and run.second_waited >= PATIENCE:
        lost = "the second thread got it only after waiting out its till"
    return lost


def one_run(make: Callable[[], Run]) -> str:
    run = make()
    in_main, second_thread, hand_over_thread = start_behind_main(run, lambda in_main: interrupt_main())
    in_main.set()
    try:
        run.main()
        # the interrupt came, or comes, after main() returned: wait for it here, outside the call
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not HANDLER_RAN:
            time.sleep(0.001)
        if not HANDLER_RAN:
            raise AssertionError("no KeyboardInterrupt")
        # the handler ran inside a weakref callback or __del__ (PyPy's collector runs them
        # between any two bytecodes), where Python itself ignores what it raises: the
        # KeyboardInterrupt is Python's to lose, the hand-off is still ours to check
        HANDLER_RAN.clear()
    except KeyboardInterrupt:
        HANDLER_RAN.clear()
    hand_over_thread.join()
    second_thread.join()
    return what_was_lost(run)


def one_held_run(make: Callable[[], Run]) -> str:
    """A run where SIGINT comes at the worst moment: main was handed the thing and has not ended the hand-off.

    mo_threads' own SIGINT handler stays installed (with `--foreign`, one of the
    application's replaces it); every `resume_signals()` of a hand-off on the
    main thread first sends SIGINT and lets its handler run. Without a hold the
    KeyboardInterrupt leaves before the thing is given back.
    """
    run = make()
    main_ident = threading.get_ident()
    sent: List[int] = []

    def resume_after_a_signal(pass_on: Any = None, value: Any = None) -> None:
        if threading.get_ident() == main_ident and _parking._held and not sent:
            sent.append(signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)
            # the handler runs here, deferred (or raises here, not held); PyPy holds it
            # unseen, where deferral shows (CPython) the wait ends as soon as it is kept
            deadline = time.monotonic() + (0.02 if PYPY else 1)
            while not _parking._deferred and time.monotonic() < deadline:
                time.sleep(0.001)
        REAL_RESUME(pass_on, value)

    def end_an_unheld_wait(in_main: threading.Event) -> None:
        deadline = time.monotonic() + 2
        while not sent and time.monotonic() < deadline:
            time.sleep(0.001)
        if not sent and in_main.is_set():
            interrupt_main()  # main was not handed it: end its wait, the run fails below

    for module in RESUMERS:
        setattr(module, "resume_signals", resume_after_a_signal)
    try:
        in_main, second_thread, hand_over_thread = start_behind_main(run, end_an_unheld_wait)
        in_main.set()
        try:
            run.main()
            interrupted_at = "never"
        except KeyboardInterrupt:
            interrupted_at = "the call"
        in_main.clear()
    finally:
        for module in RESUMERS:
            setattr(module, "resume_signals", REAL_RESUME)
    hand_over_thread.join()
    second_thread.join()
    lost = what_was_lost(run)
    if not sent:
        return "the main thread never ended a hand-off"
    if interrupted_at == "never":
        return "the SIGINT held during the hand-off never raised"
    return lost


def main() -> None:
    kind, runs = sys.argv[1], int(sys.argv[2])
    make = KINDS[kind]
    Thread.run("warm up", lambda please_stop: None).join()  # mo_threads' handlers are installed now
    if "--held" in sys.argv:
        _os_signals.STATE.request_stop = None  # a Ctrl-C here is the test's: the program goes on
        if "--foreign" in sys.argv:
            # the application's own handler, installed after mo_threads': it can not defer itself
            signal.signal(signal.SIGINT, interrupted)
        for number in range(runs):
            lost = one_held_run(make)
            if lost:
                print("run " + str(number) + " lost it: " + lost, flush=True)
                sys.exit(1)
        print("ok " + str(runs), flush=True)
        return
    # a handler like plain Python's: every SIGINT raises KeyboardInterrupt in the main thread
    signal.signal(signal.SIGINT, interrupted)
    for number in range(runs):
        lost = one_run(make)
        if lost:
            print("run " + str(number) + " lost it: " + lost, flush=True)
            sys.exit(1)
    print("ok " + str(runs), flush=True)


if __name__ == "__main__":
    main()
