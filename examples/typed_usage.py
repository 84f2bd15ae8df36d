"""A small program using the mo_threads API with full type annotations.

`make lint` checks it with `mypy --strict`: it shows what a typed caller sees
(`Queue[int]`, `Future[str]`, awaitable Signals), and runs as a plain script.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from typing import List

from mo_threads import PLEASE_STOP, Future, Queue, Signal, Thread, Till, aio, stop_main_thread


def produce(queue: Queue[int], count: int, please_stop: Signal) -> None:
    """Add `count` numbers to `queue`, then close it; stop early when asked."""
    for i in range(count):
        if please_stop:
            break
        queue.add(i)
    queue.close()


def consume(queue: Queue[int], please_stop: Signal) -> int:
    """Sum the numbers of `queue` until it is closed and drained."""
    total = 0
    while True:
        item = queue.pop(till=please_stop)
        if item is None or item is PLEASE_STOP:
            return total
        total += item


def threads_and_futures() -> int:
    """Threads joined for their results, and futures bridged to concurrent.futures."""
    queue: Queue[int] = Queue("numbers")
    producer = Thread.run("producer", produce, queue, 100)
    consumer = Thread.run("consumer", consume, queue)
    producer.join()
    total: int = consumer.join()

    answer: Future[str] = Future()
    stdlib_view: concurrent.futures.Future[str] = answer.to_concurrent()
    answer.assign("forty-two")
    text: str = stdlib_view.result(timeout=10)

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as executor:
        doubled: Future[int] = Future.from_concurrent(executor.submit(lambda: total * 2))
        ready: Signal = Signal.from_future(executor.submit(len, text))
        ready.wait(timeout=10)
        return doubled.wait(timeout=10)


def blocking_work(seconds: float, please_stop: Signal) -> str:
    """Wait `seconds` (or until asked to stop) on a mo_threads Thread."""
    (please_stop | Till(seconds=seconds)).wait()
    return "stopped" if please_stop else "done"


async def with_asyncio() -> List[str]:
    """Await Signals, Tills, a queue and a thread without blocking the event loop."""
    results: List[str] = []
    signal = Signal("ready")
    Thread.run("setter", lambda please_stop: signal.go())
    if await signal:
        results.append("signal")
    await Till(seconds=0.01)
    queue: Queue[str] = Queue("words")
    queue.add("hello")
    word = await queue.async_pop()
    results.append(str(word))
    results.append(await aio.run_in_thread("worker", blocking_work, 0.01))
    return results


def main() -> None:
    """Run both halves and print what came back."""
    try:
        print(threads_and_futures())
        print(asyncio.run(with_asyncio()))
    finally:
        stop_main_thread()


if __name__ == "__main__":
    main()
