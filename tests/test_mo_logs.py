"""mo-logs as a real client: its threaded logger and its cprofile setting run on mo_threads."""

from __future__ import annotations

import os

import pytest

from tests.helpers import run_python

pytest.importorskip("mo_logs")
pytest.importorskip("mo_files")  # mo-logs' file logger writes through mo-files

THREADS = 4
LINES = 2000

PROGRAM = """
import sys
from mo_logs import logger
from mo_threads import Thread

folder, explicit_stop = sys.argv[1], sys.argv[2] == "stop"
logger.start({
    "logs": [{"log_type": "file", "file": folder + "/log.txt"}],
    "cprofile": {"enabled": True, "filename": folder + "/profile.tab"},
})
# mo-logs falls back to unthreaded logging, silently, when mo_threads does not fit it
from mo_logs.log_usingThread import StructuredLogger_usingThread
assert isinstance(logger.main_log, StructuredLogger_usingThread), type(logger.main_log)

def log_lines_in_worker(worker, please_stop):
    for line in range(%(lines)d):
        logger.info("worker {worker} line {line}", worker=worker, line=line)

threads = [Thread.run("logging worker " + str(w), log_lines_in_worker, w) for w in range(%(threads)d)]
for thread in threads:
    thread.join()
if explicit_stop:
    logger.stop()
    with open(folder + "/log.txt") as source:
        print("lines after stop", sum(1 for line in source if line.startswith("worker ")))
print("done")
""" % {"lines": LINES, "threads": THREADS}


def check_log(path):
    with open(path) as source:
        lines = [line.rstrip("\n") for line in source if line.startswith("worker ")]
    assert len(lines) == THREADS * LINES, len(lines)
    seen = {w: [] for w in range(THREADS)}
    for line in lines:
        _, worker, _, number = line.split(" ")
        seen[int(worker)].append(int(number))
    for worker, numbers in seen.items():
        assert numbers == list(range(LINES)), "worker %d: lines missing or out of order" % worker


def check_profile(path):
    assert os.path.exists(path)
    with open(path) as source:
        header = source.readline().rstrip("\n").split("\t")
        rows = [dict(zip(header, line.rstrip("\n").split("\t"))) for line in source]
    assert header == ["calls", "self_time", "total_time", "file", "line", "name"]
    names = {row["name"] for row in rows}
    assert "log_lines_in_worker" in names  # ran only in the worker threads
    (row,) = [row for row in rows if row["name"] == "log_lines_in_worker"]
    assert row["calls"] == str(THREADS)
    assert "worker" in names  # mo-logs' own logging thread (log_usingThread.worker)


class TestMoLogs:
    def test_file_log_and_profile_with_explicit_stop(self, tmp_path):
        folder = str(tmp_path)
        result = run_python(PROGRAM, folder, "stop", timeout=50, cwd=folder)
        assert result.returncode == 0, result.stdout + result.stderr
        # logger.stop() flushed everything before the program went on
        assert "lines after stop %d" % (THREADS * LINES) in result.stdout, result.stdout + result.stderr
        check_log(os.path.join(folder, "log.txt"))
        check_profile(os.path.join(folder, "profile.tab"))

    def test_file_log_flushed_at_exit(self, tmp_path):
        folder = str(tmp_path)
        result = run_python(PROGRAM, folder, "exit", timeout=50, cwd=folder)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "done" in result.stdout
        check_log(os.path.join(folder, "log.txt"))
        check_profile(os.path.join(folder, "profile.tab"))


STOPPING_PROGRAM = """
import sys
from mo_logs import logger
from mo_threads import Thread, Till, stop_main_thread

folder = sys.argv[1]
logger.start({"logs": [{"log_type": "file", "file": folder + "/log.txt"}]})

def slow_to_stop(please_stop):
    please_stop.wait()
    Till(seconds=0.3).wait()
    logger.info("logged while stopping")

Thread.run("slow to stop", slow_to_stop)
stop_main_thread()
"""


class TestShutdownOrder:
    def test_lines_logged_while_threads_stop_reach_the_log(self, tmp_path):
        # the logging thread is detached from the tree by mo-logs: shutdown stops it
        # only after every other thread, so nothing logged while stopping is lost
        folder = str(tmp_path)
        result = run_python(STOPPING_PROGRAM, folder, timeout=50, cwd=folder)
        assert result.returncode == 0, result.stderr
        with open(folder + "/log.txt", encoding="utf8") as log:
            assert "logged while stopping" in log.read()
