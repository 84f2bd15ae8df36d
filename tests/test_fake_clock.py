from __future__ import annotations

import time

import pytest

from mo_threads import Till
from mo_threads import till as till_module
from mo_threads.testing import fake_clock


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
        real = till_module._time
        with fake_clock() as clock:
            assert till_module._time is not real
            clock.advance(1000)
        assert till_module._time is real
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
