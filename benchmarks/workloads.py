"""One benchmark workload, run in a child process by `benchmarks/run.py`.

    python benchmarks/workloads.py WORKLOAD IMPL PARAMS_JSON

IMPL is "ours" (the repo's mo_threads, put on sys.path by the parent),
"baseline" (the repo's mo_threads as it was at a baseline commit, extracted
by the parent and put on sys.path instead), "upstream" (mo-threads from PyPI,
in its own virtualenv) or "stdlib" (the standard library doing the same
work). They all import under the same name, which is why every run gets its
own process.

PARAMS_JSON may hold "reps": the workload then runs that many times in this
process and the best run is reported (thread hand-offs are noisy: they depend
on where the OS schedules both threads, and other work only slows them down).
Only rate workloads (higher is better) use reps.

The child prints one line `RESULT {json}` on stdout; anything else it prints
(upstream logs to stdout at exit) is ignored. A workload that can not run
(a module not written yet) prints `{"skipped": reason}`.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import tempfile
import threading
import time
import tracemalloc
from typing import Any, Callable, Dict, List

perf = time.perf_counter


def _mo_threads() -> Any:
    import mo_threads

    return mo_threads


# process CPU time (every thread) at the start and end of the timed section
_CPU = [0.0, 0.0]


def _start() -> float:
    """Start the clock of a timed section; returns its start (perf_counter)."""
    _CPU[0] = _CPU[1] = time.process_time()
    return perf()


def _elapsed(start: float) -> float:
    """Seconds since `_start()`; also notes the CPU time the section used."""
    _CPU[1] = time.process_time()
    return perf() - start


class Skip(Exception):
    """This workload can not run with this implementation (yet)."""


def _queue_class(impl: str) -> Any:
    try:
        from mo_threads import Queue  # type: ignore[attr-defined]
    except ImportError as cause:
        raise Skip("mo_threads.Queue is not importable yet (" + str(cause).split(" (")[0] + ")")
    return Queue


# --- 1. queue throughput ------------------------------------------------------
def queue_1p1c(impl: str, p: Dict[str, Any]) -> Dict[str, Any]:
    """One producer adds N items then closes; one consumer pops until the end marker."""
    return _queue_run(impl, p["n"], producers=1, consumers=1, bound=None)


def queue_4p4c(impl: str, p: Dict[str, Any]) -> Dict[str, Any]:
    """Four producers, four consumers, a bounded queue."""
    return _queue_run(impl, p["n"], producers=4, consumers=4, bound=p["bound"])


def _queue_run(impl: str, n: int, producers: int, consumers: int, bound: Any) -> Dict[str, Any]:
    per_producer = n // producers
    received = [0] * consumers
    if impl == "stdlib":
        import queue

        q: Any = queue.Queue(maxsize=bound or 0)
        end = object()
        add = q.put

        def consume(i: int) -> None:
            get = q.get
            count = 0
            while get() is not end:
                count += 1
            received[i] = count

        def close() -> None:
            for _ in range(consumers):
                q.put(end)

    else:
        Queue = _queue_class(impl)
        end = _mo_threads().PLEASE_STOP
        if impl == "upstream" and bound is None:
            bound = 2 ** 40  # upstream's max=None means 1024; make it unbounded too
        q = Queue("bench", max=bound, silent=True)
        add = q.add

        def consume(i: int) -> None:
            pop = q.pop
            count = 0
            while pop() is not end:
                count += 1
            received[i] = count

        def close() -> None:
            q.add(end)

    return _drive(per_producer, producers, add, consume, consumers, close, received, "items")


def _drive(
    per_producer: int,
    producers: int,
    send: Callable[[int], Any],
    consume: Callable[[int], None],
    consumers: int,
    close: Callable[[], None],
    received: List[int],
    what: str,
) -> Dict[str, Any]:
    """Time `producers` threads sending `per_producer` values each to `consumers` threads, then `close()`.

    `consume(i)` receives until the end and puts its count in `received[i]`.
    """
    n = per_producer * producers

    def produce() -> None:
        for i in range(per_producer):
            send(i)

    # plain threads drive every implementation: we time the hand-off, not thread start-up
    cons = [threading.Thread(target=consume, args=(i,)) for i in range(consumers)]
    prods = [threading.Thread(target=produce) for _ in range(producers)]
    for t in cons:
        t.start()
    start = _start()
    for t in prods:
        t.start()
    for t in prods:
        t.join()
    close()
    for t in cons:
        t.join(120)
    elapsed = _elapsed(start)
    if sum(received) != n:
        raise RuntimeError("lost " + what + ": sent " + str(n) + ", received " + str(sum(received)))
    return {"value": n / elapsed, "unit": what + "/s", "seconds": elapsed, "ops": n}


# --- 2. signal ping-pong ------------------------------------------------------
def pingpong(impl: str, p: Dict[str, Any]) -> Dict[str, Any]:
    """Two threads hand control back and forth, a fresh signal per hand-off."""
    n = p["n"]
    if impl == "stdlib":
        make: Callable[[], Any] = threading.Event
        fire = threading.Event.set
        wait = threading.Event.wait
    elif impl == "raw":
        # the floor: a bare _thread lock per hand-off, what every signal is built on
        import _thread

        def make() -> Any:
            lock = _thread.allocate_lock()
            lock.acquire()
            return lock

        fire = _thread.LockType.release
        wait = _thread.LockType.acquire
    else:
        Signal = _mo_threads().Signal
        make = Signal
        fire = Signal.go
        wait = Signal.wait
    box: List[Any] = [None]
    first = make()

    def b_side() -> None:
        wait_on = first
        for _ in range(n):
            wait(wait_on)
            to_fire = box[0]
            mine = make()
            box[0] = mine
            fire(to_fire)
            wait_on = mine

    thread = threading.Thread(target=b_side)
    thread.start()
    start = _start()
    mine = make()
    box[0] = mine
    fire(first)
    wait_on = mine
    for i in range(n):
        wait(wait_on)
        if i < n - 1:
            to_fire = box[0]
            mine = make()
            box[0] = mine
            fire(to_fire)
            wait_on = mine
    elapsed = _elapsed(start)
    thread.join()
    return {"value": 2 * n / elapsed, "unit": "hand-offs/s", "seconds": elapsed, "ops": 2 * n}


# --- 3. Till creation and lateness --------------------------------------------
def till_create(impl: str, p: Dict[str, Any]) -> Dict[str, Any]:
    """Create N pending timers (deadlines 30-40 s away, in mixed order)."""
    n = p["n"]
    if impl == "stdlib":
        raise Skip("no stdlib equivalent")
    Till = _mo_threads().Till
    Till(seconds=0.001).wait()  # the timer thread is running before we time
    keep: List[Any] = [None] * n
    start = _start()
    for i in range(n):
        keep[i] = Till(seconds=30 + (i * 7919 % 1000) * 0.01)
    elapsed = _elapsed(start)
    return {"value": n / elapsed, "unit": "Tills/s", "seconds": elapsed, "ops": n}


def till_lateness(impl: str, p: Dict[str, Any]) -> Dict[str, Any]:
    """How late `Till(seconds=d).wait()` (or `time.sleep(d)`) returns, d in 1..10 ms."""
    n = p["n"]
    if impl == "stdlib":
        sleep = time.sleep
    else:
        Till = _mo_threads().Till
        Till(seconds=0.001).wait()

        def sleep(d: float) -> None:
            Till(seconds=d).wait()

    late: List[float] = []
    for i in range(n):
        d = (1 + i % 10) / 1000.0
        start = perf()
        sleep(d)
        late.append((perf() - start - d) * 1000.0)
    late.sort()
    return {
        "value": late[len(late) // 2],
        "p99": late[min(len(late) - 1, int(len(late) * 0.99))],
        "min": late[0],
        "unit": "ms late",
        "samples": late,
    }


# --- 4. thread spawn + join ---------------------------------------------------
def spawn_join(impl: str, p: Dict[str, Any]) -> Dict[str, Any]:
    """Start a thread that returns at once, join it; N times."""
    n = p["n"]
    if impl == "stdlib":

        def noop() -> None:
            return None

        def once() -> None:
            t = threading.Thread(target=noop)
            t.start()
            t.join()

    else:
        Thread = _mo_threads().Thread

        def work(please_stop: Any) -> None:
            return None

        def once() -> None:
            Thread.run("spawn", work).join()

    once()
    start = _start()
    for _ in range(n):
        once()
    elapsed = _elapsed(start)
    return {"value": n / elapsed, "unit": "threads/s", "seconds": elapsed, "ops": n}


# --- 5. stop + join many blocked threads --------------------------------------
def stop_join(impl: str, p: Dict[str, Any]) -> Dict[str, Any]:
    """Start N threads blocked on their stop signal; time stopping and joining them all.

    `value` stops the clock when the last join returns; `gone_rate` when the
    last OS thread has also exited. They differ where a join returns before its
    thread is through: upstream's join wakes the thread (parked until joined)
    and returns, and the thread's end runs after it. Waiting for the OS threads
    also keeps one repetition's thread ends out of the next.
    """
    n = p["n"]
    ready = [0]
    ready_lock = threading.Lock()

    def arrived() -> None:
        with ready_lock:
            ready[0] += 1

    if impl == "stdlib":
        events = [threading.Event() for _ in range(n)]

        def block(event: Any) -> None:
            arrived()
            event.wait()

        threads = [threading.Thread(target=block, args=(e,), name="blocked " + str(i)) for i, e in enumerate(events)]
        for t in threads:
            t.start()
        _wait_for(lambda: ready[0] == n)
        os_threads = threads
        start = perf()
        for e in events:
            e.set()
        for t in threads:
            t.join()
    else:
        Thread = _mo_threads().Thread

        def blocked(please_stop: Any) -> None:
            arrived()
            please_stop.wait()

        threads = [Thread.run("blocked " + str(i), blocked) for i in range(n)]
        _wait_for(lambda: ready[0] == n)
        # both packages name the OS thread after the Thread
        os_threads = [t for t in threading.enumerate() if t.name.startswith("blocked ")]
        if len(os_threads) != n:
            raise RuntimeError("found " + str(len(os_threads)) + " OS threads named 'blocked ...', not " + str(n))
        start = perf()
        for t in threads:
            t.stop()
        for t in threads:
            t.join()
    joined = perf() - start
    for thread in os_threads:
        thread.join()
    gone = perf() - start
    return {"value": n / joined, "gone_rate": n / gone, "unit": "threads/s", "seconds": joined}


def _wait_for(condition: Callable[[], bool], limit: float = 60.0) -> None:
    deadline = perf() + limit
    while not condition():
        if perf() > deadline:
            raise RuntimeError("threads did not start in time")
        time.sleep(0.001)


# --- 6. lock monitor hand-off -------------------------------------------------
def lock_handoff(impl: str, p: Dict[str, Any]) -> Dict[str, Any]:
    """Two threads take turns inside one monitor: wait() until it is my turn."""
    n = p["n"]
    turn = [0]
    if impl == "stdlib":
        cond = threading.Condition()

        def side(me: int) -> None:
            other = 1 - me
            for _ in range(n):
                with cond:
                    while turn[0] != me:
                        cond.wait()
                    turn[0] = other
                    cond.notify()

    else:
        lock = _mo_threads().Lock("bench")

        def side(me: int) -> None:
            # leaving the lock wakes one waiter: no notify() needed
            other = 1 - me
            for _ in range(n):
                with lock:
                    while turn[0] != me:
                        lock.wait()
                    turn[0] = other

    thread = threading.Thread(target=side, args=(1,))
    start = _start()
    thread.start()
    side(0)
    thread.join()
    elapsed = _elapsed(start)
    return {"value": 2 * n / elapsed, "unit": "hand-offs/s", "seconds": elapsed, "ops": 2 * n}


# --- 6b. fast paths (nothing to wait for) ------------------------------------
# Single-threaded loops through the calls that could block but need not: what
# every wait pays before it knows it must park. Compared with the same package
# at a baseline commit (`run.py --baseline REF`), they show what recording
# blocked waits (deadlock detection, issue 10) costs the calls that never park.
def lock_fast(impl: str, p: Dict[str, Any]) -> Dict[str, Any]:
    """`with lock: pass` on a Lock nobody else touches, N times."""
    n = p["n"]
    lock = threading.Lock() if impl == "stdlib" else _mo_threads().Lock("bench")
    start = _start()
    for _ in range(n):
        with lock:
            pass
    elapsed = _elapsed(start)
    return {"value": n / elapsed, "unit": "enters/s", "seconds": elapsed, "ops": n}


def signal_fast(impl: str, p: Dict[str, Any]) -> Dict[str, Any]:
    """`wait()` on a signal that has already fired, N times."""
    n = p["n"]
    if impl == "stdlib":
        signal: Any = threading.Event()
        signal.set()
    else:
        signal = _mo_threads().Signal("bench")
        signal.go()
    wait = signal.wait
    start = _start()
    for _ in range(n):
        wait()
    elapsed = _elapsed(start)
    return {"value": n / elapsed, "unit": "waits/s", "seconds": elapsed, "ops": n}


def queue_fast(impl: str, p: Dict[str, Any]) -> Dict[str, Any]:
    """One thread: `add(i)` then `pop_one()`, N times (never waits, never empty)."""
    return _queue_single(impl, p["n"], blocking=False)


def queue_pop_ready(impl: str, p: Dict[str, Any]) -> Dict[str, Any]:
    """One thread: `add(i)` then `pop()` with the item ready, N times (the blocking call's fast path)."""
    return _queue_single(impl, p["n"], blocking=True)


def _queue_single(impl: str, n: int, blocking: bool) -> Dict[str, Any]:
    if impl == "stdlib":
        import queue

        q: Any = queue.Queue()
        add, pop = q.put_nowait, (q.get if blocking else q.get_nowait)
    else:
        q = _queue_class(impl)("bench", max=None, silent=True)
        add, pop = q.add, (q.pop if blocking else q.pop_one)
    start = _start()
    for i in range(n):
        add(i)
        pop()
    elapsed = _elapsed(start)
    left = q.qsize() if impl == "stdlib" else len(q)
    if left:
        raise RuntimeError("the queue is not empty at the end")
    return {"value": n / elapsed, "unit": "add+pop/s", "seconds": elapsed, "ops": n}


# --- 7. memory ----------------------------------------------------------------
def _bytes_per(make: Callable[[], Any], n: int, settle: float = 0.0) -> float:
    keep: List[Any] = [None] * n
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for i in range(n):
        keep[i] = make()
    if settle:
        time.sleep(settle)  # let a timer thread file what it was given
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return (after - before) / n


def memory_signal(impl: str, p: Dict[str, Any]) -> Dict[str, Any]:
    """Bytes per idle (never fired, never waited) signal."""
    make = threading.Event if impl == "stdlib" else _mo_threads().Signal
    make()
    return {"value": _bytes_per(make, p["n"]), "unit": "bytes"}


def memory_till(impl: str, p: Dict[str, Any]) -> Dict[str, Any]:
    """Bytes per pending Till (object plus its entry in the timer's books)."""
    if impl == "stdlib":
        raise Skip("no stdlib equivalent")
    Till = _mo_threads().Till
    Till(seconds=0.001).wait()
    counter = [0]

    def make() -> Any:
        counter[0] += 1
        return Till(seconds=3600 + counter[0] * 0.001)

    return {"value": _bytes_per(make, p["n"], settle=0.3), "unit": "bytes"}


def memory_thread(impl: str, p: Dict[str, Any]) -> Dict[str, Any]:
    """Python-heap bytes per live thread blocked on its stop signal (OS stack not included)."""
    n = p["n"]
    ready = [0]
    ready_lock = threading.Lock()
    if impl == "stdlib":
        events: List[Any] = []

        def block(event: Any) -> None:
            with ready_lock:
                ready[0] += 1
            event.wait()

        def make() -> Any:
            e = threading.Event()
            events.append(e)
            t = threading.Thread(target=block, args=(e,))
            t.start()
            return t

        def finish(threads: List[Any]) -> None:
            for e in events:
                e.set()
            for t in threads:
                t.join()

    else:
        Thread = _mo_threads().Thread

        def blocked(please_stop: Any) -> None:
            with ready_lock:
                ready[0] += 1
            please_stop.wait()

        def make() -> Any:
            return Thread.run("idle", blocked)

        def finish(threads: List[Any]) -> None:
            for t in threads:
                t.stop()
            for t in threads:
                t.join()

    warm = make()
    _wait_for(lambda: ready[0] == 1)
    finish([warm])
    ready[0] = 0
    keep: List[Any] = [None] * n
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for i in range(n):
        keep[i] = make()
    _wait_for(lambda: ready[0] == n)
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    finish(keep)
    return {"value": (after - before) / n, "unit": "bytes"}


# --- 8. logging off the main thread -------------------------------------------
def logging_program(impl: str, p: Dict[str, Any]) -> Dict[str, Any]:
    """A program that logs heavily and waits on I/O: N lines, a blocking wait of `io_wait` s every `io_every` lines.

    The program handles records in batches of `io_every`: one wait on I/O per
    batch (a query, a request; `time.sleep` here), one log line per record.
    "ours"/"upstream" log through mo-logs' threaded logger (the sink runs on the
    logger's thread); "stdlib" writes through the same mo-logs sink directly on
    the caller's thread. `value` is the whole program, up to `logger.stop()`
    returning with every line on disk; `caller_rate` stops the clock when the
    program has logged its last line (before `logger.stop()`).
    """
    every, pause = p["io_every"], p["io_wait"]

    def program(info: Callable[..., None], n: int) -> None:
        sleep = time.sleep
        for i in range(n):
            info("benchmark line {i} of {n}", i=i, n=n)
            if i % every == every - 1:
                sleep(pause)  # the program's own blocking I/O

    return _logging(impl, p, program)


def logging_burst(impl: str, p: Dict[str, Any]) -> Dict[str, Any]:
    """A loop that does nothing but log: the caller's lines/s (`total` includes the drain)."""

    def program(info: Callable[..., None], n: int) -> None:
        for i in range(n):
            info("benchmark line {i} of {n}", i=i, n=n)

    result = _logging(impl, p, program)
    result["value"] = p["n"] / result["caller"]
    del result["ops"]  # the caller's figure: CPU of the whole process says nothing about it
    return result


def _logging(impl: str, p: Dict[str, Any], program: Callable[[Callable[..., None], int], None]) -> Dict[str, Any]:
    n = p["n"]
    sink = p.get("sink", "file")
    import mo_logs
    from mo_logs import logger

    directory = tempfile.mkdtemp(prefix="mo-threads-bench-")
    path = os.path.join(directory, "bench.log")
    stream = None
    if sink == "file":
        from mo_logs.log_usingFile import StructuredLogger_usingFile

        def make_sink() -> Any:
            return StructuredLogger_usingFile(path)

    else:
        from mo_logs.log_usingStream import StructuredLogger_usingStream

        stream = open(path, "wb")

        def make_sink() -> Any:
            return StructuredLogger_usingStream(stream)

    if impl == "stdlib":
        logger.main_log = make_sink()
    else:
        try:
            from mo_threads import Queue  # noqa: F401  (mo-logs' threaded logger needs it)
        except ImportError as cause:
            raise Skip("mo_threads.Queue is not importable yet (" + str(cause).split(" (")[0] + ")")
        logger.set_logger(make_sink())  # what logger.start(logs=...) does: the sink behind a thread
        kind = type(mo_logs.logger.main_log).__name__
        if kind != "StructuredLogger_usingThread":
            raise RuntimeError("mo-logs did not start its threaded logger (got " + kind + ")")
    start = _start()
    program(logger.info, n)
    caller = perf() - start
    logger.stop()
    total = _elapsed(start)
    if stream is not None:
        stream.close()
    with open(path, "rb") as f:
        lines = sum(1 for _ in f)
    os.remove(path)
    os.rmdir(directory)
    if lines != n:
        raise RuntimeError("wrote " + str(lines) + " lines, expected " + str(n))
    return {
        "value": n / total,
        "unit": "lines/s",
        "caller": caller,
        "caller_rate": n / caller,
        "seconds": total,
        "sink": sink,
        "ops": n,
    }


# --- what a user would pick instead (issue 23): pools, channels, commands ----------
def pool_submit(impl: str, p: Dict[str, Any]) -> Dict[str, Any]:
    """`submit()` then `result()` of N tiny jobs on a pool of `workers` threads."""
    n, workers = p["n"], p["workers"]
    pool = _executor(impl, workers)
    try:
        start = _start()
        futures = [pool.submit(abs, -i) for i in range(n)]
        total = sum(f.result() for f in futures)
        elapsed = _elapsed(start)
    finally:
        pool.shutdown(wait=True)
    if total != n * (n - 1) // 2:
        raise RuntimeError("wrong results")
    return {"value": n / elapsed, "unit": "jobs/s", "seconds": elapsed, "ops": n}


def pool_map(impl: str, p: Dict[str, Any]) -> Dict[str, Any]:
    """`map()` of a tiny function over N items on a pool of `workers` threads."""
    n, workers = p["n"], p["workers"]
    pool = _executor(impl, workers)
    try:
        start = _start()
        total = sum(pool.map(abs, range(-n + 1, 1)))
        elapsed = _elapsed(start)
    finally:
        pool.shutdown(wait=True)
    if total != n * (n - 1) // 2:
        raise RuntimeError("wrong results")
    return {"value": n / elapsed, "unit": "jobs/s", "seconds": elapsed, "ops": n}


def _executor(impl: str, workers: int) -> Any:
    if impl == "stdlib":
        from concurrent.futures import ThreadPoolExecutor

        return ThreadPoolExecutor(workers)
    pool = _mo_threads().ThreadPool(workers)
    if not hasattr(pool, "submit"):
        raise Skip("ThreadPool is not a concurrent.futures Executor in this version")
    return pool


def channel(impl: str, p: Dict[str, Any]) -> Dict[str, Any]:
    """`producers` senders hand N values to `consumers` receivers through a Channel of `capacity`.

    The reference is a `queue.Queue` with the same threads, bounded at the
    capacity (1 for a rendezvous, the tightest bound a `queue.Queue` has).
    """
    n, producers, consumers, capacity = p["n"], p["producers"], p["consumers"], p["capacity"]
    per_producer = n // producers
    received = [0] * consumers
    end = object()
    if impl == "stdlib":
        import queue

        q: Any = queue.Queue(maxsize=max(capacity, 1))
        send, receive = q.put, q.get

        def close() -> None:
            for _ in range(consumers):
                q.put(end)

    else:
        mo_threads = _mo_threads()
        if not hasattr(mo_threads, "Channel"):
            raise Skip("no Channel in this version")
        chan = mo_threads.Channel("bench", capacity=capacity)
        send, receive, end = chan.send, chan.receive, mo_threads.PLEASE_STOP
        close = chan.close

    def consume(i: int) -> None:
        count = 0
        while receive() is not end:
            count += 1
        received[i] = count

    return _drive(per_producer, producers, send, consume, consumers, close, received, "values")


def commands(impl: str, p: Dict[str, Any]) -> Dict[str, Any]:
    """N short commands (`echo`), one after the other; their output read back."""
    n = p["n"]
    if impl == "stdlib":
        import subprocess

        def run(i: int) -> str:
            return subprocess.run("echo " + str(i), shell=True, capture_output=True, text=True).stdout.strip()

    else:
        from mo_threads.commands import Command

        Command("warm up", "true").join()  # the session is started once, outside the timed section

        def run(i: int) -> str:
            command = Command("echo", "echo " + str(i)).join(raise_on_error=True)
            return " ".join(command.stdout)

    start = _start()
    outputs = [run(i) for i in range(n)]
    elapsed = _elapsed(start)
    if outputs != [str(i) for i in range(n)]:
        raise RuntimeError("wrong output: " + repr(outputs[:3]))
    return {"value": n / elapsed, "unit": "commands/s", "seconds": elapsed, "ops": n}


WORKLOADS: Dict[str, Callable[[str, Dict[str, Any]], Dict[str, Any]]] = {
    "queue_1p1c": queue_1p1c,
    "queue_4p4c": queue_4p4c,
    "pingpong": pingpong,
    "till_create": till_create,
    "till_lateness": till_lateness,
    "spawn_join": spawn_join,
    "stop_join": stop_join,
    "lock_handoff": lock_handoff,
    # the same hand-offs with every thread on one CPU (params "cpus": 1, see _pin)
    "pingpong_1cpu": pingpong,
    "lock_handoff_1cpu": lock_handoff,
    "lock_fast": lock_fast,
    "signal_fast": signal_fast,
    "queue_fast": queue_fast,
    "queue_pop_ready": queue_pop_ready,
    "memory_signal": memory_signal,
    "memory_till": memory_till,
    "memory_thread": memory_thread,
    "logging_program": logging_program,
    "logging_io": logging_program,  # the same program, shaped by its parameters (see run.py)
    "logging_burst": logging_burst,
    "pool_submit": pool_submit,
    "pool_map": pool_map,
    "channel_rendezvous": channel,  # capacity 0 (see run.py's parameters)
    "channel_buffered": channel,
    "commands": commands,
}


def _pin(cpus: int) -> None:
    """Run this process (and the threads it starts) on its first `cpus` allowed CPUs.

    On one CPU a woken thread is switched to on the CPU it was woken from: the
    fast way an OS hands control from one thread to another (on a VM, waking a
    thread on another virtual CPU can cost ten times more, and varies from one
    minute to the next). Linux only.
    """
    if not hasattr(os, "sched_setaffinity"):
        raise Skip("needs os.sched_setaffinity (Linux)")
    allowed = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, set(allowed[:cpus]))


def _without_wait_records() -> None:
    """Turn the record of parked waits (`_blocking.begin`/`end`) into no-ops, in Signal and Lock.

    For the "norecord" rows only: what that record, on which dumps, blocking
    statistics and deadlock detection rest, costs a hand-off. The package's
    private names are patched here; nothing else may do this.
    """
    from mo_threads import lock, signals

    def begin(*args: Any, **kwargs: Any) -> None:
        return None

    def end(record: Any) -> None:
        return None

    for module in (lock, signals):
        module._begin_wait = begin  # type: ignore[attr-defined]
        module._end_wait = end  # type: ignore[attr-defined]


def main() -> None:
    name, impl, params = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    if impl == "norecord":
        _without_wait_records()
        impl = "ours"
    origin = _mo_threads().__file__ if impl in ("ours", "baseline", "upstream") else None
    try:
        if params.get("cpus"):
            _pin(params["cpus"])
        # short workloads repeat in-process and the best run stands for them (other
        # work on the machine only ever slows a run down, as with timeit's min)
        runs = []
        for _ in range(params.get("reps", 1)):
            run = WORKLOADS[name](impl, params)
            if "ops" in run:
                run["cpu_seconds"] = _CPU[1] - _CPU[0]  # every thread of the process, timed section only
            runs.append(run)
        result = max(runs, key=lambda run: run["value"])
        if len(runs) > 1:
            result["reps"] = [run["value"] for run in runs]
    except Skip as reason:
        result = {"skipped": str(reason)}
    result["mo_threads"] = origin
    result["python"] = sys.version.split()[0]
    sys.stdout.write("RESULT " + json.dumps(result) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
