"""Sizes for the stress suite: the issue's figures times STRESS_SCALE (default 1)."""

from __future__ import annotations

import os


def scale() -> float:
    """STRESS_SCALE, a positive number (0.01 for a smoke run)."""
    value = float(os.environ.get("STRESS_SCALE", "1"))
    if not value > 0:
        raise ValueError("STRESS_SCALE must be a positive number, not " + repr(value))
    return value


def size(full: int, least: int = 1) -> int:
    """`full` (the issue's size) times STRESS_SCALE, at least `least`."""
    return max(least, int(full * scale()))
