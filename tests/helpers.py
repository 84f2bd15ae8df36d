"""Shared test helpers: run a Python program in a child process with a hard timeout."""

from __future__ import annotations

import os
import platform
import signal
import subprocess
import sys
import textwrap
import time
from typing import List

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PYPY = platform.python_implementation() == "PyPy"


def cpython_only(reason: str) -> pytest.MarkDecorator:
    """Skip a test that relies on what only CPython has (tracemalloc, an object freed the moment
    its last reference goes); `reason` says what."""
    return pytest.mark.skipif(PYPY, reason="CPython only: " + reason)


# logged (to stdout, mo-logs' default) at the end of every orderly shutdown, as in mo-threads 6.x
SHUTDOWN_LINE = "All threads have shutdown"


def program_lines(text: str) -> List[str]:
    """The non-blank lines a child program printed, without the shutdown's own last line."""
    return [line.strip() for line in text.splitlines() if line.strip() and line.strip() != SHUTDOWN_LINE]


def child_env(**extra: str) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def start_python(code: str, *args: str, **popen_kwargs) -> subprocess.Popen:
    """Start `code` (dedented) in a fresh interpreter; stdout and stderr are piped, as text."""
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        stdin=popen_kwargs.pop("stdin", subprocess.DEVNULL),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=popen_kwargs.pop("env", child_env()),
        **popen_kwargs,
    )


def run_python(code: str, *args: str, timeout: float = 60, **popen_kwargs) -> subprocess.CompletedProcess:
    """Run `code` to completion (killed after `timeout` seconds: a hang fails the test)."""
    proc = start_python(code, *args, **popen_kwargs)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError("child hung past %ss\nstdout:\n%s\nstderr:\n%s" % (timeout, out, err))
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def wait_for_line(proc: subprocess.Popen, text: str, timeout: float = 30) -> List[str]:
    """Read stdout lines until one contains `text`; return the lines read."""
    deadline = time.time() + timeout
    lines: List[str] = []
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if text in line:
            return lines
    proc.kill()
    raise AssertionError("never saw %r; got:\n%s" % (text, "".join(lines)))


def finish(proc: subprocess.Popen, timeout: float = 60) -> subprocess.CompletedProcess:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError("child hung past %ss\nstdout:\n%s\nstderr:\n%s" % (timeout, out, err))
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def send(proc: subprocess.Popen, signum: int = signal.SIGINT) -> None:
    os.kill(proc.pid, signum)


def wait_true(predicate, timeout: float = 10.0, every: float = 0.005) -> bool:
    """Poll `predicate` until true or `timeout`; returns its last value (for wide-bound tests)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return bool(predicate())


