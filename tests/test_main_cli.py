"""`python -m mo_threads` on the command line: `--help` prints the usage only (issue 22, point 9)."""

from __future__ import annotations

import subprocess
import sys

from tests.helpers import child_env

from mo_threads import __version__


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mo_threads", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        env=child_env(),
        timeout=30,
    )


def test_help_prints_the_usage_and_runs_nothing() -> None:
    for flag in ("--help", "-h"):
        done = _run(flag)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("usage: python -m mo_threads"), done.stdout
        assert "self-check" in done.stdout  # says what it does
        assert "dump_threads()" in done.stdout  # and how to see inside a program
        assert "self-check OK" not in done.stdout  # without doing it
        assert "mo-threads " + __version__ not in done.stdout


def test_an_unknown_argument_is_refused_with_the_usage() -> None:
    done = _run("--bogus")
    assert done.returncode == 2
    assert "usage: python -m mo_threads" in done.stderr
    assert "--bogus" in done.stderr
    assert "self-check OK" not in done.stdout


def test_without_arguments_it_runs_the_self_check() -> None:
    done = _run()
    assert done.returncode == 0, done.stderr
    assert "mo-threads " + __version__ in done.stdout
    assert "self-check OK" in done.stdout
