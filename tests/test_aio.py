"""Tests for asyncio interop: await Signal / Till, Queue.async_pop, mo_threads.aio."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, List

import pytest

from mo_threads import aio
from mo_threads.channels import Channel
from mo_threads.queues import PriorityQueue, Queue
from mo_threads.signals import DONE, Signal
from mo_threads.threads import PLEASE_STOP, Thread, ThreadTimeout
from mo_threads.till import Till


def _run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 30))


async def _ticker(ticks: List[int], stop: asyncio.Event) -> None:
    while not stop.is_set():
        ticks.append(1)
        await asyncio.sleep(0.005)


class TestAwaitSignal:
    def test_signal_set_from_thread_while_loop_runs(self) -> None:
        async def main() -> Any:
            signal = Signal("from thread")
            ticks: List[int] = []
            stop = asyncio.Event()
            ticker = asyncio.ensure_future(_ticker(ticks, stop))
            timer = threading.Timer(0.2, signal.go)
            timer.start()
            got = await signal
            stop.set()
            await ticker
            timer.join()
            return got, len(ticks)

        got, ticks = _run(main())
        assert got is True
        assert ticks >= 2  # the loop ran other tasks while waiting

    def test_done_signal_returns_at_once(self) -> None:
        async def main() -> bool:
            return await DONE

        assert _run(main()) is True

    def test_await_till(self) -> None:
        async def main() -> float:
            start = time.monotonic()
            assert await Till(seconds=0.1) is True
            return time.monotonic() - start

        assert _run(main()) >= 0.05

    def test_await_combination(self) -> None:
        async def main() -> bool:
            a, b = Signal("a"), Signal("b")
            threading.Timer(0.05, b.go).start()
            await (a | b)
            return bool(b) and not a

        assert _run(main())

    def test_cancel_removes_callback(self) -> None:
        signal = Signal("never fired")

        async def main() -> None:
            task = asyncio.ensure_future(_await(signal))
            await asyncio.sleep(0.05)
            assert signal._jobs  # the wake-up callback is registered
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

        _run(main())
        assert not signal._jobs
        signal.go()  # nothing left to call

    def test_outside_event_loop_raises(self) -> None:
        with pytest.raises(RuntimeError):
            Signal("x").__await__().send(None)

    def test_aio_wait_with_till(self) -> None:
        async def main() -> Any:
            return await aio.wait(Signal("late"), till=Till(seconds=0.05)), await aio.wait(DONE)

        assert _run(main()) == (False, True)


async def _await(signal: Signal) -> bool:
    return await signal


class TestAsyncPop:
    def test_consume_from_thread(self) -> None:
        queue: Queue[int] = Queue("numbers")

        def produce(please_stop: Signal) -> None:
            for i in range(200):
                queue.add(i)
                if i % 50 == 0:
                    time.sleep(0.01)
            queue.close()

        async def main() -> List[int]:
            got: List[int] = []
            ticks: List[int] = []
            stop = asyncio.Event()
            ticker = asyncio.ensure_future(_ticker(ticks, stop))
            producer = Thread.run("producer", produce)
            while True:
                item = await queue.async_pop()
                if item is PLEASE_STOP:
                    break
                got.append(item)
            stop.set()
            await ticker
            producer.join()
            return got

        assert _run(main()) == list(range(200))

    def test_priority_queue(self) -> None:
        queue: PriorityQueue[str] = PriorityQueue("urgent first", numpriorities=2)

        async def main() -> List[Any]:
            waiting = asyncio.ensure_future(queue.async_pop())
            await asyncio.sleep(0.02)
            queue.add("first", priority=1)
            queue.add("low", priority=1)
            queue.add("high", priority=0)
            return [await waiting, await queue.async_pop(), await queue.async_pop()]

        # the waiting task resumes only once the loop runs again, after all three adds
        assert _run(main()) == ["high", "first", "low"]

    def test_till_gives_none(self) -> None:
        async def main() -> Any:
            return await aio.pop(Queue("empty"), till=Till(seconds=0.05))

        assert _run(main()) is None

    def test_cancelled_pop_hands_item_on(self) -> None:
        queue: Queue[str] = Queue("shared")

        async def main() -> Any:
            first = asyncio.ensure_future(queue.async_pop())
            await asyncio.sleep(0.02)
            second = asyncio.ensure_future(queue.async_pop())
            await asyncio.sleep(0.02)
            first.cancel()
            queue.add("item")
            with pytest.raises(asyncio.CancelledError):
                await first
            return await second

        assert _run(main()) == "item"

    def test_two_consumers_and_thread_consumer(self) -> None:
        queue: Queue[int] = Queue("mixed")
        total = 300
        taken_by_thread: List[int] = []

        def consume(please_stop: Signal) -> None:
            while True:
                item = queue.pop()
                if item is PLEASE_STOP:
                    return
                taken_by_thread.append(item)

        async def consumer(out: List[int]) -> None:
            while True:
                item = await queue.async_pop()
                if item is PLEASE_STOP:
                    return
                out.append(item)

        async def main() -> List[int]:
            a: List[int] = []
            b: List[int] = []
            thread = Thread.run("consumer", consume)
            tasks = [asyncio.ensure_future(consumer(a)), asyncio.ensure_future(consumer(b))]
            await asyncio.sleep(0.01)
            await aio.run_in_thread("producer", lambda please_stop: [queue.add(i) for i in range(total)])
            queue.close()
            await asyncio.gather(*tasks)
            thread.join()
            return a + b

        got = _run(main())
        assert sorted(got + taken_by_thread) == list(range(total))


class TestReceive:
    def test_receive_from_thread(self) -> None:
        channel = Channel("values", capacity=2)

        def send(please_stop: Signal) -> None:
            for i in range(20):
                channel.send(i)
            channel.close()

        async def main() -> List[int]:
            got: List[int] = []
            thread = Thread.run("sender", send)
            while True:
                value = await aio.receive(channel)
                if value is PLEASE_STOP:
                    break
                got.append(value)
            thread.join()
            return got

        assert _run(main()) == list(range(20))

    def test_async_receive_rendezvous(self) -> None:
        channel: Channel[str] = Channel("rendezvous")

        def send(please_stop: Signal) -> None:
            for word in ("a", "b", "c"):
                channel.send(word, timeout=10)

        async def main() -> List[str]:
            thread = Thread.run("sender", send)
            got = [await channel.async_receive(timeout=10) for _ in range(3)]
            thread.join()
            return got

        assert _run(main()) == ["a", "b", "c"]

    def test_async_receive_close_error(self) -> None:
        channel: Channel[int] = Channel("failing", capacity=1)
        channel.send(1)
        channel.close(ValueError("gone"))

        async def main() -> Any:
            first = await channel.async_receive()
            with pytest.raises(ValueError):
                await channel.async_receive()
            return first

        assert _run(main()) == 1

    def test_async_receive_till(self) -> None:
        async def main() -> None:
            with pytest.raises(ThreadTimeout):
                await Channel("quiet").async_receive(till=Till(seconds=0.05))

        _run(main())

    def test_receive_timeout(self) -> None:
        async def main() -> None:
            with pytest.raises(ThreadTimeout):
                await aio.receive(Channel("quiet"), timeout=0.05)

        _run(main())


class TestRunInThread:
    def test_result_and_loop_keeps_running(self) -> None:
        def blocking(x: int, please_stop: Signal, y: int = 0) -> int:
            time.sleep(0.1)
            return x + y

        async def main() -> Any:
            ticks: List[int] = []
            stop = asyncio.Event()
            ticker = asyncio.ensure_future(_ticker(ticks, stop))
            result = await aio.run_in_thread("adder", blocking, 2, y=3)
            stop.set()
            await ticker
            return result, len(ticks)

        result, ticks = _run(main())
        assert result == 5
        assert ticks >= 2

    def test_failure_raised(self) -> None:
        def fail(please_stop: Signal) -> None:
            raise ValueError("broken")

        async def main() -> None:
            await aio.run_in_thread("failing", fail)

        with pytest.raises(Exception) as info:
            _run(main())
        assert "broken" in str(info.value) or isinstance(info.value.__cause__, ValueError)

    def test_cancel_stops_thread(self) -> None:
        started = threading.Event()
        ended = threading.Event()

        def worker(please_stop: Signal) -> str:
            started.set()
            please_stop.wait(timeout=30)
            ended.set()
            return "stopped" if please_stop else "timed out"

        async def main() -> None:
            task = asyncio.ensure_future(aio.run_in_thread("cancelled", worker))
            while not started.is_set():
                await asyncio.sleep(0.01)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

        _run(main())
        assert ended.wait(10)  # please_stop fired and the thread returned
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(t.name == "cancelled" for t in threading.enumerate()):
            time.sleep(0.01)
        assert not any(t.name == "cancelled" for t in threading.enumerate())

    def test_target_must_take_please_stop(self) -> None:
        async def main() -> None:
            await aio.run_in_thread("bad", lambda: None)

        with pytest.raises(TypeError, match="please_stop"):
            _run(main())
