"""Semaphore and Channel park through `_parking` (issue 20, point 1): what is handed over is never lost nor given twice.

A waiter is interrupted at the moment of the hand-off by an exception thrown into
it (`PyThreadState_SetAsyncExc`, set while it is parked: CPython raises it as soon
as the thread runs again, inside the wait). The permit or value it was handed goes
to the next in line, or back where the next caller finds it. The real-SIGINT
version of the same scenarios is tests/test_handoff.py.
"""

from __future__ import annotations

import _thread
import ctypes
import threading
import time
from typing import Any, Callable, List

import pytest

from mo_threads import PLEASE_STOP, Channel, Signal, Till
from mo_threads._blocking import blocked_on
from mo_threads._parking import NOT_HANDED, HandOffLot, ParkingLot
from mo_threads.sync import BoundedSemaphore, Semaphore
from tests.handoff import parked
from tests.helpers import cpython_only, wait_true

PATIENCE = 5.0  # a waiter behind: waiting that long means the hand-off was lost


class Thrown(Exception):
    """The exception thrown into a parked waiter."""


def throw_into(thread: threading.Thread) -> None:
    """Have `thread` raise `Thrown` as soon as it runs Python code again."""
    assert thread.ident is not None
    done = ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident), ctypes.py_object(Thrown))
    assert done == 1


class Waiter:
    """A thread that calls `call()` once, keeping what it returned or raised."""

    def __init__(self, call: Callable[[], Any]) -> None:
        self.got: List[Any] = []
        self.raised: List[BaseException] = []

        def run() -> None:
            try:
                self.got.append(call())
            except BaseException as error:  # the thrown one included
                self.raised.append(error)

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        assert self.thread.ident is not None
        parked(self.thread.ident)

    def join(self) -> None:
        self.thread.join(PATIENCE * 2)
        assert not self.thread.is_alive()


THROWN_IN = cpython_only("exceptions thrown into a parked thread need ctypes.pythonapi")


@THROWN_IN
class TestSemaphoreHandOff:
    @pytest.mark.parametrize("kind", [Semaphore, BoundedSemaphore])
    def test_an_interrupted_waiter_passes_the_permit_to_the_next(self, kind: Any) -> None:
        semaphore = Semaphore(0, "handoff") if kind is Semaphore else BoundedSemaphore(1, "handoff")
        if kind is BoundedSemaphore:
            assert semaphore.acquire()
        first = Waiter(semaphore.acquire)
        second = Waiter(lambda: semaphore.acquire(till=Till(seconds=PATIENCE)))
        throw_into(first.thread)
        started = time.monotonic()
        semaphore.release()
        first.join()
        second.join()
        if first.raised:
            assert isinstance(first.raised[0], Thrown)
            assert second.got == [True]
            assert time.monotonic() - started < PATIENCE / 2  # handed on at once, not at its till
        else:
            assert first.got == [True]  # it kept the permit: the second timed out
            assert second.got == [False]
        assert semaphore.value == 0

    def test_an_interrupted_last_waiter_gives_the_permit_back(self) -> None:
        semaphore = Semaphore(0, "handoff")
        first = Waiter(semaphore.acquire)
        throw_into(first.thread)
        semaphore.release()
        first.join()
        if first.raised:
            assert semaphore.value == 1
            assert semaphore.acquire(blocking=False)
        else:
            assert first.got == [True] and semaphore.value == 0

    def test_a_released_permit_goes_to_the_waiter_not_to_a_newcomer(self) -> None:
        semaphore = Semaphore(0, "fair")
        first = Waiter(semaphore.acquire)
        semaphore.release()
        assert semaphore.acquire(blocking=False) is False  # handed to the waiter: no barging
        first.join()
        assert first.got == [True] and semaphore.value == 0

    def test_release_n_serves_the_waiters_in_order_then_counts(self) -> None:
        semaphore = Semaphore(0, "many")
        waiters = [Waiter(semaphore.acquire) for _ in range(3)]
        semaphore.release(5)
        for waiter in waiters:
            waiter.join()
            assert waiter.got == [True]
        assert semaphore.value == 2

    def test_a_waiter_that_gave_up_takes_nothing(self) -> None:
        semaphore = Semaphore(0, "gave up")
        assert semaphore.acquire(timeout=0.01) is False
        assert semaphore.acquire(till=Till(seconds=0.01)) is False
        semaphore.release()
        assert semaphore.value == 1


@THROWN_IN
class TestChannelHandOff:
    def test_an_interrupted_receiver_passes_the_value_to_the_next(self) -> None:
        channel: Channel[str] = Channel("handoff")
        first = Waiter(channel.receive)
        second = Waiter(lambda: channel.receive(till=Till(seconds=PATIENCE)))
        throw_into(first.thread)
        channel.send("precious")
        first.join()
        second.join()
        if first.raised:
            assert isinstance(first.raised[0], Thrown)
            assert second.got == ["precious"]
        else:
            assert first.got == ["precious"] and not second.got
        assert channel.try_receive() == (False, None)  # delivered once

    def test_an_interrupted_last_receiver_leaves_the_value_in_the_channel(self) -> None:
        channel: Channel[str] = Channel("handoff")
        first = Waiter(channel.receive)
        throw_into(first.thread)
        channel.send("precious")
        first.join()
        if first.raised:
            assert channel.try_receive() == (True, "precious")
        else:
            assert first.got == ["precious"]
        assert channel.try_receive() == (False, None)

    def test_a_sender_interrupted_once_its_value_was_taken_delivered_it_once(self) -> None:
        channel: Channel[str] = Channel("handoff")
        sender = Waiter(lambda: channel.send("precious"))
        throw_into(sender.thread)
        assert channel.receive(timeout=PATIENCE) == "precious"
        sender.join()
        assert sender.got == [None] or isinstance(sender.raised[0], Thrown)
        assert channel.try_receive() == (False, None)

    def test_a_sender_interrupted_before_its_value_was_taken_withdraws_it(self) -> None:
        channel: Channel[str] = Channel("handoff")
        sender = Waiter(lambda: channel.send("withdrawn"))
        throw_into(sender.thread)
        # it runs Python code again only when woken: close() wakes it
        channel.close()
        sender.join()
        assert len(sender.raised) == 1
        assert channel.try_receive() == (True, PLEASE_STOP)  # the withdrawn value is not in it

    def test_senders_and_receivers_in_line_are_served_in_order(self) -> None:
        channel: Channel[int] = Channel("order", capacity=1)
        channel.send(0)
        senders = [Waiter(lambda n=n: channel.send(n)) for n in range(1, 4)]
        assert [channel.receive(timeout=PATIENCE) for _ in range(4)] == [0, 1, 2, 3]
        for sender in senders:
            sender.join()
            assert sender.got == [None]
        receivers = [Waiter(channel.receive) for _ in range(3)]
        for n in range(3):
            channel.send(n)
        for n, receiver in enumerate(receivers):
            receiver.join()
            assert receiver.got == [n]

    def test_a_wait_is_recorded_once_as_a_channel_wait(self) -> None:
        channel: Channel[str] = Channel("recorded")
        receiver = Waiter(channel.receive)
        assert receiver.thread.ident is not None
        found = blocked_on(receiver.thread.ident)
        assert found is not None and found[0] == "Channel" and found[1] is channel
        channel.send("x")
        receiver.join()
        assert wait_true(lambda: blocked_on(receiver.thread.ident) is None)  # type: ignore[arg-type]


class Interrupted:
    """An outer lock whose next acquire() raises `Thrown` once armed: a second Ctrl-C while a woken thread takes it again."""

    def __init__(self) -> None:
        self.lock = _thread.allocate_lock()
        self.armed = False

    def acquire(self) -> bool:
        if self.armed:
            self.armed = False
            raise Thrown()
        return self.lock.acquire()  # type: ignore[no-any-return]

    def release(self) -> None:
        self.lock.release()


def parked_in(lot: Any, count: int) -> None:
    assert wait_true(lambda: len(lot) == count)


class TestRetakingTheLock:
    """Rule 8 of _parking: interrupted while taking `outer` again, a woken thread still holds it on the way out and loses nothing."""

    def run_pair(self, lot: Any, park: Callable[[Any], Any], serve: Callable[[], Any]) -> List[Any]:
        outer = Interrupted()
        results: List[Any] = []

        def waiter() -> None:
            outer.acquire()
            try:
                results.append(park(outer))
            except Thrown:
                results.append(("thrown, holding outer", outer.lock.locked()))
            finally:
                outer.release()

        first = threading.Thread(target=waiter, daemon=True)
        first.start()
        parked_in(lot, 1)
        second = threading.Thread(target=waiter, daemon=True)
        second.start()
        parked_in(lot, 2)
        with outer.lock:  # as the primitives serve: under their lock
            outer.armed = True  # the first woken raises as it takes it again
            serve()
        for thread in (first, second):
            thread.join(PATIENCE)
            assert not thread.is_alive()
        return results

    def test_a_parking_lot_wake_up_goes_on(self) -> None:
        lot = ParkingLot()
        results = self.run_pair(lot, lambda outer: lot.park(outer, Till(seconds=PATIENCE)), lot.unpark)
        assert results == [("thrown, holding outer", True), True]

    def test_a_hand_off_lot_value_goes_on(self) -> None:
        lot = HandOffLot()
        given_back: List[Any] = []
        results = self.run_pair(
            lot,
            lambda outer: lot.park(outer, Till(seconds=PATIENCE), None, None, given_back.append),
            lambda: lot.hand("precious"),
        )
        assert results == [("thrown, holding outer", True), "precious"]
        assert not given_back

    def test_a_hand_off_lot_value_given_back_with_nobody_behind(self) -> None:
        lot = HandOffLot()
        outer = Interrupted()
        given_back: List[Any] = []
        results: List[Any] = []

        def waiter() -> None:
            outer.acquire()
            try:
                results.append(lot.park(outer, None, None, None, given_back.append))
            except Thrown:
                results.append("thrown")
            finally:
                outer.release()

        thread = threading.Thread(target=waiter, daemon=True)
        thread.start()
        parked_in(lot, 1)
        outer.armed = True
        with outer.lock:
            assert lot.hand("precious")
        thread.join(PATIENCE)
        assert results == ["thrown"] and given_back == ["precious"]

    def test_a_hand_off_lot_wait_cut_short_gets_nothing(self) -> None:
        lot = HandOffLot()
        outer = Interrupted()
        with outer.lock:
            assert lot.park(outer, Till(seconds=0.01)) is NOT_HANDED
            assert lot.park(outer, None, time.monotonic() + 0.01) is NOT_HANDED
            assert not lot


class RaisingTill(Signal):
    """A till that raises as a waiter registers with it: an exception (a Ctrl-C) at the instant a thread gets in line."""

    __slots__ = ()

    def _add_waiter(self, waiter: Any) -> bool:
        raise Thrown()


class TestInterruptedGettingInLine:
    """Rule 3 of _parking: a thread interrupted before it sleeps leaves nothing in the line to swallow a later hand-off."""

    def test_semaphore(self) -> None:
        semaphore = Semaphore(0, "in line")
        with pytest.raises(Thrown):
            semaphore.acquire(till=RaisingTill("raises"))
        semaphore.release()
        assert semaphore.value == 1  # not handed to a place nobody waits at

    def test_channel_receive(self) -> None:
        channel: Channel[str] = Channel("in line")
        with pytest.raises(Thrown):
            channel.receive(till=RaisingTill("raises"))
        assert channel.try_send("precious") is False  # no receiver waits: the value is not taken

    def test_channel_send(self) -> None:
        channel: Channel[str] = Channel("in line")
        with pytest.raises(Thrown):
            channel.send("withdrawn", till=RaisingTill("raises"))
        assert channel.try_receive() == (False, None)

    @pytest.mark.parametrize("kind", [ParkingLot, HandOffLot])
    def test_the_lots(self, kind: Any) -> None:
        lot = kind()
        outer = _thread.allocate_lock()
        with outer:
            with pytest.raises(Thrown):
                lot.park(outer, RaisingTill("raises"))
            assert outer.locked()  # held again on the way out, as on every way out
        assert not lot

    def test_a_parking_lot_ready_that_raises(self) -> None:
        lot = ParkingLot()
        outer = _thread.allocate_lock()

        def ready() -> bool:
            raise Thrown()

        with outer:
            with pytest.raises(Thrown):
                lot.park(outer, None, None, ready)
            assert outer.locked()
        assert not lot
