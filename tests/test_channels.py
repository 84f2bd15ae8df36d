"""Tests for mo_threads.channels.Channel: rendezvous, buffer, close with an error, timeouts."""

from __future__ import annotations

import threading
import time
from typing import Any, List

import pytest

from mo_threads import PLEASE_STOP, THREAD_TIMEOUT, Signal, Thread, Till
from mo_threads.channels import Channel, ChannelClosed
from mo_threads.queues import QueueClosed
from tests.helpers import wait_true


def _start(target: Any, *args: Any) -> threading.Thread:
    thread = threading.Thread(target=target, args=args, daemon=True)
    thread.start()
    return thread


class TestChannel:
    def test_rendezvous_send_blocks_until_received(self) -> None:
        channel = Channel("meet")
        sent: List[str] = []
        sender = _start(lambda: (channel.send("hello"), sent.append("done")))
        time.sleep(0.05)
        assert sent == []  # nobody received yet
        assert channel.receive(timeout=10) == "hello"
        sender.join(10)
        assert sent == ["done"]

    def test_rendezvous_receiver_first(self) -> None:
        channel = Channel("meet")
        got: List[Any] = []
        receiver = _start(lambda: got.append(channel.receive(timeout=10)))
        assert wait_true(lambda: channel._receivers)
        channel.send({"a": 1})
        receiver.join(10)
        assert got == [{"a": 1}]

    def test_buffered_send_returns_until_full(self) -> None:
        channel = Channel("buffer", capacity=2)
        channel.send(1)
        channel.send(2)
        assert len(channel) == 2
        with pytest.raises(THREAD_TIMEOUT):
            channel.send(3, till=Till(seconds=0.05))
        assert channel.try_send(3) is False
        assert [channel.receive(), channel.receive()] == [1, 2]
        with pytest.raises(TimeoutError):
            channel.receive(timeout=0.02)

    def test_blocked_sender_moves_into_the_buffer_in_order(self) -> None:
        channel = Channel("buffer", capacity=1)
        channel.send("a")
        sender = _start(lambda: channel.send("b", timeout=10))
        assert wait_true(lambda: channel._senders)
        assert channel.receive() == "a"
        sender.join(10)
        assert channel.receive(timeout=10) == "b"

    def test_timed_out_send_is_not_delivered(self) -> None:
        channel = Channel("meet")
        with pytest.raises(THREAD_TIMEOUT):
            channel.send("lost", timeout=0.02)
        with pytest.raises(THREAD_TIMEOUT):
            channel.receive(timeout=0.02)

    def test_many_senders_and_receivers_deliver_each_value_once(self) -> None:
        channel = Channel("many", capacity=3)
        received: List[int] = []
        lock = threading.Lock()

        def produce(start: int, please_stop: Signal) -> None:
            for i in range(start, start + 200):
                channel.send(i)

        def consume(please_stop: Signal) -> None:
            for value in channel:
                with lock:
                    received.append(value)

        consumers = [Thread.run("consumer", consume) for _ in range(3)]
        producers = [Thread.run("producer", produce, n * 1000) for n in range(4)]
        for producer in producers:
            producer.join()
        channel.close()
        for consumer in consumers:
            consumer.join()
        assert sorted(received) == sorted(n * 1000 + i for n in range(4) for i in range(200))

    def test_close_drains_then_stops(self) -> None:
        channel = Channel("drain", capacity=5)
        channel.send(1)
        channel.send(2)
        channel.close()
        with pytest.raises(ChannelClosed):
            channel.send(3)
        assert list(channel) == [1, 2]
        assert channel.receive() is PLEASE_STOP
        assert channel.receive() is PLEASE_STOP

    def test_sending_please_stop_closes(self) -> None:
        channel = Channel("marker", capacity=1)
        channel.send("a")
        channel.send(PLEASE_STOP)  # does not block on the full buffer: it closes
        assert channel.closed
        assert list(channel) == ["a"]

    def test_close_with_error_is_seen_by_every_receiver(self) -> None:
        channel = Channel("failing")
        problem = ConnectionError("producer lost the database")
        seen: List[BaseException] = []
        lock = threading.Lock()

        def receiver() -> None:
            try:
                channel.receive(timeout=30)
            except BaseException as error:
                with lock:
                    seen.append(error)

        receivers = [_start(receiver) for _ in range(5)]
        assert wait_true(lambda: len(channel._receivers) == 5)
        channel.close(problem)
        for thread in receivers:
            thread.join(10)
        assert len(seen) == 5 and all(error is problem for error in seen)
        with pytest.raises(ConnectionError):
            channel.receive()  # a late receiver sees it too
        with pytest.raises(ConnectionError):
            list(channel)
        assert channel.error is problem

    def test_close_error_comes_after_the_buffered_values(self) -> None:
        channel = Channel("drain", capacity=2)
        channel.send("last words")
        channel.close(ValueError("done badly"))
        assert channel.receive() == "last words"
        with pytest.raises(ValueError, match="done badly"):
            channel.receive()

    def test_close_fails_waiting_senders(self) -> None:
        channel = Channel("meet")
        errors: List[BaseException] = []

        def sender() -> None:
            try:
                channel.send("x", timeout=30)
            except BaseException as error:
                errors.append(error)

        thread = _start(sender)
        assert wait_true(lambda: channel._senders)
        channel.close()
        thread.join(10)
        assert len(errors) == 1 and isinstance(errors[0], ChannelClosed) and isinstance(errors[0], QueueClosed)
        assert channel.receive() is PLEASE_STOP  # the refused value is not delivered

    def test_send_after_close_with_error_names_it(self) -> None:
        channel = Channel("refusing", capacity=1)
        problem = OSError("disk full")
        channel.close(problem)
        for action in (lambda: channel.send(1), lambda: channel.try_send(1)):
            with pytest.raises(ChannelClosed, match="refusing.*OSError") as info:
                action()
            assert info.value.__cause__ is problem
        depths = []
        for _ in range(3):
            with pytest.raises(OSError) as raised:
                channel.receive()
            depths.append(len(list(raised.traceback)))
        assert depths[0] == depths[2]  # re-raising does not grow the traceback

    def test_watch_and_try_receive(self) -> None:
        channel = Channel("watched", capacity=1)
        calls: List[str] = []
        watch = channel.watch(lambda: calls.append("a"))
        other = channel.watch(lambda: calls.append("b"))
        assert channel.try_receive() == (False, None)
        channel.send(1)
        assert sorted(calls) == ["a", "b"]  # every watch is called
        channel.unwatch(watch)
        channel.unwatch(other)
        assert channel.try_receive() == (True, 1)
        late = channel.watch(lambda: calls.append("closed"))
        channel.close()
        assert calls[-1] == "closed"
        channel.unwatch(late)
        assert channel.try_receive() == (True, PLEASE_STOP)
        now = channel.watch(lambda: calls.append("at once"))  # closed: called now
        assert calls[-1] == "at once"
        channel.unwatch(now)

    def test_please_stop_cuts_a_receive(self) -> None:
        channel = Channel("idle")

        def wait(please_stop: Signal) -> str:
            try:
                channel.receive(till=please_stop)
            except TimeoutError:
                return "stopped"
            return "received"

        thread = Thread.run("waiter", wait)
        assert wait_true(lambda: channel._receivers)
        thread.stop()
        assert thread.join() == "stopped"

    def test_bad_arguments(self) -> None:
        with pytest.raises(ValueError):
            Channel("bad", capacity=-1)
        with pytest.raises(TypeError):
            Channel("bad", capacity=1.5)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            Channel("ok").receive(till=3)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            Channel("ok").close("not an exception")  # type: ignore[arg-type]
