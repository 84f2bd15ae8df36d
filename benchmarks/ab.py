"""Paired A/B: the repo's mo_threads against itself at a baseline commit, both in one process.

    .venv/bin/python benchmarks/ab.py REF [--only lock_fast,queue_1p1c] [--pairs 30] [--cpus 1]

`run.py` gives every implementation a child process of its own, so the speed
regimes of a shared VM (they change from one minute to the next) fall between
the two sides of a ratio, and a few percent is lost in the noise. Here the
baseline's package (`git archive REF`, the same extraction as run.py's
`--baseline`) is copied as `mo_threads_at_<commit>` with its imports rewritten,
so both packages live in this process. The workloads of `workloads.py` run
side by side, alternating (the order swapped every pair); each pair gives a
ratio ours/baseline, and the median of the pair ratios is reported with the
spread between the quartiles. Only workloads that reach the package through
`_mo_threads()` are offered. `--cpus 1` pins the process to one CPU (for the
`*_1cpu` rows; those take their parameters from the pinned rows of run.py).

Both packages start their own timer and main-thread machinery; that costs
nothing while they are idle and is the same for both sides.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import sys
from types import ModuleType
from typing import Any, Dict, List, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE), HERE]

import run  # noqa: E402  (benchmarks/run.py: the baseline extraction and the parameters)
import workloads  # noqa: E402

PAIRED = ("lock_fast", "signal_fast", "queue_fast", "queue_pop_ready", "queue_1p1c", "queue_4p4c", "pingpong", "lock_handoff")
PINNED = {"pingpong": "pingpong_1cpu", "lock_handoff": "lock_handoff_1cpu"}


def renamed_baseline(ref: str) -> Tuple[ModuleType, str]:
    """Import mo_threads as of `ref` under a name of its own; returns (package, description)."""
    path, description = run.ensure_baseline(ref)
    if path is None:
        raise SystemExit("no baseline: " + description)
    name = "mo_threads_at_" + os.path.basename(path)
    target = os.path.join(run.BASELINE_DIR, "renamed", name)
    if not os.path.isdir(target):
        partial = target + ".partial"
        shutil.rmtree(partial, ignore_errors=True)
        shutil.copytree(os.path.join(path, "mo_threads"), partial)
        for folder, _, files in os.walk(partial):
            for file in files:
                if file.endswith(".py"):
                    full = os.path.join(folder, file)
                    with open(full, encoding="utf8") as f:
                        text = f.read()
                    with open(full, "w", encoding="utf8") as f:
                        f.write(re.sub(r"\bmo_threads\b", name, text))
        os.rename(partial, target)
    sys.path.insert(0, os.path.dirname(target))
    return __import__(name), description


def one(name: str, package: ModuleType, params: Dict[str, Any]) -> float:
    workloads._mo_threads = lambda: package  # type: ignore[attr-defined]
    workloads._queue_class = lambda impl: package.Queue  # type: ignore[attr-defined]
    best = max(workloads.WORKLOADS[name]("ours", params)["value"] for _ in range(params.get("reps", 1)))
    return float(best)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("ref", help="the baseline commit")
    parser.add_argument("--only", default=",".join(PAIRED), help="comma-separated workloads (default: all offered)")
    parser.add_argument("--pairs", type=int, default=30)
    parser.add_argument("--cpus", type=int, default=0, help="pin to this many CPUs (1 for the *_1cpu rows)")
    args = parser.parse_args()
    names = [n for n in args.only.split(",") if n]
    unknown = [n for n in names if n not in PAIRED]
    if unknown:
        raise SystemExit("not offered here: " + ", ".join(unknown) + " (offered: " + ", ".join(PAIRED) + ")")
    if args.cpus:
        workloads._pin(args.cpus)
    import mo_threads as ours

    baseline, description = renamed_baseline(args.ref)
    print("ours: " + os.path.dirname(ours.__file__) + "\nbaseline: " + description)
    print("%-20s %12s %12s  %-28s" % ("workload", "ours", "baseline", "ours/baseline, median of pairs [quartiles]"))
    for name in names:
        params = dict(run.PARAMS[PINNED.get(name, name) if args.cpus else name])
        params.pop("cpus", None)
        params.pop("upstream", None)
        sides: Dict[str, List[float]] = {"ours": [], "baseline": []}
        ratios = []
        for i in range(args.pairs):
            order = [("ours", ours), ("baseline", baseline)]
            got = {side: one(name, package, params) for side, package in (order if i % 2 else order[::-1])}
            for side, value in got.items():
                sides[side].append(value)
            ratios.append(got["ours"] / got["baseline"])
        low, mid, high = statistics.quantiles(ratios, n=4)
        print(
            "%-20s %12.4g %12.4g  %.3fx [%.3f..%.3f]"
            % (name, statistics.median(sides["ours"]), statistics.median(sides["baseline"]), mid, low, high)
        )
        sys.stdout.flush()
    ours.stop_main_thread()
    baseline.stop_main_thread()


if __name__ == "__main__":
    main()
