"""A hand-off interrupted by a real SIGINT loses nothing (issue 20): Queue, PriorityQueue, Lock, Channel, Semaphore, wait_any.

Each case runs tests/handoff.py in a child interpreter with a hard timeout: the main
thread parks first in line, a second thread behind it, and a third hands one thing
over (an item, room, the lock, a wake-up, a value) and sends SIGINT at once. The
stress suite runs the same with 200 runs each.
"""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from tests.helpers import PYPY_SIGNAL_AFTER_HAND_OFF, REPO, child_env, program_lines

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="POSIX signals needed")

KINDS = [
    "queue-pop",
    "queue-add",
    "lock-acquire",
    "lock-wait",
    "channel-receive",
    # added with the blocking-call contract (tests/test_blocking_contract.py)
    "priority-queue-pop",
    "priority-queue-add",
    "queue-get",
    "queue-put",
    "semaphore-acquire",
    "wait-any-queue",
]


def run_handoff(kind: str, runs: int, timeout: float) -> None:
    """Run `runs` hand-offs of `kind` in a child; fail with what it printed when one lost something."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.handoff", kind, str(runs)],
        cwd=REPO,
        env=child_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert program_lines(done.stdout) == ["ok " + str(runs)], done.stdout + done.stderr


@PYPY_SIGNAL_AFTER_HAND_OFF
@pytest.mark.parametrize("kind", KINDS)
def test_an_interrupted_hand_off_loses_nothing(kind: str) -> None:
    run_handoff(kind, 20, timeout=50)
