from __future__ import annotations

import asyncio
import sys
import time
from typing import Any, List

import pytest

from mo_threads import Repeat, Signal, Thread, ThreadTimeout, Till
from mo_threads import till as till_module
from mo_threads.channels import Channel
from mo_threads.groups import ThreadGroup
from mo_threads.processes import Process
from mo_threads.testing import fake_clock
from tests.helpers import wait_true


class TestFakeClock:
    def test_one_hour_till_fires_instantly(self) -> None:
        start = time.time()
        with fake_clock() as clock:
            hour = Till(seconds=3600)
            assert not hour
            clock.advance(3600)
            assert _wait_real(hour)
        assert time.time() - start < 30

    def test_not_due_does_not_fire_early(self) -> None:
        with fake_clock() as clock:
            hour = Till(seconds=3600)
            clock.advance(1800)
            time.sleep(0.2)
            assert not hour
            clock.advance(1800)
            assert _wait_real(hour)

    def test_leaving_restores_real_time(self) -> None:
        real = till_module._monotonic, till_module._wall
        assert real == (time.monotonic, time.time)
        with fake_clock() as clock:
            assert till_module._monotonic is not real[0] and till_module._wall is not real[1]
            clock.advance(1000)
        assert (till_module._monotonic, till_module._wall) == real
        assert abs(Till(seconds=0).deadline - time.time()) < 60

    def test_negative_advance_raises(self) -> None:
        with fake_clock() as clock:
            with pytest.raises(ValueError):
                clock.advance(-1)

    def test_not_reentrant_and_clock_restored_after_refusal(self) -> None:
        with fake_clock() as clock:
            with pytest.raises(RuntimeError, match="already active"):
                with fake_clock():
                    pass
            hour = Till(seconds=3600)
            clock.advance(3600)
            assert hour.wait(timeout=10)
        assert Till(seconds=0.01).wait(timeout=10)  # the real clock is back

    def test_set_clock_refuses_a_non_function(self) -> None:
        with pytest.raises(TypeError, match="set_clock"):
            till_module.set_clock(12.0)  # type: ignore[arg-type]


def _wait_real(signal: Till, seconds: float = 10) -> bool:
    end = time.monotonic() + seconds
    while not signal and time.monotonic() < end:
        time.sleep(0.01)
    return bool(signal)


# Timeouts built on Till's clock: each must fire by the fake time, to the second.
# Every wait in these tests is bounded in real time, and whatever they start is
# stopped in a `finally`, so a regression fails instead of hanging.

REAL_WAIT = 10  # seconds of real time a due timer gets to fire (it takes milliseconds)
SETTLE = 0.2  # seconds of real time in which a timer that is not due must stay quiet


def _idle(please_stop: Signal) -> bool:
    """A thread body that ends when asked to, or after 30 real seconds at worst."""
    return please_stop.wait(timeout=30)


class TestDeadlinesFollowTheFakeClock:
    def test_thread_deadline(self) -> None:
        with fake_clock() as clock:
            thread = Thread.run("bounded by the fake hour", _idle, deadline=3600)
            try:
                clock.advance(3599)
                time.sleep(SETTLE)
                assert not thread.please_stop
                clock.advance(1)
                assert thread.please_stop.wait(timeout=REAL_WAIT)
                assert thread.stopped.wait(timeout=REAL_WAIT)
            finally:
                thread.stop()
        assert thread.join(till=Till(seconds=REAL_WAIT)) is True

    def test_repeat_every(self) -> None:
        calls: List[float] = []
        with fake_clock() as clock:
            repeat = Repeat(lambda: calls.append(clock.now()), every=3600, start=True)
            try:
                clock.advance(3599)
                time.sleep(SETTLE)
                assert calls == []
                clock.advance(1)
                assert wait_true(lambda: len(calls) == 1, timeout=REAL_WAIT)
                clock.advance(3600)  # the next tick keeps to the fake schedule too
                assert wait_true(lambda: len(calls) == 2, timeout=REAL_WAIT)
            finally:
                repeat.please_stop.go()
        repeat.stop()

    def test_group_member_deadline_inside_group_deadline(self) -> None:
        with fake_clock() as clock:
            with ThreadGroup("fake two hours", deadline=7200) as group:
                member = group.run("fake hour", _idle, deadline=3600)
                clock.advance(3599)
                time.sleep(SETTLE)
                assert not member.please_stop
                clock.advance(1)
                assert member.please_stop.wait(timeout=REAL_WAIT)  # its own deadline, by the fake clock
                assert not group.please_stop and not group.timed_out
                idle = group.run("till the group's deadline", _idle)
                clock.advance(3599)
                time.sleep(SETTLE)
                assert not idle.please_stop
                clock.advance(1)
                assert group.please_stop.wait(timeout=REAL_WAIT)
            assert group.timed_out

    def test_process_silence_timeout(self, log: Any) -> None:
        with fake_clock() as clock:
            process = Process(
                "quiet for a fake hour",
                [sys.executable, "-c", "import time; time.sleep(60)"],
                timeout=3600,
                startup_timeout=0,  # killed startup_timeout + timeout after the start
            )
            try:
                clock.advance(3599)
                time.sleep(SETTLE)
                assert not process.exited
                clock.advance(1)
                assert process.stopped.wait(timeout=REAL_WAIT)  # killed for its silence
            finally:
                process.kill()
        with pytest.raises(RuntimeError, match="without output"):
            process.join(till=Till(seconds=REAL_WAIT))

    def test_channel_receive_till(self) -> None:
        outcome: List[Any] = []
        channel: Channel[int] = Channel("nobody sends")

        def receiver(please_stop: Signal) -> None:
            try:
                outcome.append(channel.receive(till=Till(seconds=3600) | please_stop))
            except ThreadTimeout as cause:
                outcome.append(cause)

        with fake_clock() as clock:
            thread = Thread.run("receiver", receiver)
            try:
                clock.advance(3599)
                time.sleep(SETTLE)
                assert outcome == []
                clock.advance(1)
                assert wait_true(lambda: outcome, timeout=REAL_WAIT)
                assert isinstance(outcome[0], ThreadTimeout) and not thread.please_stop
            finally:
                thread.stop()
        thread.join(till=Till(seconds=REAL_WAIT))

    def test_channel_async_receive_timeout(self) -> None:
        channel: Channel[int] = Channel("nobody sends")

        async def receive() -> Any:
            return await channel.async_receive(timeout=3600)

        with fake_clock() as clock:
            loop = asyncio.new_event_loop()
            task = loop.create_task(receive())
            try:
                loop.run_until_complete(asyncio.sleep(SETTLE))  # real time: the receive is parked
                clock.advance(3599)
                loop.run_until_complete(asyncio.sleep(SETTLE))
                assert not task.done()
                clock.advance(1)
                done, _ = loop.run_until_complete(asyncio.wait([task], timeout=REAL_WAIT))
                assert task in done
                with pytest.raises(ThreadTimeout):
                    task.result()
            finally:
                channel.close()  # a receive still parked returns PLEASE_STOP
                loop.run_until_complete(asyncio.wait([task], timeout=REAL_WAIT))
                loop.close()
