"""The index_tree demo, run as a child process on generated trees: counts, reconciliation, stopping."""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from typing import Dict, Iterator, List, Tuple

import pytest

from tests.helpers import REPO, child_env, finish, wait_for_line

DEMO = os.path.join(REPO, "examples", "index_tree.py")

SMALL_TREE_FILES = 300
LARGE_TREE_FILES = 8000
BIG_FILE_SIZE = 2 ** 30


def make_tree(root: str, count: int, per_directory: int = 50, padding: int = 0) -> List[str]:
    """Write `count` small text files under `root`, `per_directory` to a folder; return their paths.

    `padding` lines of filler make each file slower to index (and the run longer).
    """
    filler = "lorem ipsum dolor sit amet consectetur\n" * padding
    paths = []
    for i in range(count):
        directory = os.path.join(root, "d%03d" % (i // per_directory))
        if i % per_directory == 0:
            os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, "f%05d.txt" % i)
        with open(path, "w") as handle:
            # "common" is always the most frequent word; every file's content differs
            handle.write(("common common common word%d\n" % i) * (1 + i % 7) + "alpha beta\n" * 2 + filler)
        paths.append(path)
    return paths


def demo_command(*args: str) -> List[str]:
    return [sys.executable, DEMO, *args]


def run_demo(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    proc = start_demo(*args)
    return finish(proc, timeout=timeout)


def start_demo(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        demo_command(*args),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(),
    )


def printed_counts(out: str) -> Dict[str, int]:
    """The queued / processed / written / left (unread) numbers of the report."""
    found = re.search(r"(\d+) left unread", out)
    assert found, "no 'left unread' in:\n" + out
    counts = {"left": int(found.group(1))}
    for name in ("queued", "processed", "written"):
        found = re.search(r"^" + name + r"\s+(\d+)", out, re.MULTILINE)
        assert found, "no " + name + " line in:\n" + out
        counts[name] = int(found.group(1))
    return counts


def database_counts(db: str) -> Tuple[int, int]:
    connection = sqlite3.connect(db)
    try:
        rows, distinct = connection.execute("SELECT COUNT(*), COUNT(DISTINCT path) FROM files").fetchone()
        return rows, distinct
    finally:
        connection.close()


def assert_reconciled(result: subprocess.CompletedProcess, db: str) -> Dict[str, int]:
    out = result.stdout
    assert result.returncode == 0, "exit %s\nstdout:\n%s\nstderr:\n%s" % (result.returncode, out, result.stderr)
    assert "reconciliation: OK" in out, out
    counts = printed_counts(out)
    rows, distinct = database_counts(db)
    assert counts["processed"] == counts["written"] == rows == distinct, (counts, rows, distinct)
    assert counts["queued"] >= counts["processed"]
    assert "Traceback" not in result.stderr, result.stderr
    return counts


@pytest.fixture(scope="module")
def large_tree(tmp_path_factory) -> Iterator[str]:
    root = str(tmp_path_factory.mktemp("large_tree"))
    # a run that can not finish in a couple of seconds, even on a fast machine: 8000 files of ~4 kB,
    # and first of all a sparse 1 GB file (no disk used) that keeps one of the 2 workers busy for
    # seconds, so a stop always finds it mid-file: it is abandoned and counted as left unread
    os.makedirs(os.path.join(root, "a_big"))
    with open(os.path.join(root, "a_big", "zeros.bin"), "wb") as handle:
        handle.truncate(BIG_FILE_SIZE)
    make_tree(root, LARGE_TREE_FILES, per_directory=200, padding=100)
    yield root
    shutil.rmtree(root, ignore_errors=True)  # 8000 files: do not leave them for pytest's cleanup


class TestIndexTree:
    def test_small_tree_every_file_written_once(self, tmp_path) -> None:
        root = str(tmp_path / "tree")
        paths = make_tree(root, SMALL_TREE_FILES)
        db = str(tmp_path / "index.sqlite")

        result = run_demo("--root", root, "--db", db, "--workers", "3")

        counts = assert_reconciled(result, db)
        assert counts == {"queued": SMALL_TREE_FILES, "processed": SMALL_TREE_FILES, "written": SMALL_TREE_FILES, "left": 0}
        assert "stopped: every file is done" in result.stdout
        connection = sqlite3.connect(db)
        try:
            stored = {row[0]: row[1:] for row in connection.execute("SELECT path, size, lines, sha1, top_words, worker FROM files")}
        finally:
            connection.close()
        assert sorted(stored) == sorted(paths)
        with open(paths[10], "rb") as handle:
            data = handle.read()
        size, lines, sha1, top_words, worker = stored[paths[10]]
        assert (size, lines, sha1) == (len(data), data.count(b"\n"), hashlib.sha1(data).hexdigest())
        assert top_words.split()[0] == "common:%d" % (3 * (1 + 10 % 7))
        assert {w for _, _, _, _, w in stored.values()} <= {"pool worker 1", "pool worker 2", "pool worker 3"}

    def test_report_shows_the_thread_tree(self, tmp_path) -> None:
        root = str(tmp_path / "tree")
        make_tree(root, 40)
        db = str(tmp_path / "index.sqlite")

        result = run_demo("--root", root, "--db", db, "--workers", "2")

        assert_reconciled(result, db)
        tree = result.stdout.split("thread tree as it stopped", 1)[1].split("\n\n", 1)[0]
        for name in ("Main Thread", "walker", "pool worker 1", "pool worker 2", "threaded queue for rows"):
            assert name in tree, tree
        assert "still running" not in tree, tree
        order = {m.group(1).strip(" │├└─"): int(m.group(2)) for m in re.finditer(r"^\s*(.*?)\s+stopped #(\d+)", tree, re.MULTILINE)}
        # the writer stops after every worker, the main thread last
        assert order["threaded queue for rows"] > max(order["pool worker 1"], order["pool worker 2"]), tree
        assert order["Main Thread"] == max(order.values()), tree

    def test_limit(self, tmp_path) -> None:
        root = str(tmp_path / "tree")
        make_tree(root, 120)
        db = str(tmp_path / "index.sqlite")

        result = run_demo("--root", root, "--db", db, "--limit", "50")

        counts = assert_reconciled(result, db)
        assert counts == {"queued": 50, "processed": 50, "written": 50, "left": 0}

    def test_bad_root_is_refused(self, tmp_path) -> None:
        result = run_demo("--root", str(tmp_path / "missing"), "--db", str(tmp_path / "x.sqlite"))
        assert result.returncode == 2
        assert "is not a directory" in result.stderr

    def test_seconds_stops_a_large_run(self, tmp_path, large_tree) -> None:
        db = str(tmp_path / "index.sqlite")
        start = time.monotonic()

        result = run_demo("--root", large_tree, "--db", db, "--workers", "2", "--seconds", "1")

        took = time.monotonic() - start
        counts = assert_reconciled(result, db)
        assert "stopped: --seconds 1.0 elapsed" in result.stdout, result.stdout
        assert counts["left"] >= 1  # the big file at least
        assert counts["queued"] == counts["processed"] + counts["left"]
        assert took < 15, "took %.1f s to stop after --seconds 1" % took

    @pytest.mark.parametrize("signum, reason", [(signal.SIGINT, "Ctrl-C (SIGINT)"), (signal.SIGTERM, "SIGTERM")])
    def test_signal_mid_run(self, tmp_path, large_tree, signum, reason) -> None:
        db = str(tmp_path / "index.sqlite")
        proc = start_demo("--root", large_tree, "--db", db, "--workers", "2", "--progress")
        try:
            wait_for_line(proc, "started:", timeout=20)
            time.sleep(0.5)
            proc.send_signal(signum)
            result = finish(proc, timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        counts = assert_reconciled(result, db)
        assert "stopped: " + reason in result.stdout, result.stdout
        assert counts["left"] >= 1  # the big file at least
        assert counts["queued"] == counts["processed"] + counts["left"]
        assert "files/s" in result.stderr  # the progress bar ran


class TestSqliteSink:
    def test_a_failed_batch_leaves_nothing_and_is_not_counted(self, tmp_path) -> None:
        sys.path.insert(0, os.path.dirname(DEMO))
        try:
            from _sqlite_sink import SqliteSink, reconcile_counts
        finally:
            sys.path.remove(os.path.dirname(DEMO))
        db = str(tmp_path / "sink.sqlite")
        sink = SqliteSink(db)
        try:
            sink.extend([("a", 1, 1, "x", "w:1", "t"), ("b", 2, 1, "y", "w:1", "t")])
            with pytest.raises(sqlite3.Error):
                sink.extend([("c", 3, 1, "z", "w:1", "t"), ("d", None, 1, "z", "w:1", "t")])  # size NOT NULL
            sink.add(("c", 3, 1, "z", "w:1", "t"))  # the retry of one row
            sink.add(object())  # the stop marker is not a row
        finally:
            sink.close()
        assert (sink.written, sink.batches) == (3, 2)
        assert reconcile_counts(db) == (3, 3)
        SqliteSink(db).close()  # recreated: empty again
        assert reconcile_counts(db) == (0, 0)


def load_example(module: str):
    sys.path.insert(0, os.path.dirname(DEMO))
    try:
        return __import__(module)
    finally:
        sys.path.remove(os.path.dirname(DEMO))


class TestFileStats:
    def test_words_cut_by_block_ends_are_counted_whole(self, tmp_path, monkeypatch) -> None:
        file_stats = load_example("_file_stats")
        data = b"alpha_beta gamma alpha_beta\nx12 alpha_beta gamma delta"  # no newline at the end
        path = str(tmp_path / "words.txt")
        with open(path, "wb") as handle:
            handle.write(data)
        for block in (1, 2, 3, 5, 7, 64 * 1024):
            monkeypatch.setattr(file_stats, "_BLOCK", block)
            stats = file_stats.file_stats(path, "w")
            assert stats.top_words == "alpha_beta:3 gamma:2 x12:1 delta:1", block
            assert (stats.size, stats.lines, stats.sha1) == (len(data), 2, hashlib.sha1(data).hexdigest())

    def test_a_long_run_of_word_characters_is_not_a_word(self, tmp_path) -> None:
        # binary data can hold megabytes of letters in a row: linear work, and no giant "word"
        file_stats = load_example("_file_stats")
        path = str(tmp_path / "blob.bin")
        with open(path, "wb") as handle:
            handle.write(b"head head\n" + b"A" * 8_000_000 + b" tail tail tail")
        assert file_stats.file_stats(path, "w").top_words == "tail:3 head:2"


class TestReconciliation:
    def test_a_lost_row_fails_the_reconciliation(self, tmp_path) -> None:
        index_tree = load_example("index_tree")
        sink_module = load_example("_sqlite_sink")
        args = index_tree.parse_args(["--root", str(tmp_path), "--db", str(tmp_path / "x.sqlite"), "--no-progress"])
        sink = sink_module.SqliteSink(args.db)
        pipeline = index_tree.Pipeline(args, sink)  # never started: no threads
        pipeline.walk_tally.queued = 2
        pipeline.work_tallies[0].processed = 2
        sink.extend([("a", 1, 1, "x", "", "t")])  # one of the two rows never arrived
        sink.close()
        out = io.StringIO()

        reconciled = index_tree.report(pipeline, "a test", 1.0, out)

        assert reconciled is False
        assert "reconciliation: FAILED  processed 2 == written 1 == SELECT COUNT(*) 1" in out.getvalue(), out.getvalue()
