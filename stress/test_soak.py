"""Soak: SIGINT/SIGTERM at many random moments in the running pipeline of tests/test_faults.py.

`size(20)` runs (times STRESS_SCALE), alternating the two ways of stopping (in order, as
examples/index_tree.py does, and parked in wait_for_shutdown_signal) and the two signals, each
after a random delay of up to 1.5 s. Every run must end with status 0, write no item twice, and
lose no item it had queued.
"""

from __future__ import annotations

import os
import random
import signal
from typing import Any

import pytest

from stress.conftest import size
from tests.test_faults import check_sink_output, run_pipeline


@pytest.mark.timeout(900)
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="POSIX signals needed")
def test_signals_at_random_moments(capsys: Any) -> None:
    runs = size(20, 2)
    seed = int(os.environ.get("SOAK_SEED", "2026"))
    rng = random.Random(seed)
    written = 0
    for run in range(runs):
        mode = ("ordered", "shutdown")[run % 2]
        signum = (signal.SIGINT, signal.SIGTERM)[(run // 2) % 2]
        delay = rng.uniform(0, 1.5)
        what = "run %d (seed %d): %s, %s after %.3f s" % (run, seed, mode, signal.Signals(signum).name, delay)
        result, out, record = run_pipeline(mode, signum, delay)
        assert result.returncode == 0, what + "\n" + result.stdout + result.stderr
        pairs = check_sink_output(out)
        if mode == "ordered":
            done = {n for _, n in pairs}
            missing = [n for n in (int(line) for line in record) if n not in done]
        else:
            done_pairs = set(pairs)
            missing = [line for line in record if tuple(int(x) for x in line.split()) not in done_pairs]
        assert not missing, what + ": %d queued items lost, e.g. %r" % (len(missing), missing[:5])
        written += len(pairs)
    with capsys.disabled():
        print("\n  stress: %d pipeline runs stopped by SIGINT/SIGTERM at random moments, %d items written, none lost or doubled" % (runs, written))
