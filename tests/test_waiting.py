"""Tests for mo_threads.waiting.wait_any over Signals, Queues, Channels, Futures and Threads."""

from __future__ import annotations

import sys
import threading
import time
from typing import Any, List

import pytest

from mo_threads import PLEASE_STOP, THREAD_TIMEOUT, Future, Queue, Signal, Thread, Till
from mo_threads import _blocking, waiting
from mo_threads.channels import Channel
from mo_threads.waiting import Fired, wait_any
from tests.helpers import wait_true


def _later(seconds: float, action: Any) -> threading.Thread:
    def run() -> None:
        time.sleep(seconds)
        action()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _sleep_until_stopped(please_stop: Signal) -> str:
    please_stop.wait()
    return "done"


class TestWaitAny:
    def test_queue_signal_and_thread(self) -> None:
        queue = Queue("inbox")
        signal = Signal("alarm")
        worker = Thread.run("worker", _sleep_until_stopped)
        try:
            # nothing ready: gives up
            with pytest.raises(THREAD_TIMEOUT):
                wait_any(queue, signal, worker, till=Till(seconds=0.05))

            _later(0.05, lambda: queue.add("letter"))
            fired = wait_any(queue, signal, worker, timeout=10)
            assert fired == Fired(queue, "letter") and fired.source is queue
            assert len(queue) == 0  # taken

            _later(0.05, signal.go)
            assert wait_any(queue, signal, worker, timeout=10) == (signal, None)

            worker.stop()
            assert wait_any(queue, worker, timeout=10).source is worker
        finally:
            worker.stop()
            worker.join()

    def test_first_ready_in_argument_order_wins(self) -> None:
        a, b = Signal("a"), Signal("b")
        a.go()
        b.go()
        assert wait_any(b, a).source is b
        queue = Queue("q")
        queue.add(1)
        assert wait_any(a, queue).source is a
        assert len(queue) == 1  # not taken: the queue did not win

    def test_channel_and_future(self) -> None:
        channel = Channel("ch")
        future = Future()
        _later(0.05, lambda: channel.send("over the channel"))
        assert wait_any(future, channel, timeout=10) == (channel, "over the channel")
        _later(0.05, lambda: future.assign(7))
        assert wait_any(channel, future, timeout=10).source is future

    def test_closed_sources(self) -> None:
        queue = Queue("q")
        queue.close()
        assert wait_any(queue, timeout=1) == (queue, PLEASE_STOP)
        channel = Channel("ch")
        _later(0.05, lambda: channel.close(KeyError("gone")))
        with pytest.raises(KeyError):
            wait_any(channel, timeout=10)

    def test_a_wake_up_not_used_is_passed_on_to_a_consumer(self) -> None:
        queue = Queue("shared")
        other = Signal("other")
        got: List[Any] = []
        consumer = threading.Thread(target=lambda: got.append(queue.pop(timeout=30)), daemon=True)
        results: List[Any] = []
        selector = threading.Thread(target=lambda: results.append(wait_any(other, queue, timeout=10)), daemon=True)
        selector.start()
        assert wait_true(lambda: len(queue._getters) == 1)
        consumer.start()
        assert wait_true(lambda: len(queue._getters) == 2)
        # fire the signal and add an item "at once": the queue wakes the selector (first parked)
        other.then(lambda: queue.add("item"))
        other.go()
        selector.join(10)
        consumer.join(5)
        queue.close()  # frees the consumer if the test failed
        assert results and results[0].source is other
        assert got == ["item"]  # the consumer was woken at once, though the queue woke the selector

    def test_no_waiters_left_behind(self) -> None:
        queue, signal, channel = Queue("q"), Signal("s"), Channel("c")
        for _ in range(3):
            with pytest.raises(TimeoutError):
                wait_any(queue, signal, channel, timeout=0.01)
        assert not queue._getters and not signal._waiters and not signal._jobs and not channel._watchers

    def test_queue_closed_with_an_error_raises_it(self) -> None:
        queue = Queue("failed")
        queue.add(1)
        queue.close(ConnectionError("producer gone"))
        assert wait_any(Signal("never"), queue, timeout=5).item == 1
        with pytest.raises(ConnectionError):
            wait_any(Signal("never"), queue, timeout=5)

    def test_a_queued_none_is_an_item(self) -> None:
        # a None added to the queue is returned, not taken as "nothing ready" and lost
        queue = Queue("nones")
        queue.add(None)
        assert wait_any(Signal("never"), queue, timeout=5) == Fired(queue, None)
        assert len(queue) == 0
        # woken by the add of a None while waiting
        _later(0.05, lambda: queue.add(None))
        assert wait_any(queue, timeout=5) == Fired(queue, None)
        # after a None, the next item is still there
        queue.extend([None, "after"])
        assert wait_any(queue, timeout=5).item is None
        assert wait_any(queue, timeout=5).item == "after"
        with pytest.raises(THREAD_TIMEOUT):
            wait_any(queue, timeout=0.01)

    def test_bad_arguments(self) -> None:
        with pytest.raises(ValueError):
            wait_any()
        with pytest.raises(TypeError):
            wait_any("not a source")
        with pytest.raises(TypeError):
            wait_any(Signal(), till=0.5)  # type: ignore[arg-type]


class TestModuleNames:
    def test_no_module_shadows_the_stdlib(self) -> None:
        # python_worker.py runs as a script, so mo_threads/ is first on its sys.path: a module
        # named like a stdlib one (select.py) would replace it for everything the worker imports
        import os

        import mo_threads

        names = getattr(sys, "stdlib_module_names", None)
        if names is None:
            pytest.skip("sys.stdlib_module_names needs Python 3.10")
        folder = os.path.dirname(mo_threads.__file__)
        modules = {name[:-3] for name in os.listdir(folder) if name.endswith(".py")}
        assert not modules & set(names)


class TestInterruptedAfterTheTake:
    """An exception raised once wait_any took a Queue's item or a Channel's value (on PyPy's main
    thread, a held signal handler run just before wait_any returns) gives it back (issue 20)."""

    @staticmethod
    def _interrupt_after_the_take(monkeypatch: Any, before_give_back: Any) -> None:
        resume = waiting.resume_signals

        def resume_then_raise(pass_on: Any = None, value: Any = None) -> None:
            resume()  # on PyPy the handlers are held since the wake-up: the test must not keep them
            if value is not None:  # the take: give it back, as a held handler's exception does
                before_give_back()
                pass_on(value)
                raise KeyboardInterrupt

        monkeypatch.setattr(waiting, "resume_signals", resume_then_raise)

    @staticmethod
    def _source(kind: str) -> Any:
        return Queue("taken", silent=True) if kind == "queue" else Channel("taken")

    @staticmethod
    def _hand_over(source: Any) -> threading.Thread:
        # once wait_any is parked: a Channel's send returns only once the value was taken
        main = threading.get_ident()

        def hand() -> None:
            assert wait_true(lambda: _blocking.blocked_on(main) is not None)
            (source.add if isinstance(source, Queue) else source.send)("precious")

        return _later(0, hand)

    @pytest.mark.parametrize("kind", ["queue", "channel"])
    def test_the_next_receive_gets_it(self, kind: str, monkeypatch: Any) -> None:
        source = self._source(kind)
        self._interrupt_after_the_take(monkeypatch, lambda: None)
        sender = self._hand_over(source)
        with pytest.raises(KeyboardInterrupt):
            wait_any(source, timeout=10)
        sender.join(10)
        receive = source.pop if kind == "queue" else source.receive
        assert receive(timeout=5) == "precious"

    @pytest.mark.parametrize("kind", ["queue", "channel"])
    def test_a_parked_receiver_gets_it(self, kind: str, monkeypatch: Any) -> None:
        source = self._source(kind)
        got: List[Any] = []
        parked: List[threading.Thread] = []

        def park_a_receiver() -> None:
            receive = source.pop if kind == "queue" else source.receive
            thread = _later(0, lambda: got.append(receive(timeout=10)))
            assert wait_true(lambda: _blocking.blocked_on(thread.ident) is not None)
            parked.append(thread)

        self._interrupt_after_the_take(monkeypatch, park_a_receiver)
        sender = self._hand_over(source)
        with pytest.raises(KeyboardInterrupt):
            wait_any(source, timeout=10)
        sender.join(10)
        parked[0].join(10)
        assert got == ["precious"]
