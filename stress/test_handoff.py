"""The issue's 200 runs of each interrupted hand-off, and of each signal held through one (tests/test_handoff.py runs 20 and 10)."""

from __future__ import annotations

import pytest

from stress.conftest import size
from tests.test_handoff import HELD_KINDS, KINDS, run_handoff


@pytest.mark.parametrize("kind", KINDS)
def test_200_interrupted_hand_offs_lose_nothing(kind: str) -> None:
    runs = size(200)
    run_handoff(kind, runs, timeout=60 + runs)


@pytest.mark.parametrize("kind", HELD_KINDS)
def test_200_signals_held_through_a_hand_off_lose_nothing(kind: str) -> None:
    runs = size(200)
    run_handoff(kind, runs, 60 + runs, "--held")


@pytest.mark.parametrize("kind", HELD_KINDS)
def test_200_signals_to_an_application_handler_held_through_a_hand_off_lose_nothing(kind: str) -> None:
    runs = size(200)
    run_handoff(kind, runs, 60 + runs, "--held", "--foreign")
