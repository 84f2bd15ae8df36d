from __future__ import annotations

import os
import subprocess
import sys

import pytest

from mo_threads import profiles
from mo_threads.profiles import COLUMNS, CProfiler
from tests.helpers import child_env, run_python


def read_profile(path):
    with open(path, encoding="utf8") as source:
        lines = source.read().splitlines()
    header = lines[0].split("\t")
    rows = [dict(zip(header, line.split("\t"))) for line in lines[1:]]
    return header, rows


def rows_named(rows, name):
    return [row for row in rows if row["name"] == name]


def busy_function_only_in_block(n):
    return sum(i * i for i in range(n))


class TestCProfiler:
    def test_block_stats_alone(self):
        assert not profiles.cprofiler_stats.enabled
        with CProfiler() as block:
            busy_function_only_in_block(1000)
        names = {func[2] for func in block.stats.stats}
        assert "busy_function_only_in_block" in names
        # profiling is not enabled for the program: nothing goes to the aggregate
        aggregate = {func[2] for func in profiles.cprofiler_stats.aggregate().stats}
        assert "busy_function_only_in_block" not in aggregate

    def test_block_written_to_file(self, tmp_path):
        path = str(tmp_path / "block.tab")
        with CProfiler(filename=path):
            busy_function_only_in_block(1000)
        header, rows = read_profile(path)
        assert tuple(header) == COLUMNS
        (row,) = rows_named(rows, "busy_function_only_in_block")
        assert row["calls"] == "1"
        assert row["file"].endswith("test_profiles.py")
        assert float(row["total_time"]) >= float(row["self_time"]) >= 0

    def test_not_reusable_while_running(self):
        block = CProfiler()
        with block:
            with pytest.raises(RuntimeError):
                block.__enter__()

    def test_write_without_enable_returns_none(self):
        assert profiles.cprofiler_stats.filename is None
        assert profiles.write_profiles() is None


WORKER_PROGRAM = """
import sys, threading
from mo_threads import Thread, RegisterThread, Till, Signal, profiles

def runs_only_in_worker(n):
    return sum(abs(i) for i in range(n))

def worker(please_stop):
    runs_only_in_worker(10000)
    please_stop.wait()
    runs_only_after_stop()

def runs_only_after_stop():
    return sum(abs(i) for i in range(100))

def runs_only_in_plain_thread():
    return sum(abs(i) for i in range(100))

def runs_only_in_registered_alien():
    return sum(abs(i) for i in range(100))

started, go = threading.Event(), threading.Event()
def alien():
    started.set()
    go.wait()
    with RegisterThread(name="alien"):
        runs_only_in_registered_alien()

existing = threading.Thread(target=alien)   # running before profiling starts
existing.start()
started.wait()

if sys.argv[1] == "thread-first":
    # the mo_threads exit hook is registered before the profiler's
    early = Thread.run("early", lambda please_stop: None)
    early.join()

profiles.enable_profilers(sys.argv[2])
go.set()
existing.join()
plain = threading.Thread(target=runs_only_in_plain_thread)
plain.start()
plain.join()
# left running: shutdown at exit stops it, and the profile must include its last call
Thread.run("worker", worker)
Till(seconds=0.1).wait()
print("exiting")
"""


class TestEnableProfilers:
    @pytest.mark.parametrize("order", ["enable-first", "thread-first"])
    def test_profile_written_at_exit_with_every_thread(self, tmp_path, order):
        path = str(tmp_path / "profile.tab")
        result = run_python(WORKER_PROGRAM, order, path, timeout=30)
        assert result.returncode == 0, result.stderr
        assert "exiting" in result.stdout
        assert os.path.exists(path), result.stderr
        header, rows = read_profile(path)
        assert tuple(header) == COLUMNS
        for name in (
            "runs_only_in_worker",
            "runs_only_after_stop",  # ran during shutdown: written after the threads were joined
            "runs_only_in_plain_thread",
            "runs_only_in_registered_alien",
        ):
            found = rows_named(rows, name)
            assert len(found) == 1, (name, result.stderr)
            assert found[0]["calls"] == "1"
        for row in rows:
            assert int(row["calls"]) >= 0
            assert float(row["total_time"]) >= 0 and float(row["self_time"]) >= 0
            int(row["line"])
        # slowest total first
        totals = [float(row["total_time"]) for row in rows]
        assert totals == sorted(totals, reverse=True)

    @pytest.mark.skipif(sys.version_info >= (3, 12), reason="from 3.12 one profiler sees every thread")
    def test_plain_threads_do_not_pile_up_profilers(self, tmp_path):
        path = str(tmp_path / "plain.tab")
        result = run_python(
            """
            import sys, threading
            from mo_threads import profiles

            def in_plain_thread():
                return sum(range(100))

            profiles.enable_profilers(sys.argv[1])
            for _ in range(200):  # one after the other: the OS reuses their thread ids
                plain = threading.Thread(target=in_plain_thread)
                plain.start()
                plain.join()
            print("running", len(profiles.cprofiler_stats.running))
            """,
            path,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        running = int(result.stdout.split("running")[1].split()[0])
        assert running < 20, result.stdout  # was 201: one per plain thread, kept until exit
        found = rows_named(read_profile(path)[1], "in_plain_thread")
        assert len(found) == 1 and found[0]["calls"] == "200", found  # and no call is lost

    def test_write_profiles_explicitly(self, tmp_path):
        path = str(tmp_path / "explicit.tab")
        result = run_python(
            """
            import sys
            from mo_threads import Thread, profiles

            def only_here(please_stop):
                return sum(range(1000))

            profiles.enable_profilers()
            Thread.run("worker", only_here).join()
            assert profiles.write_profiles(sys.argv[1]) == sys.argv[1]
            print("ok")
            """,
            path,
            timeout=30,
            cwd=str(tmp_path),  # the exit hook writes profile.tab there too
        )
        assert result.returncode == 0, result.stderr
        _, rows = read_profile(path)
        assert rows_named(rows, "only_here")

    def test_cprofiler_block_counts_in_aggregate_and_thread_profile_resumes(self, tmp_path):
        path = str(tmp_path / "nested.tab")
        result = run_python(
            """
            import sys
            from mo_threads import profiles

            def in_block():
                return sum(range(100))

            def after_block():
                return sum(range(100))

            profiles.enable_profilers(sys.argv[1])
            with profiles.CProfiler() as block:
                in_block()
            after_block()
            assert {f[2] for f in block.stats.stats} >= {"in_block"}
            assert "after_block" not in {f[2] for f in block.stats.stats}
            """,
            path,
            timeout=30,
        )
        assert result.returncode == 0, result.stderr
        _, rows = read_profile(path)
        assert rows_named(rows, "in_block")
        assert rows_named(rows, "after_block"), "the thread's own profiler must resume after the block"

    def test_mo_logs_default_file_name(self, tmp_path):
        result = run_python(
            """
            from mo_threads import profiles
            profiles.enable_profilers(None)
            """,
            timeout=30,
            cwd=str(tmp_path),
        )
        assert result.returncode == 0, result.stderr
        assert os.path.exists(str(tmp_path / profiles.DEFAULT_FILENAME))


WORKER_MODULE = """
from mo_threads import Thread

def only_in_worker(please_stop):
    total = 0
    for i in range(10):
        total += i
    return total

def never_called():
    return 1
"""


def covered_lines(tmp_path, json_report):
    """Executed and missing lines of worker_module.py in a coverage JSON report."""
    import json

    with open(str(json_report)) as source:
        files = json.load(source)["files"]
    (name,) = [name for name in files if name.endswith("worker_module.py")]
    return set(files[name]["executed_lines"]), set(files[name]["missing_lines"])


def assert_worker_lines_covered(tmp_path, executed, missing):
    lines = (tmp_path / "worker_module.py").read_text().splitlines()

    def line_of(text):
        return next(i + 1 for i, line in enumerate(lines) if text in line)

    for text in ("total = 0", "total += i", "return total"):
        assert line_of(text) in executed, (text, executed)
    assert line_of("return 1") in missing  # the check can fail: uncalled lines are missing


class TestCoverage:
    """Lines run only by a worker thread are recorded by coverage.py."""

    def test_worker_lines_are_covered(self, tmp_path):
        pytest.importorskip("coverage")
        (tmp_path / "worker_module.py").write_text(WORKER_MODULE)
        program = tmp_path / "covered.py"
        program.write_text(
            "from mo_threads import Thread\n"
            "from worker_module import only_in_worker\n"
            "assert Thread.run('worker', only_in_worker).join() == 45\n"
        )
        env = child_env(COVERAGE_FILE=str(tmp_path / ".coverage"))
        run = subprocess.run(
            [sys.executable, "-m", "coverage", "run", "--include=" + str(tmp_path / "worker_module.py"), str(program)],
            cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=60,
        )
        assert run.returncode == 0, run.stderr
        report = subprocess.run(
            [sys.executable, "-m", "coverage", "json", "-o", str(tmp_path / "cov.json")],
            cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=60,
        )
        assert report.returncode == 0, report.stderr
        assert_worker_lines_covered(tmp_path, *covered_lines(tmp_path, tmp_path / "cov.json"))

    def test_worker_lines_are_covered_under_pytest_cov(self, tmp_path):
        pytest.importorskip("pytest_cov")
        (tmp_path / "worker_module.py").write_text(WORKER_MODULE)
        (tmp_path / "pytest.ini").write_text("[pytest]\n")  # keep the child's rootdir here
        (tmp_path / "test_worker.py").write_text(
            "from mo_threads import Thread\n"
            "from worker_module import only_in_worker\n"
            "def test_worker():\n"
            "    assert Thread.run('worker', only_in_worker).join() == 45\n"
        )
        run = subprocess.run(
            [
                sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                "--cov=worker_module", "--cov-report=json:" + str(tmp_path / "cov.json"), "test_worker.py",
            ],
            cwd=str(tmp_path), env=child_env(COVERAGE_FILE=str(tmp_path / ".coverage")),
            capture_output=True, text=True, timeout=120,
        )
        assert run.returncode == 0, run.stdout + run.stderr
        assert_worker_lines_covered(tmp_path, *covered_lines(tmp_path, tmp_path / "cov.json"))


class TestDisableProfilers:
    def test_disable_then_enable_again(self, tmp_path):
        path = str(tmp_path / "again.tab")
        result = run_python(
            """
            import sys
            from mo_threads import Thread, profiles

            def while_enabled_first(please_stop=None):
                return sum(range(100))

            def while_disabled(please_stop=None):
                return sum(range(100))

            def while_enabled_again(please_stop=None):
                return sum(range(100))

            profiles.enable_profilers(sys.argv[1])
            while_enabled_first()
            profiles.disable_profilers()
            while_disabled()
            Thread.run("not profiled", while_disabled).join()
            profiles.enable_profilers(sys.argv[1])
            while_enabled_again()
            Thread.run("profiled", while_enabled_again).join()
            """,
            path,
            timeout=30,
        )
        assert result.returncode == 0, result.stderr
        _, rows = read_profile(path)
        assert rows_named(rows, "while_enabled_first")[0]["calls"] == "1"
        assert rows_named(rows, "while_enabled_again")[0]["calls"] == "2"
        assert not rows_named(rows, "while_disabled")
