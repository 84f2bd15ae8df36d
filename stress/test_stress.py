"""The stress suite (`make stress`; not part of `make test`).

Sizes are the issue's figures times STRESS_SCALE (default 1): 10,000 threads started and
joined in waves; 1,000,000 items through a bounded multi-producer/multi-consumer Queue and
1,000,000 through a ThreadedQueue into a sink (exactly once, in order per producer);
100,000 live Tills with random deadlines, all firing, none early, in deadline order. Beyond
the issue: 100,000 ThreadPool jobs, and 150,000 values through rendezvous and buffered Channels.
Each test prints what it held and how long it took (never asserted: speed is for benchmarks/).
"""

from __future__ import annotations

import random
import threading
import time
from typing import Any, List, Tuple

import pytest

from mo_threads import PLEASE_STOP, Queue, Signal, Thread, ThreadedQueue, Till, current_thread
from stress.conftest import size

SLOW = pytest.mark.timeout(900)


def report(capsys: Any, text: str) -> None:
    with capsys.disabled():
        print("\n  stress: " + text)


def no_threads_left(before: set, seconds: float = 30) -> None:
    deadline = time.time() + seconds
    while True:
        extra = [t for t in threading.enumerate() if t not in before and not t.name.startswith("mo-threads")]
        if not extra:
            return
        assert time.time() < deadline, "threads left running: " + repr(extra[:10])
        time.sleep(0.01)


@SLOW
def test_threads_started_and_joined_in_waves(capsys: Any) -> None:
    total = size(10_000, 10)
    wave = min(500, total)
    before = set(threading.enumerate())
    parent = current_thread()
    children_before = list(parent.children)

    def work(i: int, gate: Signal, please_stop: Signal) -> int:
        gate.wait()  # the whole wave is alive at once
        return i * 2

    start = time.time()
    done = 0
    peak = 0
    while done < total:
        count = min(wave, total - done)
        gate = Signal("wave")
        threads = [Thread.run("wave thread " + str(done + i), work, done + i, gate) for i in range(count)]
        peak = max(peak, threading.active_count())
        gate.go()
        results = [thread.join(till=Till(seconds=120)) for thread in threads]
        assert results == [2 * (done + i) for i in range(count)]
        assert all(thread.stopped for thread in threads)
        done += count
    elapsed = time.time() - start
    assert done == total
    assert list(parent.children) == children_before  # every joined thread left the tree
    no_threads_left(before)
    report(capsys, "%d threads in waves of %d (peak %d OS threads) in %.1f s" % (total, wave, peak, elapsed))


def check_per_producer_order(sequence: List[Tuple[int, int]], producers: int) -> None:
    last = [-1] * producers
    for producer, number in sequence:
        assert number > last[producer], "producer %d: %d came after %d" % (producer, number, last[producer])
        last[producer] = number


@SLOW
def test_bounded_mpmc_queue(capsys: Any) -> None:
    items = size(1_000_000, 100)
    producers, consumers, bound = 4, 4, 1000
    per_producer = items // producers
    queue = Queue("stress mpmc", max=bound, silent=True)
    received: List[List[Tuple[int, int]]] = [[] for _ in range(consumers)]
    peak = [0]

    def produce(p: int, please_stop: Signal) -> None:
        add = queue.add
        for n in range(per_producer):
            add((p, n))

    def consume(c: int, please_stop: Signal) -> None:
        got = received[c]
        append, pop = got.append, queue.pop
        while True:
            item = pop()
            if item is PLEASE_STOP:
                return
            append(item)
            if len(queue) > peak[0]:
                peak[0] = len(queue)

    start = time.time()
    consuming = [Thread.run("consumer " + str(c), consume, c) for c in range(consumers)]
    producing = [Thread.run("producer " + str(p), produce, p) for p in range(producers)]
    for thread in producing:
        thread.join(till=Till(seconds=600))
    queue.close()
    for thread in consuming:
        thread.join(till=Till(seconds=600))
    elapsed = time.time() - start

    total = sum(len(r) for r in received)
    assert total == per_producer * producers  # nothing lost, nothing doubled
    everything = set()
    for got in received:
        everything.update(got)
        check_per_producer_order(got, producers)  # each consumer sees each producer's items in order
    assert len(everything) == total
    assert peak[0] <= bound  # add() never took the queue past max
    report(
        capsys,
        "%d items, %d producers -> Queue(max=%d) -> %d consumers in %.1f s (%.0f items/s), exactly once, in order per producer"
        % (total, producers, bound, consumers, elapsed, total / elapsed),
    )


@SLOW
def test_threaded_queue_into_a_sink(capsys: Any) -> None:
    items = size(1_000_000, 100)
    producers = 4
    per_producer = items // producers

    class Sink:
        def __init__(self) -> None:
            self.items: List[Tuple[int, int]] = []
            self.batches = 0
            self.stopped = False

        def extend(self, batch: List[Any]) -> None:
            self.batches += 1
            self.items.extend(batch)

        def add(self, value: Any) -> None:
            assert value is PLEASE_STOP
            self.stopped = True

    sink = Sink()
    start = time.time()
    threaded = ThreadedQueue("stress sink", sink, batch_size=5000, max_size=20000, period=0.1, silent=True)

    def produce(p: int, please_stop: Signal) -> None:
        add = threaded.add
        for n in range(per_producer):
            add((p, n))

    producing = [Thread.run("producer " + str(p), produce, p) for p in range(producers)]
    for thread in producing:
        thread.join(till=Till(seconds=600))
    threaded.stop()  # delivers everything, then PLEASE_STOP
    elapsed = time.time() - start

    assert sink.stopped
    assert len(sink.items) == per_producer * producers
    assert len(set(sink.items)) == len(sink.items)  # exactly once
    check_per_producer_order(sink.items, producers)  # in order per producer
    report(
        capsys,
        "%d items, %d producers -> ThreadedQueue -> sink in %d batches in %.1f s (%.0f items/s), exactly once, in order"
        % (len(sink.items), producers, sink.batches, elapsed, len(sink.items) / elapsed),
    )


@SLOW
def test_live_tills_fire_on_time_and_in_order(capsys: Any) -> None:
    count = size(100_000, 100)
    spread = 5.0  # seconds over which the deadlines are spread
    rng = random.Random(13)
    fired: List[Tuple[int, float]] = []
    record = fired.append
    clock = time.time

    # deadlines start `lead` seconds from now, when (on most machines) every Till is made; one
    # made after its deadline is done at once, and is left out of the order check below
    lead = max(2.0, count * 3e-5)  # 3 s per 100,000: about twice what making them takes here
    start = clock()
    tills = []
    pending = []  # whether each was still pending once made (its deadline not yet passed)
    for i in range(count):
        till = Till(till=start + lead + rng.random() * spread)
        till.then(lambda i=i: record((i, clock())))
        tills.append(till)  # live: every one is referenced
        pending.append(not till)
    made = clock() - start
    last = Till(till=max(t.deadline for t in tills) + 0.05)
    assert last.wait(timeout=lead + spread + 120)
    deadline = clock() + 30
    while len(fired) < count and clock() < deadline:
        time.sleep(0.01)

    assert len(fired) == count, "%d of %d Tills fired" % (len(fired), count)
    assert all(tills)
    assert len({i for i, _ in fired}) == count  # each once
    early = [(i, at, tills[i].deadline) for i, at in fired if at < tills[i].deadline]
    assert not early, "fired before the deadline: " + repr(early[:5])
    # a Till whose deadline passed while it was made is done at once; every other fires in deadline order
    assert sum(pending) >= count // 2, "the machine is too slow for this test: most deadlines passed while making them"
    deadlines = [tills[i].deadline for i, _ in fired if pending[i]]
    assert all(a <= b for a, b in zip(deadlines, deadlines[1:])), "not in deadline order"
    lateness = sorted(at - tills[i].deadline for i, at in fired)
    worst, p99, median = lateness[-1], lateness[int(0.99 * (count - 1))], lateness[count // 2]
    assert worst < 10, "a Till fired %.1f s late" % worst  # on time, generously: the machine may be loaded
    report(
        capsys,
        "%d live Tills (made in %.2f s, %d still pending once made) over %.0f s: none early, in deadline order;"
        " lateness median %.1f ms, p99 %.1f ms, max %.1f ms"
        % (count, made, sum(pending), spread, median * 1000, p99 * 1000, worst * 1000),
    )


@SLOW
def test_thread_pool_jobs(capsys: Any) -> None:
    from mo_threads import ThreadPool

    jobs = size(100_000, 100)

    def square(x: int, please_stop: Signal) -> int:
        return x * x

    start = time.time()
    with ThreadPool(8, name="stress pool") as pool:
        handles = [pool.run("job", square, i) for i in range(jobs)]
    results = [handle.join() for handle in handles]
    elapsed = time.time() - start
    assert results == [i * i for i in range(jobs)]
    report(capsys, "%d jobs through ThreadPool(8) in %.1f s, every result back" % (jobs, elapsed))


@SLOW
@pytest.mark.parametrize("capacity", [0, 16])
def test_channel_mpmc(capsys: Any, capacity: int) -> None:
    from mo_threads import Channel

    values = size(150_000, 60)
    senders, receivers = 3, 3
    per_sender = values // senders
    channel = Channel("stress channel", capacity)
    received: List[List[Tuple[int, int]]] = [[] for _ in range(receivers)]

    def send(s: int, please_stop: Signal) -> None:
        for n in range(per_sender):
            channel.send((s, n), timeout=120)

    def receive(r: int, please_stop: Signal) -> None:
        received[r].extend(channel)  # until closed and drained

    start = time.time()
    receiving = [Thread.run("receiver " + str(r), receive, r) for r in range(receivers)]
    sending = [Thread.run("sender " + str(s), send, s) for s in range(senders)]
    for thread in sending:
        thread.join(till=Till(seconds=600))
    channel.close()
    for thread in receiving:
        thread.join(till=Till(seconds=600))
    elapsed = time.time() - start
    everything = [pair for got in received for pair in got]
    assert len(everything) == len(set(everything)) == per_sender * senders
    for got in received:
        check_per_producer_order(got, senders)
    report(
        capsys,
        "%d values, %d senders -> Channel(capacity=%d) -> %d receivers in %.1f s, exactly once, in order per sender"
        % (len(everything), senders, capacity, receivers, elapsed),
    )
