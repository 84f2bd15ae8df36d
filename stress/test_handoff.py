"""The issue's 200 runs of each interrupted hand-off (tests/test_handoff.py runs 20)."""

from __future__ import annotations

import pytest

from stress.conftest import size
from tests.test_handoff import KINDS, run_handoff


@pytest.mark.parametrize("kind", KINDS)
def test_200_interrupted_hand_offs_lose_nothing(kind: str) -> None:
    runs = size(200)
    run_handoff(kind, runs, timeout=60 + runs)
