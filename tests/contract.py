"""The contract of every blocking call, as a table (in the spirit of CPython's `lock_tests.py`).

tests/test_blocking_contract.py runs the same tests over every row of `PRIMITIVES`.
A row says, for one blocking call:

- `make()`: a fresh `Setup` in which `call` blocks (an empty queue, a held lock...);
- `call(setup, **kwargs)`: the call, given `till=` and/or `timeout=` (only those passed);
- what a wait cut short does (docs/guide/waits.md; mo_threads/_waits.py):
  return `returns` (False or None), or raise `raises`;
- `hand_off(setup)`: what another thread does to complete a blocked call (add an
  item, release the lock...), and `check(setup, result)` of the completed call;
- `ready(setup)`: done first, it makes the call return at once (the fast path), when
  there is such a thing;
- `intact(setup)`: asserts that a call cut short or refused changed nothing (the value
  of a send was not delivered, the item of an add not queued...);
- `untouched(setup)`: asserts more, only after a refused call (bad `till`/`timeout`):
  nothing at all was done;
- `mend(setup)`: what makes the primitive usable again after a call cut short, when
  the contract says it is not (a Barrier breaks);
- `timeout`: whether the call takes `timeout=` (README: every blocking call takes
  `till=`, most take `timeout=` too);
- `xfail`: {test name: reason} for contract tests the library fails today (strict).

A Setup's `cleanups` run after the test, whatever happened: no thread is left running.
"""

from __future__ import annotations

import queue
import threading
from typing import Any, Callable, Dict, List, Optional, Type

from mo_threads import (
    AlienThread,
    BoundedSemaphore,
    Channel,
    Future,
    Latch,
    Lock,
    PriorityQueue,
    Queue,
    RegisterThread,
    Semaphore,
    Signal,
    Thread,
    ThreadPool,
    ThreadTimeout,
    Till,
)
from mo_threads.queues import QueueEmpty, QueueFull
from mo_threads.sync import Barrier
from mo_threads.waiting import Fired, wait_any

try:  # what a thread is parked on (internal; used only to time a hand-off better)
    from mo_threads._blocking import blocked_on as _blocked_on
except ImportError:  # pragma: no cover - the kernel is being redesigned
    _blocked_on = None  # type: ignore[assignment]

ITEM = "item"
RESULT = "result"


class Setup:
    """What one row's `make()` builds: any attributes, and cleanups run after the test."""

    def __init__(self) -> None:
        self.cleanups: List[Callable[[], Any]] = []
        self.received: List[Any] = []  # what a hand-off took, for `check`

    def close(self) -> None:
        for cleanup in reversed(self.cleanups):
            cleanup()
        self.cleanups = []


class Primitive:
    """One row of the table (see the module's docstring)."""

    def __init__(
        self,
        name: str,
        make: Callable[[], Setup],
        call: Callable[..., Any],
        hand_off: Callable[[Setup], Any],
        check: Callable[[Setup, Any], None],
        returns: Any = None,
        raises: Optional[Type[BaseException]] = None,
        timeout: bool = True,
        ready: Optional[Callable[[Setup], Any]] = None,
        intact: Optional[Callable[[Setup], None]] = None,
        untouched: Optional[Callable[[Setup], None]] = None,
        mend: Optional[Callable[[Setup], Any]] = None,
        xfail: Optional[Dict[str, str]] = None,
    ) -> None:
        self.name = name
        self.make = make
        self.call = call
        self.hand_off = hand_off
        self.check = check
        self.returns = returns
        self.raises = raises
        self.timeout = timeout
        self.ready = ready
        self.intact = intact
        self.untouched = untouched
        self.mend = mend
        self.xfail = xfail or {}

    def __repr__(self) -> str:
        return self.name


# --- running a call ----------------------------------------------------------------


class Call:
    """`fn()` running on a daemon thread of its own; `outcome()` gives its result or raises its error."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        self.fn = fn
        self.done = threading.Event()
        self.result: Any = None
        self.error: Optional[BaseException] = None
        self.thread = threading.Thread(target=self._run, name="contract call", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.result = self.fn()
        except BaseException as error:
            self.error = error
        finally:
            self.done.set()

    def parked(self, limit: float = 2.0) -> None:
        """Return once the call is parked (or, when that can not be seen, has had `limit` seconds to park).

        Fails when the call returned instead: it was meant to block.
        """
        ident = self.thread.ident
        if _blocked_on is None:
            self.done.wait(0.05)
        else:
            give_up = threading.Event()
            timer = threading.Timer(limit, give_up.set)
            timer.start()
            try:
                while not self.done.is_set() and not give_up.is_set() and _blocked_on(ident) is None:  # type: ignore[arg-type]
                    self.done.wait(0.0005)
            finally:
                timer.cancel()
        if self.done.is_set():
            raise AssertionError("the call returned without blocking: " + repr(self.error or self.result))

    def outcome(self, limit: float) -> Any:
        """The call's result (or its error, raised), once it returns; fails when it is still blocked after `limit` seconds."""
        if not self.done.wait(limit):
            raise AssertionError("the call was still blocked " + str(limit) + " seconds later")
        if self.error is not None:
            raise self.error
        return self.result


# --- the rows ----------------------------------------------------------------------


def _signal() -> Setup:
    s = Setup()
    s.signal = Signal("contract")
    return s


def _lock_held_by_another_thread() -> Setup:
    """A Lock held by a helper thread until `hand_off` tells it to leave."""
    s = Setup()
    s.lock = Lock("contract")
    held, s.leave = threading.Event(), threading.Event()

    def hold() -> None:
        with s.lock:
            held.set()
            s.leave.wait(30)

    s.holder = threading.Thread(target=hold, name="contract lock holder", daemon=True)
    s.holder.start()
    held.wait(10)

    def cleanup() -> None:
        s.leave.set()
        s.holder.join(10)

    s.cleanups.append(cleanup)
    return s


def _leave_lock(s: Setup) -> None:
    s.leave.set()


def _lock_left(s: Setup) -> None:
    s.leave.set()
    s.holder.join(10)


def _lock_acquire(s: Setup, **kwargs: Any) -> bool:
    got = s.lock.acquire(**kwargs)
    if got:
        s.lock.release()
    return got


def _lock_acquiring(s: Setup, **kwargs: Any) -> bool:
    with s.lock.acquiring(**kwargs):
        return True


def _lock_still_held_by_the_holder(s: Setup) -> None:
    # RuntimeError (not reentrant) if this thread took it after all; True if it was left free
    assert not s.lock.acquire(timeout=0), "the lock was left free while its holder still holds it"


def _lock() -> Setup:
    s = Setup()
    s.lock = Lock("contract")
    return s


def _lock_wait(s: Setup, **kwargs: Any) -> bool:
    with s.lock:
        return s.lock.wait(**kwargs)


def _lock_leave_once(s: Setup) -> None:
    with s.lock:
        pass  # leaving the lock wakes a waiter


def _lock_is_free(s: Setup) -> None:
    assert s.lock.acquire(timeout=0), "Lock.wait gave up and left the lock held"
    s.lock.release()


def _queue(max: Optional[int] = None, priority: bool = False) -> Callable[[], Setup]:
    def make() -> Setup:
        s = Setup()
        if priority:
            s.queue = PriorityQueue("contract", numpriorities=2, max=max, silent=True)
        else:
            s.queue = Queue("contract", max=max, silent=True)
        if max is not None:
            s.queue.add("filler")
        return s

    return make


def _add_item(s: Setup) -> None:
    s.queue.add(ITEM)


def _pop_filler(s: Setup) -> None:
    s.received.append(s.queue.pop_one())


def _got_item(s: Setup, result: Any) -> None:
    assert result == ITEM


def _added_after_filler(s: Setup, result: Any) -> None:
    assert s.received == ["filler"]
    assert s.queue.pop_all() == [ITEM], "the item was not added once there was room"


def _queue_add(s: Setup, **kwargs: Any) -> None:
    s.queue.add(ITEM, **kwargs)


def _only_filler(s: Setup) -> None:
    assert s.queue.qsize() == 1, "a refused or cut short add changed the queue: " + repr(s.queue)


def _queue_unfinished() -> Callable[[], Setup]:
    def make() -> Setup:
        s = Setup()
        s.queue = Queue("contract", silent=True)
        s.queue.add(ITEM)
        return s

    return make


def _priority_queue_unfinished() -> Setup:
    s = Setup()
    s.queue = PriorityQueue("contract", numpriorities=2, silent=True)
    s.queue.add(ITEM, priority=1)
    return s


def _finish_task(s: Setup) -> None:
    s.received.append(s.queue.pop_one())
    s.queue.task_done()


def _joined_queue(s: Setup, result: Any) -> None:
    assert result is s.queue
    assert s.received == [ITEM]


def _channel(capacity: int = 0, filled: bool = False) -> Callable[[], Setup]:
    def make() -> Setup:
        s = Setup()
        s.channel = Channel("contract", capacity=capacity)
        if filled:
            s.channel.send("filler")
        return s

    return make


def _receive_one(s: Setup) -> None:
    s.received.append(s.channel.receive(timeout=10))


def _received_item(s: Setup, result: Any) -> None:
    assert result is None
    assert s.received == [ITEM], "the receiver did not get the value sent"


def _buffered_after_filler(s: Setup, result: Any) -> None:
    assert result is None
    assert s.received == ["filler"]
    assert s.channel.try_receive() == (True, ITEM), "the value was not buffered once there was room"


def _nothing_delivered(s: Setup) -> None:
    assert s.channel.try_receive() == (False, None), "a refused or cut short send delivered its value"


def _filler_only(s: Setup) -> None:
    assert len(s.channel) == 1, "a refused or cut short send changed the buffer: " + repr(s.channel)


def _send_item(s: Setup) -> None:
    s.channel.send(ITEM, timeout=10)


def _semaphore(bounded: bool) -> Callable[[], Setup]:
    def make() -> Setup:
        s = Setup()
        if bounded:
            s.semaphore = BoundedSemaphore(1, name="contract")
            assert s.semaphore.acquire()
        else:
            s.semaphore = Semaphore(0, name="contract")
        return s

    return make


def _no_permit_taken(s: Setup) -> None:
    assert s.semaphore.value == 0, "a refused or cut short acquire changed the permits: " + repr(s.semaphore)


def _permit_taken(s: Setup, result: Any) -> None:
    assert result is True
    assert s.semaphore.value == 0, "the permit handed over is still there: " + repr(s.semaphore)


def _barrier() -> Setup:
    s = Setup()
    s.barrier = Barrier(2, name="contract")
    return s


def _second_party(s: Setup) -> None:
    s.received.append(s.barrier.wait(timeout=10))


def _round_complete(s: Setup, result: Any) -> None:
    assert sorted([result] + s.received) == [0, 1]


def _barrier_not_broken(s: Setup) -> None:
    assert not s.barrier.broken and s.barrier.n_waiting == 0, "a refused wait changed the barrier: " + repr(s.barrier)


def _latch() -> Setup:
    s = Setup()
    s.latch = Latch(1, name="contract")
    return s


def _future() -> Setup:
    s = Setup()
    s.future = Future("contract")
    return s


def _is_true(s: Setup, result: Any) -> None:
    assert result is True


def _is_result(s: Setup, result: Any) -> None:
    assert result == RESULT


def _is_none(s: Setup, result: Any) -> None:
    assert result is None


def _wait_any_queue() -> Setup:
    s = Setup()
    s.queue = Queue("contract", silent=True)
    s.signal = Signal("contract never")
    return s


def _fired_queue(s: Setup, result: Any) -> None:
    assert result == Fired(s.queue, ITEM)


def _wait_any_channel() -> Setup:
    s = Setup()
    s.channel = Channel("contract", capacity=1)
    s.future = Future("contract never")
    return s


def _fired_channel(s: Setup, result: Any) -> None:
    assert result == Fired(s.channel, ITEM)


def _queue_empty(s: Setup) -> None:
    assert s.queue.qsize() == 0


def _thread() -> Setup:
    """A Thread that runs until `hand_off` says go on."""
    s = Setup()
    s.go_on = Signal("contract go on")

    def work(please_stop: Signal) -> str:
        s.go_on.wait(till=please_stop)
        return RESULT

    s.thread = Thread.run("contract worker", work)

    def cleanup() -> None:
        s.thread.stop()
        s.thread.join(timeout=10)

    s.cleanups.append(cleanup)
    return s


def _go_on(s: Setup) -> None:
    s.go_on.go()


def _thread_ended(s: Setup) -> None:
    s.go_on.go()
    assert s.thread.stopped.wait(timeout=10)


def _alien_thread() -> Setup:
    """A thread mo_threads did not start, registered (an AlienThread) until `hand_off` says leave."""
    s = Setup()
    s.leave = threading.Event()
    found: List[AlienThread] = []
    entered = threading.Event()

    def run() -> None:
        with RegisterThread("contract alien") as me:
            found.append(me)  # type: ignore[arg-type]
            entered.set()
            s.leave.wait(30)

    s.plain = threading.Thread(target=run, name="contract alien", daemon=True)
    s.plain.start()
    entered.wait(10)
    s.alien = found[0]
    assert isinstance(s.alien, AlienThread)

    def cleanup() -> None:
        s.leave.set()
        s.plain.join(10)

    s.cleanups.append(cleanup)
    return s


def _alien_left(s: Setup) -> None:
    s.leave.set()
    assert s.alien.stopped.wait(timeout=10)


def _pool() -> Setup:
    """A ThreadPool running one job until `hand_off` says go on."""
    s = Setup()
    s.go_on = Signal("contract go on")

    def work(please_stop: Signal) -> str:
        s.go_on.wait(till=please_stop)
        return RESULT

    s.pool = ThreadPool(1, name="contract pool")
    s.job = s.pool.run("contract job", work)

    def cleanup() -> None:
        s.go_on.go()
        s.pool.join(till=Till(seconds=10))

    s.cleanups.append(cleanup)
    return s


def _job_ended(s: Setup) -> None:
    s.go_on.go()
    assert s.job.stopped.wait(timeout=10)


def _pool_open(s: Setup) -> None:
    # a refused join() must not have closed the pool to new jobs
    s.pool.run("contract more", lambda please_stop: None)


def _pool_ended(s: Setup) -> None:
    s.go_on.go()
    s.pool.join(till=Till(seconds=10))


def _queue_rows(prefix: str, priority: bool) -> List[Primitive]:
    empty = _queue(priority=priority)
    full = _queue(max=1, priority=priority)
    return [
        Primitive(
            prefix + ".pop",
            empty,
            lambda s, **kw: s.queue.pop(**kw),
            _add_item,
            _got_item,
            returns=None,
            ready=_add_item,
            intact=_queue_empty,
        ),
        Primitive(
            prefix + ".get",
            empty,
            lambda s, **kw: s.queue.get(**kw),
            _add_item,
            _got_item,
            raises=QueueEmpty,
            ready=_add_item,
            intact=_queue_empty,
        ),
        Primitive(
            prefix + ".add",
            full,
            _queue_add,
            _pop_filler,
            _added_after_filler,
            raises=QueueFull,
            ready=_pop_filler,
            intact=_only_filler,
        ),
        Primitive(
            prefix + ".put",
            full,
            lambda s, **kw: s.queue.put(ITEM, **kw),
            _pop_filler,
            _added_after_filler,
            raises=queue.Full,
            ready=_pop_filler,
            intact=_only_filler,
        ),
        Primitive(
            prefix + ".join",
            _priority_queue_unfinished if priority else _queue_unfinished(),
            lambda s, **kw: s.queue.join(**kw),
            _finish_task,
            _joined_queue,
            raises=ThreadTimeout,
            timeout=False,
            ready=_finish_task,
        ),
    ]


PRIMITIVES: List[Primitive] = [
    Primitive(
        "Signal.wait",
        _signal,
        lambda s, **kw: s.signal.wait(**kw),
        lambda s: s.signal.go(),
        _is_true,
        returns=False,
        ready=lambda s: s.signal.go(),
    ),
    Primitive(
        "Lock.acquire",
        _lock_held_by_another_thread,
        _lock_acquire,
        _leave_lock,
        _is_true,
        returns=False,
        ready=_lock_left,
        intact=_lock_still_held_by_the_holder,
    ),
    Primitive(
        "Lock.acquiring",
        _lock_held_by_another_thread,
        _lock_acquiring,
        _leave_lock,
        _is_true,
        raises=ThreadTimeout,
        ready=_lock_left,
        intact=_lock_still_held_by_the_holder,
    ),
    Primitive(
        "Lock.wait",
        _lock,
        _lock_wait,
        _lock_leave_once,
        _is_true,
        returns=False,
        intact=_lock_is_free,
    ),
    *_queue_rows("Queue", priority=False),
    *_queue_rows("PriorityQueue", priority=True),
    Primitive(
        "Channel.send (rendezvous)",
        _channel(),
        lambda s, **kw: s.channel.send(ITEM, **kw),
        _receive_one,
        _received_item,
        raises=ThreadTimeout,
        intact=_nothing_delivered,
    ),
    Primitive(
        "Channel.send (buffer full)",
        _channel(capacity=1, filled=True),
        lambda s, **kw: s.channel.send(ITEM, **kw),
        _receive_one,
        _buffered_after_filler,
        raises=ThreadTimeout,
        ready=_receive_one,
        intact=_filler_only,
    ),
    Primitive(
        "Channel.receive",
        _channel(capacity=1),
        lambda s, **kw: s.channel.receive(**kw),
        _send_item,
        _got_item,
        raises=ThreadTimeout,
        ready=_send_item,
    ),
    Primitive(
        "Semaphore.acquire",
        _semaphore(bounded=False),
        lambda s, **kw: s.semaphore.acquire(**kw),
        lambda s: s.semaphore.release(),
        _permit_taken,
        returns=False,
        ready=lambda s: s.semaphore.release(),
        intact=_no_permit_taken,
    ),
    Primitive(
        "BoundedSemaphore.acquire",
        _semaphore(bounded=True),
        lambda s, **kw: s.semaphore.acquire(**kw),
        lambda s: s.semaphore.release(),
        _permit_taken,
        returns=False,
        ready=lambda s: s.semaphore.release(),
        intact=_no_permit_taken,
    ),
    Primitive(
        "Barrier.wait",
        _barrier,
        lambda s, **kw: s.barrier.wait(**kw),
        _second_party,
        _round_complete,
        raises=ThreadTimeout,
        untouched=_barrier_not_broken,
        mend=lambda s: s.barrier.reset(),  # a party giving up breaks the barrier (as the stdlib's)
    ),
    Primitive(
        "Latch.wait",
        _latch,
        lambda s, **kw: s.latch.wait(**kw),
        lambda s: s.latch.count_down(),
        _is_true,
        returns=False,
        ready=lambda s: s.latch.count_down(),
        intact=lambda s: None if s.latch.count == 1 else _fail("the latch count changed"),
    ),
    Primitive(
        "Future.wait",
        _future,
        lambda s, **kw: s.future.wait(**kw),
        lambda s: s.future.assign(RESULT),
        _is_result,
        raises=ThreadTimeout,
        ready=lambda s: s.future.assign(RESULT),
    ),
    Primitive(
        "wait_any(Queue, Signal)",
        _wait_any_queue,
        lambda s, **kw: wait_any(s.queue, s.signal, **kw),
        _add_item,
        _fired_queue,
        raises=ThreadTimeout,
        ready=_add_item,
        intact=_queue_empty,
    ),
    Primitive(
        "wait_any(Channel, Future)",
        _wait_any_channel,
        lambda s, **kw: wait_any(s.channel, s.future, **kw),
        _send_item,
        _fired_channel,
        raises=ThreadTimeout,
        ready=_send_item,
    ),
    Primitive(
        "Thread.join",
        _thread,
        lambda s, **kw: s.thread.join(**kw),
        _go_on,
        _is_result,
        raises=ThreadTimeout,
        ready=_thread_ended,
    ),
    Primitive(
        "AlienThread.join",
        _alien_thread,
        lambda s, **kw: s.alien.join(**kw),
        lambda s: s.leave.set(),
        _is_none,
        raises=ThreadTimeout,
        ready=_alien_left,
    ),
    Primitive(
        "PoolThread.join",
        _pool,
        lambda s, **kw: s.job.join(**kw),
        _go_on,
        _is_result,
        raises=ThreadTimeout,
        timeout=False,
        ready=_job_ended,
    ),
    Primitive(
        "ThreadPool.join",
        _pool,
        lambda s, **kw: s.pool.join(**kw),
        _go_on,
        _is_none,
        raises=ThreadTimeout,
        timeout=False,
        ready=_pool_ended,
        untouched=_pool_open,
    ),
]


def _fail(message: str) -> None:
    raise AssertionError(message)
