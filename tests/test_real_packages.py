"""mo-sqlite and jx-sqlite from PyPI, unchanged, on this mo_threads: issue 19's real-package scenario.

tests/programs/real_packages.py is the program a user of them writes: one `Sqlite` database
queried from 100 threads at once, in transactions that contend for one row (and some that fail
and roll back), commit, stop, reopen; a jx-sqlite `Container` inserted into and queried from
20 threads and a plain `threading.Thread`; mo-files' temporary files; mo-logs' threaded logger
started, stopped and started again. It runs in a child process with a hard timeout (a hang
fails the test, never the runner), must exit 0, and its output must end with
"All threads have shutdown".

The packages pin upstream's mo-threads 6.x, so tests/install_real_packages.py installs them
with --no-deps (`make test` runs it; so do the nox test sessions). Where they are not
installed, the tests skip and say why; `make test` sets MO_THREADS_REQUIRE_REAL_PACKAGES=1,
which makes their absence a failure instead.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sqlite3
import subprocess
import sys

import pytest

from tests.helpers import PYPY, REPO, child_env, finish, run_python

PROGRAM = os.path.join(REPO, "tests", "programs", "real_packages.py")
PACKAGES = ("mo_sqlite", "jx_sqlite", "jx_python")

missing = [name for name in PACKAGES if importlib.util.find_spec(name) is None]
if missing:
    reason = "%s not installed in this interpreter (python tests/install_real_packages.py installs them)" % ", ".join(
        missing
    )
    if os.environ.get("MO_THREADS_REQUIRE_REAL_PACKAGES"):
        raise RuntimeError(reason + "; MO_THREADS_REQUIRE_REAL_PACKAGES is set, so this is a failure")
    pytest.skip(reason, allow_module_level=True)

if PYPY:
    pytest.skip("mo-sql fails on PyPy: its SQL.__str__ joins itself, and PyPy's join calls SQL.__len__, "
                "which mo-sql leaves unimplemented", allow_module_level=True)

# mo_threads' own helpers that may outlive the interpreter's thread shutdown (both are daemons
# that force the exit if a later atexit hook hangs); every other thread must be gone by then
HELPERS = {"mo-threads signal watcher", "mo-threads exit watcher"}
STEPS = [
    "mo_threads from " + os.path.join(REPO, "mo_threads"),
    "sqlite opened, worker 'sqlite db thread' is a child of Sqlite",
    "100 threads joined",
    "sqlite counted 500 contended writes, failed transactions rolled back",
    "sqlite stopped and reopened",
    "jx-sqlite queried from 20 threads and a plain threading.Thread, closed",
    "mo-files temp objects released their delete threads",
    "mo-logs stopped and restarted its log thread",
    "scenario done",
]


def check_exit(result) -> list:
    """The program exited 0, said nothing on stderr, and ended in order; return its stdout lines."""
    out = result.stdout + "\n---- stderr ----\n" + result.stderr
    assert result.returncode == 0, out
    assert result.stderr.strip() == "", out
    lines = result.stdout.splitlines()
    # mo-logs' console logger writes "WARNING:"/"ERROR:" lines; mo-sqlite's blocked-transaction
    # warning ("... is blocked by ...") would come from a Till whose then() was not cancelled
    for word in ("WARNING", "ERROR", "Traceback", "is blocked by"):
        assert word not in result.stdout, out
    assert lines[-2:-1] == ["All threads have shutdown"], out
    left = lines[-1].split(": ", 1)
    assert left[0] == "threads alive at exit", out
    assert set(left[1].split(", ")) - {"none"} <= HELPERS, out
    return lines


def run_program(folder, *args: str, timeout: float):
    proc = subprocess.Popen(
        [sys.executable, PROGRAM, str(folder), *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        env=child_env(),
        cwd=str(folder),
    )
    return finish(proc, timeout=timeout)


@pytest.mark.slow
def test_sqlite_from_100_threads_then_jx_sqlite_mo_files_and_mo_logs_exit_in_order(tmp_path) -> None:
    result = run_program(tmp_path, "100", timeout=50)
    lines = check_exit(result)
    steps = [m.group(1) for m in (re.match(r"^ *\d+\.\d\ds (.*)$", line) for line in lines) if m]
    assert steps == STEPS, result.stdout
    # the line logged through the threaded logger, before logger.stop(), was written out
    assert "last line through the first threaded logger" in lines, result.stdout
    with sqlite3.connect(str(tmp_path / "scenario.sqlite")) as db:
        assert db.execute("SELECT value FROM counter").fetchall() == [(500,)]


FORGOT_TO_STOP = """
import atexit, os, sys, threading

# registered first, so it runs last (on Python 3.8 mo_threads' own exit hook is a plain atexit one)
atexit.register(lambda: print("threads alive at exit: " + (", ".join(sorted(
    t.name for t in threading.enumerate() if t is not threading.main_thread())) or "none"), flush=True))

from mo_sqlite import Sqlite
from jx_sqlite import Container
from mo_threads import Thread, join_all_threads

folder = sys.argv[1]
db = Sqlite(filename=os.path.join(folder, "forgot.sqlite"))
with db.transaction() as t:
    t.execute("CREATE TABLE numbers (n INTEGER)")

def insert(n, please_stop):
    with db.transaction() as t:
        t.execute("INSERT INTO numbers VALUES (%d)" % n)

join_all_threads([Thread.run("insert %d" % n, insert, n) for n in range(20)])
container = Container(filename=os.path.join(folder, "jx.sqlite"))
container.get_or_create_facts("things").insert([{"a": 1}])
print("left open:", db.worker.name, container.db.worker.name, flush=True)
# neither db.stop() nor container.close(): their worker threads are still running here
"""


def test_sqlite_and_jx_container_left_open_still_exit_in_order(tmp_path) -> None:
    result = run_python(FORGOT_TO_STOP, str(tmp_path), timeout=30, cwd=str(tmp_path))
    lines = check_exit(result)
    assert lines[0] == "left open: sqlite db thread sqlite db thread", result.stdout
    with sqlite3.connect(str(tmp_path / "forgot.sqlite")) as db:
        assert sorted(n for (n,) in db.execute("SELECT n FROM numbers")) == list(range(20))


@pytest.mark.slow
def test_ctrl_c_while_100_threads_query_sqlite_ends_in_order(tmp_path) -> None:
    # one of the 100 threads sends SIGINT half-way through their transactions
    result = run_program(tmp_path, "100", "interrupt", timeout=25)
    out = result.stdout + "\n---- stderr ----\n" + result.stderr
    assert "Ctrl-C" in result.stdout, out
    assert result.returncode != 0 and "KeyboardInterrupt" in result.stderr, out
    assert "still running" not in out and "forced exit" not in out, out
    lines = result.stdout.splitlines()
    assert lines[-2:-1] == ["All threads have shutdown"], out
    # every transaction that committed did both of its writes, and no other did either
    with sqlite3.connect(str(tmp_path / "scenario.sqlite")) as db:
        (value,) = db.execute("SELECT value FROM counter").fetchone()
        (items,) = db.execute("SELECT count(*) FROM items").fetchone()
    assert 0 < value == items <= 500, (value, items)
