"""Benchmark mo_threads against the standard library and upstream mo-threads, side by side.

    python benchmarks/run.py            # full run (about 7 minutes on 2 cores)
    python benchmarks/run.py --quick    # about 1.5 minutes, fewer rounds and items
    python benchmarks/run.py --only queue_1p1c,pingpong --rounds 3
    python benchmarks/run.py --baseline HEAD~3   # ours vs ours at another commit

Up to four implementations do each workload (see `workloads.py`), each in its
own child process, because they all import as `mo_threads`:

    ours      this interpreter, PYTHONPATH = the repo root
    stdlib    this interpreter, the standard library doing the same work
    upstream  mo-threads==6.704.26062 from PyPI in benchmarks/.upstream-venv
              (made on first use), with the repo kept off sys.path
    norecord  ours with the record of parked waits turned into no-ops (what
              dumps and deadlock detection cost a hand-off; information only)
    baseline  this interpreter, the repo's mo_threads at the commit given by
              --baseline (default abc5e58, before deadlock detection),
              extracted with `git archive` into benchmarks/.baseline/<commit>

Rounds interleave the implementations (the order rotates each round) so that
machine drift hits them all alike. Every figure is a ratio taken within one
round, reported as min / median / max over the rounds; a target is met when
the median meets it.

Writes benchmarks/results.json and benchmarks/results.png (needs matplotlib,
the `bench` extra), and prints the table.
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from typing import Any, Dict, List, Optional, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
WORKLOADS = os.path.join(HERE, "workloads.py")
UPSTREAM_SPEC = "mo-threads==6.704.26062"
UPSTREAM_VENV = os.path.join(HERE, ".upstream-venv")
BASELINE_DIR = os.path.join(HERE, ".baseline")
# the last commit before deadlock detection (issue 10): its fast paths are the reference
BASELINE_REF = "abc5e58"
BASELINE_NOTES = {"abc5e5810742": "before deadlock detection"}
CHILD_TIMEOUT = 180.0

# workload -> parameters (full run); per-implementation overrides under the impl's name
PARAMS: Dict[str, Dict[str, Any]] = {
    "queue_1p1c": {"n": 50000, "reps": 3},
    "queue_4p4c": {"n": 20000, "bound": 100, "reps": 3},
    "pingpong": {"n": 3000, "reps": 9},
    "till_create": {"n": 20000, "reps": 3},
    "till_lateness": {"n": 200, "upstream": {"n": 20}},
    "spawn_join": {"n": 300, "reps": 3, "upstream": {"n": 100}},
    "stop_join": {"n": 300, "reps": 3},
    "lock_handoff": {"n": 3000, "reps": 9, "upstream": {"n": 1500}},
    # the same, every thread pinned to one CPU: the OS's fast hand-off (see workloads._pin)
    "pingpong_1cpu": {"n": 10000, "reps": 9, "cpus": 1},
    "lock_handoff_1cpu": {"n": 10000, "reps": 9, "cpus": 1, "upstream": {"n": 5000}},
    # fast paths: one thread, nothing to wait for; each repetition takes 50-150 ms
    "lock_fast": {"n": 300000, "reps": 5},
    "signal_fast": {"n": 500000, "reps": 5},
    "queue_fast": {"n": 100000, "reps": 5},
    "queue_pop_ready": {"n": 100000, "reps": 5},
    "memory_signal": {"n": 20000},
    "memory_till": {"n": 10000},
    "memory_thread": {"n": 100},
    # mo-logs' threaded logger writes a batch every 0.3 s, and logger.stop() takes 0.3-0.9 s more
    # (it waits out that period twice): a program must run a few seconds to amortise it.
    # logging_io: a program logging for about 12 s: batches of 50 records, one 2.5 ms I/O
    # wait per batch, a line per record
    "logging_io": {"n": 120000, "io_every": 50, "io_wait": 0.0025},
    # the earlier shape (kept for information): a 1 ms wait every 10 lines
    "logging_program": {"n": 20000, "io_every": 10, "io_wait": 0.001},
    "logging_burst": {"n": 5000},
    # what a user would pick instead: concurrent.futures, queue.Queue, subprocess.run
    "pool_submit": {"n": 20000, "workers": 4, "reps": 3},
    "pool_map": {"n": 20000, "workers": 4, "reps": 3},
    "channel_rendezvous": {"n": 20000, "producers": 2, "consumers": 2, "capacity": 0, "reps": 3},
    "channel_buffered": {"n": 50000, "producers": 2, "consumers": 2, "capacity": 64, "reps": 3},
    "commands": {"n": 200},
}
QUICK_SCALE = 0.3
QUICK_MIN_N = {
    "till_lateness": 60,
    "stop_join": 300,
    "memory_thread": 50,
    "logging_program": 6000,
    "logging_io": 12000,
}

# which implementations each workload runs (ours first; the rest are references)
IMPLS: Dict[str, List[str]] = {
    "queue_1p1c": ["ours", "stdlib", "upstream", "baseline"],
    "queue_4p4c": ["ours", "stdlib", "upstream", "baseline"],
    "pingpong": ["ours", "stdlib", "upstream", "raw", "baseline"],
    "till_create": ["ours", "upstream"],
    "stop_join": ["ours", "stdlib", "upstream", "baseline"],
    "lock_handoff": ["ours", "stdlib", "upstream", "baseline"],
    "pingpong_1cpu": ["ours", "stdlib", "upstream", "raw", "norecord", "baseline"],
    "lock_handoff_1cpu": ["ours", "stdlib", "upstream", "norecord", "baseline"],
    "lock_fast": ["ours", "baseline", "stdlib"],
    "signal_fast": ["ours", "baseline", "stdlib"],
    "queue_fast": ["ours", "baseline", "stdlib"],
    "queue_pop_ready": ["ours", "baseline", "stdlib"],
    "memory_till": ["ours", "upstream"],
    "logging_program": ["ours", "stdlib"],
    "pool_submit": ["ours", "stdlib"],
    "pool_map": ["ours", "stdlib"],
    "channel_rendezvous": ["ours", "stdlib"],
    "channel_buffered": ["ours", "stdlib"],
    "commands": ["ours", "stdlib"],
}
DEFAULT_IMPLS = ["ours", "stdlib", "upstream"]

REF_NAMES = {
    "queue_1p1c": {"stdlib": "queue.Queue"},
    "queue_4p4c": {"stdlib": "queue.Queue"},
    "pingpong": {"stdlib": "threading.Event", "raw": "bare _thread lock (OS wake-up limit)"},
    "till_lateness": {"stdlib": "time.sleep"},
    "spawn_join": {"stdlib": "threading.Thread"},
    "stop_join": {"stdlib": "threading.Event per thread"},
    "lock_handoff": {"stdlib": "threading.Condition"},
    "pingpong_1cpu": {
        "stdlib": "threading.Event",
        "raw": "bare _thread lock (OS wake-up limit)",
        "norecord": "ours without wait records",
    },
    "lock_handoff_1cpu": {"stdlib": "threading.Condition", "norecord": "ours without wait records"},
    "lock_fast": {"stdlib": "threading.Lock"},
    "signal_fast": {"stdlib": "threading.Event (set)"},
    "queue_fast": {"stdlib": "queue.Queue (put_nowait, get_nowait)"},
    "queue_pop_ready": {"stdlib": "queue.Queue (put_nowait, get)"},
    "memory_signal": {"stdlib": "threading.Event"},
    "memory_thread": {"stdlib": "threading.Thread + Event"},
    "logging_program": {"stdlib": "direct writes"},
    "logging_io": {"stdlib": "direct writes", "upstream": "upstream threaded"},
    "logging_burst": {"stdlib": "direct writes", "upstream": "upstream threaded"},
    "pool_submit": {"stdlib": "ThreadPoolExecutor"},
    "pool_map": {"stdlib": "ThreadPoolExecutor"},
    "channel_rendezvous": {"stdlib": "queue.Queue(maxsize=1)"},
    "channel_buffered": {"stdlib": "queue.Queue(maxsize=64)"},
    "commands": {"stdlib": "subprocess.run"},
}

# (workload, label, reference impl, kind, statistic, target)
#   kind "higher": ratio ours/ref, target is a minimum
#   kind "lower":  ratio ours/ref, target is a maximum
#   kind "diff":   ours - ref (in the unit), target is a maximum
#   target None:   shown for information
ROWS: List[Tuple[str, str, str, str, str, Optional[float]]] = [
    ("queue_1p1c", "Queue 1P/1C add->pop", "stdlib", "higher", "value", 2.5),
    ("queue_1p1c", "Queue 1P/1C add->pop", "upstream", "higher", "value", 4.0),
    ("queue_4p4c", "Queue 4P x 4C, max=100", "stdlib", "higher", "value", 2.5),
    ("queue_4p4c", "Queue 4P x 4C, max=100", "upstream", "higher", "value", 4.0),
    ("pingpong", "Signal ping-pong", "stdlib", "higher", "value", 1.0),
    ("pingpong", "Signal ping-pong", "upstream", "higher", "value", 1.0),
    ("pingpong", "Signal ping-pong", "raw", "higher", "value", None),
    ("till_create", "Till creation", "upstream", "higher", "value", 1.5),
    ("till_lateness", "Till lateness 1-10 ms, median", "stdlib", "diff", "value", 0.5),
    ("till_lateness", "Till lateness 1-10 ms, p99", "stdlib", "diff", "p99", 2.0),
    ("till_lateness", "Till lateness 1-10 ms, median", "upstream", "diff", "value", None),
    ("spawn_join", "Thread.run().join()", "stdlib", "higher", "value", 0.6),
    ("spawn_join", "Thread.run().join()", "upstream", "higher", "value", None),
    ("stop_join", "stop+join 300 blocked threads", "upstream", "higher", "value", 1.0),
    ("stop_join", "stop+join 300 blocked threads", "stdlib", "higher", "value", None),
    # until the OS threads have exited too (the join of upstream returns before its thread ends)
    ("stop_join", "stop+join 300 blocked threads, until the threads are gone", "upstream", "higher", "gone_rate", None),
    ("stop_join", "stop+join 300 blocked threads, until the threads are gone", "stdlib", "higher", "gone_rate", None),
    ("lock_handoff", "Lock hand-off with wait()", "stdlib", "higher", "value", 1.0),
    ("lock_handoff", "Lock hand-off with wait()", "upstream", "higher", "value", 1.0),
    ("pingpong_1cpu", "Signal ping-pong, one CPU", "stdlib", "higher", "value", 1.0),
    ("pingpong_1cpu", "Signal ping-pong, one CPU", "upstream", "higher", "value", 1.0),
    ("pingpong_1cpu", "Signal ping-pong, one CPU", "raw", "higher", "value", None),
    # what the record of each parked wait (dumps, deadlock detection) costs a hand-off
    ("pingpong_1cpu", "Signal ping-pong, one CPU", "norecord", "higher", "value", None),
    ("lock_handoff_1cpu", "Lock hand-off with wait(), one CPU", "stdlib", "higher", "value", 1.0),
    ("lock_handoff_1cpu", "Lock hand-off with wait(), one CPU", "upstream", "higher", "value", 1.0),
    ("lock_handoff_1cpu", "Lock hand-off with wait(), one CPU", "norecord", "higher", "value", None),
    ("memory_signal", "memory per idle Signal", "upstream", "lower", "value", 0.75),
    ("memory_signal", "memory per idle Signal", "stdlib", "lower", "value", None),
    ("memory_till", "memory per pending Till", "upstream", "lower", "value", 1.0),
    ("memory_thread", "memory per live Thread", "upstream", "lower", "value", None),
    ("memory_thread", "memory per live Thread", "stdlib", "lower", "value", None),
    ("logging_io", "logging program (I/O-bound), until logger.stop()", "stdlib", "higher", "value", 1.1),
    ("logging_io", "logging program (I/O-bound), until logger.stop()", "upstream", "higher", "value", None),
    ("logging_io", "logging program (I/O-bound), until its last line", "stdlib", "higher", "caller_rate", None),
    ("logging_program", "logging program, earlier shape (1 ms wait / 10 lines)", "stdlib", "higher", "value", None),
    ("logging_burst", "logging burst, caller lines/s", "stdlib", "higher", "value", None),
    ("logging_burst", "logging burst, caller lines/s", "upstream", "higher", "value", None),
    # what a user would pick instead (issue 23)
    ("pool_submit", "ThreadPool submit()+result(), 4 workers", "stdlib", "higher", "value", 1.0),
    ("pool_map", "ThreadPool map(), 4 workers", "stdlib", "higher", "value", 1.0),
    ("channel_rendezvous", "Channel rendezvous 2P x 2C", "stdlib", "higher", "value", 1.0),
    ("channel_buffered", "Channel capacity=64 2P x 2C", "stdlib", "higher", "value", 1.0),
    ("commands", "Command, 200 short commands in a reused shell", "stdlib", "higher", "value", 3.0),
    # what recording blocked waits (issue 10) costs: ours against ours at the baseline commit
    ("lock_fast", "Lock `with lock:`, uncontended", "baseline", "higher", "value", 0.9),
    ("lock_fast", "Lock `with lock:`, uncontended", "stdlib", "higher", "value", None),
    ("signal_fast", "Signal.wait() on a fired Signal", "baseline", "higher", "value", 0.9),
    ("signal_fast", "Signal.wait() on a fired Signal", "stdlib", "higher", "value", None),
    ("queue_fast", "Queue add+pop_one, one thread", "baseline", "higher", "value", 0.9),
    ("queue_fast", "Queue add+pop_one, one thread", "stdlib", "higher", "value", None),
    ("queue_pop_ready", "Queue add+pop (item ready), one thread", "baseline", "higher", "value", 0.9),
    ("queue_pop_ready", "Queue add+pop (item ready), one thread", "stdlib", "higher", "value", None),
    ("queue_1p1c", "Queue 1P/1C add->pop", "baseline", "higher", "value", 0.9),
    ("queue_4p4c", "Queue 4P x 4C, max=100", "baseline", "higher", "value", 0.9),
    ("pingpong", "Signal ping-pong", "baseline", "higher", "value", 0.9),
    ("lock_handoff", "Lock hand-off with wait()", "baseline", "higher", "value", 0.9),
    ("pingpong_1cpu", "Signal ping-pong, one CPU", "baseline", "higher", "value", 0.9),
    ("lock_handoff_1cpu", "Lock hand-off with wait(), one CPU", "baseline", "higher", "value", 0.9),
    ("stop_join", "stop+join 300 blocked threads", "baseline", "higher", "value", 0.9),
]


# --- the upstream virtualenv ---------------------------------------------------
def _venv_python(venv: str) -> str:
    if os.name == "nt":
        return os.path.join(venv, "Scripts", "python.exe")
    return os.path.join(venv, "bin", "python")


def _clean_env() -> Dict[str, str]:
    env = dict(os.environ)
    for name in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV"):
        env.pop(name, None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def ensure_upstream(packages: List[str]) -> str:
    """Make benchmarks/.upstream-venv with upstream mo-threads (once); return its python."""
    python = _venv_python(UPSTREAM_VENV)
    stamp = os.path.join(UPSTREAM_VENV, "bench-installed.txt")
    wanted = " ".join([UPSTREAM_SPEC] + packages)
    if os.path.exists(stamp):
        with open(stamp) as f:
            if f.read().strip() == wanted and os.path.exists(python):
                return python
    if not os.path.exists(python):
        print("creating " + UPSTREAM_VENV + " ...", flush=True)
        subprocess.check_call([sys.executable, "-m", "venv", UPSTREAM_VENV])
    print("installing " + wanted + " into it ...", flush=True)
    done = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", UPSTREAM_SPEC] + packages,
        env=_clean_env(),
        capture_output=True,
        text=True,
    )
    if done.returncode:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit("could not install " + wanted + " into " + UPSTREAM_VENV)
    with open(stamp, "w") as f:
        f.write(wanted + "\n")
    return python


# --- the baseline: our package at another commit ---------------------------------
def _git(args: List[str]) -> "subprocess.CompletedProcess[bytes]":
    return subprocess.run(["git"] + args, cwd=REPO, capture_output=True)


def ensure_baseline(ref: str) -> Tuple[Optional[str], str]:
    """Extract mo_threads/ as of commit `ref` into benchmarks/.baseline/<commit> (once).

    Returns (directory to put on PYTHONPATH, description), or (None, why not)
    when it can not be done: git missing, not a git checkout (an sdist), or an
    unknown commit. Uses `git archive`, which reads the repository and touches
    neither the working tree nor the index.
    """
    try:
        top = _git(["rev-parse", "--show-toplevel"])
    except OSError as cause:
        return None, "git is not available (" + str(cause) + ")"
    if top.returncode or os.path.realpath(top.stdout.decode().strip()) != os.path.realpath(REPO):
        return None, REPO + " is not a git checkout (an sdist?): no commit to compare with"
    found = _git(["rev-parse", "--verify", "--quiet", ref + "^{commit}"])
    if found.returncode:
        return None, "git knows no commit " + repr(ref) + " (a shallow clone? try git fetch --unshallow)"
    sha = found.stdout.decode().strip()
    note = next((text for prefix, text in BASELINE_NOTES.items() if sha.startswith(prefix)), "")
    description = sha[:7] + (" (" + note + ")" if note else "")
    target = os.path.join(BASELINE_DIR, sha[:12])
    stamp = os.path.join(target, "bench-extracted.txt")
    if os.path.exists(stamp):
        return target, description
    archive = _git(["archive", "--format=tar", sha, "mo_threads"])
    if archive.returncode:
        return None, "git archive " + sha[:7] + " failed: " + archive.stderr.decode().strip()
    partial = target + ".partial"
    shutil.rmtree(partial, ignore_errors=True)
    os.makedirs(partial)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(partial, filter="data")
        else:
            tar.extractall(partial)
    with open(os.path.join(partial, "bench-extracted.txt"), "w") as f:
        f.write(sha + "\n")
    shutil.rmtree(target, ignore_errors=True)
    os.rename(partial, target)
    return target, description


# --- running one child -----------------------------------------------------------
class Runner:
    def __init__(self, upstream_python: Optional[str], baseline_path: Optional[str] = None) -> None:
        self.upstream_python = upstream_python
        self.baseline_path = baseline_path
        self.workdir = tempfile.mkdtemp(prefix="mo-threads-bench-")

    def command(self, workload: str, impl: str, params: Dict[str, Any]) -> Tuple[List[str], Dict[str, str]]:
        args = [WORKLOADS, workload, impl, json.dumps(params)]
        env = _clean_env()
        if impl == "upstream":
            if self.upstream_python is None:
                raise RuntimeError("no upstream virtualenv")
            return [self.upstream_python, "-s"] + args, env
        if impl == "baseline":
            if self.baseline_path is None:
                raise RuntimeError("no baseline")
            env["PYTHONPATH"] = self.baseline_path
        else:
            env["PYTHONPATH"] = REPO
        return [sys.executable] + args, env

    def run(self, workload: str, impl: str, params: Dict[str, Any]) -> Dict[str, Any]:
        try:
            cmd, env = self.command(workload, impl, params)
        except RuntimeError as cause:
            return {"error": str(cause)}
        try:
            done = subprocess.run(
                cmd, env=env, cwd=self.workdir, capture_output=True, text=True, timeout=CHILD_TIMEOUT
            )
        except subprocess.TimeoutExpired:
            return {"error": "timed out after " + str(int(CHILD_TIMEOUT)) + " s"}
        for line in done.stdout.splitlines():
            if line.startswith("RESULT "):
                result: Dict[str, Any] = json.loads(line[len("RESULT "):])
                problem = self.check_origin(impl, result.get("mo_threads"))
                if problem:
                    return {"error": problem}
                return result
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return {"error": "exit " + str(done.returncode) + ": " + " | ".join(tail)}

    def check_origin(self, impl: str, origin: Optional[str]) -> Optional[str]:
        """Make sure each child imported the mo_threads it was meant to."""
        if impl in ("ours", "norecord"):
            expected = os.path.join(REPO, "mo_threads")
        elif impl == "baseline" and self.baseline_path:
            expected = os.path.join(self.baseline_path, "mo_threads")
        elif impl == "upstream":
            expected = os.path.realpath(UPSTREAM_VENV)
        else:
            return None
        if not origin or not os.path.realpath(origin).startswith(os.path.realpath(expected)):
            return impl + " child imported mo_threads from " + repr(origin) + ", not from " + expected
        return None


def params_for(workload: str, impl: str, quick: bool, sink: str) -> Dict[str, Any]:
    base = {k: v for k, v in PARAMS[workload].items() if not isinstance(v, dict)}
    base.update(PARAMS[workload].get(impl, {}))
    if quick:
        minimum = QUICK_MIN_N.get(workload, 10)
        if impl == "upstream" and workload == "till_lateness":
            minimum = 10
        base["n"] = max(minimum, int(base["n"] * QUICK_SCALE))
        if "reps" in base:
            base["reps"] = max(2, base["reps"] // 3)
    if workload.startswith("logging"):
        base["sink"] = sink
    return base


# --- summarising -------------------------------------------------------------------
def _stat(result: Dict[str, Any], statistic: str) -> Optional[float]:
    if "error" in result or "skipped" in result:
        return None
    value = result.get(statistic)
    return float(value) if value is not None else None


def summarise(
    raw: Dict[str, Dict[str, List[Dict[str, Any]]]],
    not_run: Optional[Dict[str, str]] = None,
    names: Optional[Dict[str, str]] = None,
) -> List[Dict[str, Any]]:
    """The table's rows; `not_run` says why an implementation was left out, `names` renames references."""
    rows = []
    for workload, label, ref, kind, statistic, target in ROWS:
        if workload not in raw:
            continue
        ours_runs = raw[workload].get("ours", [])
        ref_runs = raw[workload].get(ref, [])
        row: Dict[str, Any] = {
            "workload": workload,
            "label": label,
            "reference": ref,
            "reference_name": REF_NAMES.get(workload, {}).get(ref) or (names or {}).get(ref, ref),
            "kind": kind,
            "statistic": statistic,
            "target": target,
        }
        problem = _first_problem(ours_runs, "ours", not_run) or _first_problem(ref_runs, ref, not_run)
        if problem:
            row["status"] = problem
            row["met"] = None if target is None or problem.startswith("skipped") else False
            rows.append(row)
            continue
        unit = ours_runs[0].get("unit", "")
        ratios = []
        for ours, other in zip(ours_runs, ref_runs):
            a, b = _stat(ours, statistic), _stat(other, statistic)
            if a is None or b is None:
                continue
            ratios.append(a - b if kind == "diff" else (a / b if b else float("inf")))
        ours_values = [v for v in (_stat(r, statistic) for r in ours_runs) if v is not None]
        ref_values = [v for v in (_stat(r, statistic) for r in ref_runs) if v is not None]
        if not ratios:
            row["status"] = "no paired rounds"
            row["met"] = None if target is None else False
            rows.append(row)
            continue
        median = statistics.median(ratios)
        if kind == "higher":
            # the same comparison in CPU time per run: steadier than wall time on a busy machine
            cpu_ratios = [
                (b["cpu_seconds"] / b["ops"]) / (a["cpu_seconds"] / a["ops"])
                for a, b in zip(ours_runs, ref_runs)
                if a.get("cpu_seconds") and b.get("cpu_seconds") and a.get("ops") and b.get("ops")
            ]
            if cpu_ratios:
                row["cpu_ratio_median"] = statistics.median(cpu_ratios)
        row.update(
            unit=unit,
            ours=statistics.median(ours_values),
            ref=statistics.median(ref_values),
            ratio_min=min(ratios),
            ratio_median=median,
            ratio_max=max(ratios),
            ratios=ratios,
            rounds=len(ratios),
        )
        if target is None:
            row["met"] = None
        elif kind == "higher":
            row["met"] = median >= target
        else:
            row["met"] = median <= target
        rows.append(row)
    return rows


def _first_problem(runs: List[Dict[str, Any]], impl: str, not_run: Optional[Dict[str, str]] = None) -> Optional[str]:
    if not runs:
        return "skipped: " + ((not_run or {}).get(impl) or impl + " not run")
    for run in runs:
        if "skipped" in run:
            return "skipped: " + run["skipped"]
    for run in runs:
        if "error" in run:
            return "error (" + impl + "): " + run["error"]
    return None


def _fmt(value: float, unit: str) -> str:
    if unit == "ms late":
        return "%.3f ms" % value
    if unit == "bytes":
        return "%.0f B" % value
    short = unit.split("/")[-1] if "/" in unit else unit
    if value >= 1e6:
        return "%.2fM/%s" % (value / 1e6, short)
    if value >= 1e3:
        return "%.1fk/%s" % (value / 1e3, short)
    return "%.0f/%s" % (value, short)


def _target_text(row: Dict[str, Any]) -> str:
    target = row["target"]
    if target is None:
        return "(info)"
    if row["kind"] == "higher":
        return ">= %.2gx" % target
    if row["kind"] == "lower":
        return "<= %.2gx" % target
    return "<= +%.2g ms" % target


def _ratio_text(row: Dict[str, Any]) -> str:
    if row["kind"] == "diff":
        return "%+.3f ms [%+.3f..%+.3f]" % (row["ratio_median"], row["ratio_min"], row["ratio_max"])
    return "%.2fx [%.2f..%.2f]" % (row["ratio_median"], row["ratio_min"], row["ratio_max"])


def table_lines(rows: List[Dict[str, Any]]) -> List[List[str]]:
    lines = []
    for row in rows:
        workload = row["label"]
        reference = row["reference_name"]
        if "status" in row:
            lines.append([workload, "-", reference, row["status"], "-", _target_text(row), _met_text(row)])
            continue
        cpu = row.get("cpu_ratio_median")
        lines.append([
            workload,
            _fmt(row["ours"], row["unit"]),
            reference + " " + _fmt(row["ref"], row["unit"]),
            _ratio_text(row),
            "-" if cpu is None else "%.2fx" % cpu,
            _target_text(row),
            _met_text(row),
        ])
    return lines


def _met_text(row: Dict[str, Any]) -> str:
    if row.get("status", "").startswith("skipped"):
        return "skipped"
    met = row.get("met")
    return "-" if met is None else ("yes" if met else "NO")


HEADER = ["workload", "ours", "reference", "ratio: median [min..max]", "CPU ratio", "target", "met?"]


def print_table(rows: List[Dict[str, Any]]) -> None:
    lines = [HEADER] + table_lines(rows)
    widths = [max(len(line[i]) for line in lines) for i in range(len(HEADER))]
    for n, line in enumerate(lines):
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))


def markdown_table(rows: List[Dict[str, Any]]) -> str:
    out = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for line in table_lines(rows):
        out.append("| " + " | ".join(cell.replace("|", "\\|") for cell in line) + " |")
    return "\n".join(out) + "\n"


def chart(rows: List[Dict[str, Any]], path: str, meta: Dict[str, Any]) -> Optional[str]:
    """Ratios against targets, one bar per figure; lateness in its own panel."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed (pip install -e .[bench]): no chart"
    ratio_rows = [r for r in rows if r["kind"] != "diff"]
    diff_rows = [r for r in rows if r["kind"] == "diff"]
    height = 0.38 * (len(ratio_rows) + len(diff_rows)) + 2.2
    if diff_rows:
        fig, (ax1, ax2) = plt.subplots(
            2, 1, figsize=(11, height), gridspec_kw={"height_ratios": [max(1, len(ratio_rows)), len(diff_rows) + 1]}
        )
    else:
        fig, ax1 = plt.subplots(1, 1, figsize=(11, height))
        ax2 = None

    def colour(row: Dict[str, Any]) -> str:
        met = row.get("met")
        if "status" in row:
            return "#bbbbbb"
        return "#999999" if met is None else ("#2e8b57" if met else "#c0392b")

    def draw(ax: Any, subset: List[Dict[str, Any]], log: bool) -> None:
        labels = [r["label"] + " vs " + r["reference_name"].split(" (")[0] for r in subset]
        ys = list(range(len(subset)))[::-1]
        # the lateness panel is scaled to its targets; a far-off figure (upstream's
        # 100 ms polling) is clipped and written out
        limit = None if log else 3 * max([abs(r["target"] or 0) for r in subset] + [1.0])
        for y, row in zip(ys, subset):
            if "status" in row:
                ax.text(0.02, y, row["status"][:90], va="center", fontsize=7, transform=ax.get_yaxis_transform())
                continue
            med, lo, hi = row["ratio_median"], row["ratio_min"], row["ratio_max"]
            if limit is not None:
                med, lo, hi = (max(-limit, min(limit, v)) for v in (med, lo, hi))
            base = 1.0 if log else 0.0  # bars grow from parity
            ax.barh(y, med - base, left=base, color=colour(row), height=0.6)
            ax.errorbar(med, y, xerr=[[med - lo], [hi - med]], fmt="none", ecolor="black", capsize=2, lw=0.8)
            if row["target"] is not None:
                ax.plot([row["target"]] * 2, [y - 0.4, y + 0.4], color="black", lw=2)
            text = ("%.2fx" % row["ratio_median"]) if log else ("%+.2f ms" % row["ratio_median"])
            ax.text(hi, y, "  " + text, va="center", fontsize=7)
        ax.set_yticks(ys)
        ax.set_yticklabels(labels, fontsize=7)
        if log:
            ax.set_xscale("log")
            ax.axvline(1.0, color="#666666", lw=0.8, ls=":")
        else:
            ax.set_xlim(-limit, limit * 1.3)

    draw(ax1, ratio_rows, True)
    ax1.set_xlabel("ours / reference (memory: lower is better; others: higher is better); black tick = target", fontsize=8)
    if ax2 is not None:
        draw(ax2, diff_rows, False)
        ax2.axvline(0.0, color="#666666", lw=0.8, ls=":")
        ax2.set_xlabel("Till lateness minus reference lateness (ms); black tick = target", fontsize=8)
    fig.suptitle(
        "mo_threads benchmarks: median of %d rounds, bars min..max (green met, red missed, grey info)"
        % meta["rounds"],
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None


def _git_commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "mo_threads"], cwd=REPO, capture_output=True, text=True
        )
        return head.stdout.strip() + ("+uncommitted changes" if dirty.stdout.strip() else "")
    except OSError:
        return "unknown"


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="about 1.5 minutes: 3 rounds, fewer items and repeats")
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default 5, quick 3)")
    parser.add_argument("--only", default="", help="comma-separated workloads to run")
    parser.add_argument("--no-upstream", action="store_true", help="skip upstream (no virtualenv made)")
    parser.add_argument(
        "--baseline",
        default=BASELINE_REF,
        metavar="REF",
        help="also run the repo's mo_threads at git commit REF as impl 'baseline' (default %(default)s, "
        "before deadlock detection); '' to skip",
    )
    parser.add_argument("--no-baseline", action="store_true", help="skip the baseline comparison")
    parser.add_argument("--output", default=HERE, help="directory for results.json and results.png")
    args = parser.parse_args(argv)
    rounds = args.rounds or (3 if args.quick else 5)
    workloads = [w for w in PARAMS if not args.only or w in args.only.split(",")]
    unknown = set(args.only.split(",")) - set(PARAMS) - {""}
    if unknown:
        parser.error("unknown workloads: " + ", ".join(sorted(unknown)) + "; known: " + ", ".join(PARAMS))

    try:
        import mo_files  # noqa: F401

        sink = "file"  # mo-logs' file logger (it needs mo-files)
    except ImportError:
        sink = "stream"  # mo-logs' stream logger on an open file
    upstream_python = None
    if not args.no_upstream:
        upstream_python = ensure_upstream(["mo-files"] if sink == "file" else [])
    not_run: Dict[str, str] = {}
    if args.no_upstream:
        not_run["upstream"] = "upstream not run (--no-upstream)"
    baseline_path, baseline_text = None, ""
    if args.no_baseline or not args.baseline:
        not_run["baseline"] = "baseline not run (no --baseline)"
    elif any("baseline" in IMPLS.get(w, DEFAULT_IMPLS) for w in workloads):
        baseline_path, baseline_text = ensure_baseline(args.baseline)
        if baseline_path is None:
            not_run["baseline"] = "no baseline: " + baseline_text
            print("baseline comparison skipped: " + baseline_text, flush=True)
            baseline_text = ""
        else:
            print("baseline: mo_threads at " + baseline_text + " from " + baseline_path, flush=True)
    runner = Runner(upstream_python, baseline_path)

    started = time.time()
    raw: Dict[str, Dict[str, List[Dict[str, Any]]]] = {w: {} for w in workloads}
    for r in range(rounds):
        for workload in workloads:
            impls = [i for i in IMPLS.get(workload, DEFAULT_IMPLS) if i not in not_run]
            shift = r % len(impls)
            for impl in impls[shift:] + impls[:shift]:
                result = runner.run(workload, impl, params_for(workload, impl, args.quick, sink))
                result.pop("samples", None)
                raw[workload].setdefault(impl, []).append(result)
        print("round %d/%d done (%.0f s)" % (r + 1, rounds, time.time() - started), flush=True)

    rows = summarise(raw, not_run, {"baseline": "baseline " + baseline_text})
    meta = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "ours": "mo_threads at " + _git_commit(),
        "upstream": UPSTREAM_SPEC,
        "baseline": ("mo_threads at " + baseline_text) if baseline_path else not_run.get("baseline"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average_at_end": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "rounds": rounds,
        "quick": args.quick,
        "logging_sink": sink,
        "seconds": round(time.time() - started, 1),
        "params": {w: {i: params_for(w, i, args.quick, sink) for i in IMPLS.get(w, DEFAULT_IMPLS)} for w in workloads},
    }
    print()
    print_table(rows)
    print()
    os.makedirs(args.output, exist_ok=True)
    with open(os.path.join(args.output, "results.json"), "w") as f:
        json.dump({"meta": meta, "rows": rows, "raw": raw}, f, indent=1, sort_keys=True)
        f.write("\n")
    with open(os.path.join(args.output, "results.md"), "w") as f:
        load = meta["load_average_at_end"]
        f.write(
            "Measured %s, %s%s, Python %s, %s CPUs (load average %s at the end), %d rounds%s.\n\n"
            % (
                meta["date"],
                meta["ours"],
                (" (baseline: " + baseline_text + ")") if baseline_path else "",
                meta["python"],
                meta["cpus"],
                "%.1f" % load[0] if load else "unknown",
                rounds,
                " (quick)" if args.quick else "",
            )
        )
        f.write(markdown_table(rows))
    problem = chart(rows, os.path.join(args.output, "results.png"), meta)
    if problem:
        print(problem)
    missed = [r for r in rows if r.get("met") is False]
    skipped = [r for r in rows if r.get("status", "").startswith("skipped") and r["target"] is not None]
    print(
        "%d targets met, %d missed, %d skipped; wrote results.json, results.md%s in %s (%.0f s)"
        % (
            sum(1 for r in rows if r.get("met")),
            len(missed),
            len(skipped),
            "" if problem else ", results.png",
            args.output,
            time.time() - started,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
