"""Index a directory tree into SQLite with mo_threads: a pipeline that stops in order.

    python examples/index_tree.py [--root PATH] [--db PATH] [--workers N]
                                  [--limit N] [--seconds S] [--progress]

The pipeline:

    walker (Thread) ──paths──▶ Queue(max) ──▶ ThreadPool: N workers ──rows──▶
        ThreadedQueue ──batches──▶ SqliteSink.extend(): executemany + commit

The walker lists regular files under `--root` (default: this interpreter's
standard library, without site-packages) into a bounded Queue; the pool's workers read each file and
compute its size, line count, sha1 and five most common words; the rows go
through a ThreadedQueue whose thread inserts them in batches into `--db`
(default ./demo.sqlite, recreated each run). Logging goes to a file (`--log`,
default: the database path with `.log`) through mo-logs' logging thread.

It stops when every file is done, after `--seconds`, on Ctrl-C or on SIGTERM
(a second Ctrl-C forces the exit), always in the same order: the walker, then
the workers (a file being read is abandoned: left unread, like the queued ones), then the writer (every row
handed to it is written), then the progress bar and logging. Then it prints
the thread tree as it stopped, the counts, and a reconciliation checked by SQL:
processed == written == COUNT(*), and COUNT(DISTINCT path) == COUNT(*).
Exit status 0 when that holds, 1 when not.
"""

from __future__ import annotations

import argparse
import os
import queue
import stat
import sys
import sysconfig
import time
from typing import Any, List, Optional, Sequence, TextIO, Tuple

from mo_logs import logger
from mo_logs.log_usingStream import StructuredLogger_usingStream

from mo_threads import MAIN_THREAD, PLEASE_STOP, Lock, Signal, Thread, Till, current_thread, stop_main_thread
from mo_threads.pools import PoolThread, ThreadPool
from mo_threads.queues import Queue, ThreadedQueue

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _file_stats import file_stats  # noqa: E402
from _progress import ProgressBar  # noqa: E402
from _sqlite_sink import SqliteSink, reconcile_counts  # noqa: E402
from _thread_tree import TreeRecorder  # noqa: E402

PATH_QUEUE_SIZE = 1000
BATCH_SIZE = 500
BATCH_PERIOD = 0.2
THIRD_PARTY = ("site-packages", "dist-packages")


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """The command line; raises SystemExit (status 2) on bad arguments, as argparse does."""
    parser = argparse.ArgumentParser(
        prog="index_tree",
        description="Index a directory tree into SQLite with a mo_threads pipeline, then stop in order.",
    )
    parser.add_argument(
        "--root",
        default=None,
        help="directory to index (default: this Python's standard library, without its site-packages)",
    )
    parser.add_argument("--db", default="demo.sqlite", help="SQLite file, recreated each run (default: ./demo.sqlite)")
    parser.add_argument("--log", default=None, help="log file (default: the --db path with .log)")
    parser.add_argument("--workers", type=int, default=4, help="worker threads that read files (default: 4)")
    parser.add_argument("--limit", type=int, default=None, help="index at most N files")
    parser.add_argument("--seconds", type=float, default=None, help="stop after S seconds, as if Ctrl-C")
    parser.add_argument(
        "--progress",
        action="store_true",
        default=None,
        help="draw the progress bar on stderr even when it is not a terminal",
    )
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="never draw the progress bar")
    args = parser.parse_args(argv)
    args.skip = ()
    if args.root is None:
        args.root = sysconfig.get_paths()["stdlib"]
        args.skip = THIRD_PARTY  # installed packages are not the standard library
    if not os.path.isdir(args.root):
        parser.error("--root " + repr(args.root) + " is not a directory")
    if args.workers < 1:
        parser.error("--workers must be at least 1, not " + str(args.workers))
    if args.limit is not None and args.limit < 0:
        parser.error("--limit must not be negative, not " + str(args.limit))
    if args.seconds is not None and args.seconds < 0:
        parser.error("--seconds must not be negative, not " + str(args.seconds))
    if args.progress is None:
        args.progress = sys.stderr.isatty()
    if args.log is None:
        args.log = os.path.splitext(args.db)[0] + ".log"
    return args


class Tally:
    """Counts kept by one thread only, so no lock is needed; the main thread sums them."""

    __slots__ = ("queued", "processed", "unreadable", "abandoned", "finished")

    def __init__(self) -> None:
        self.queued = 0
        self.processed = 0
        self.unreadable = 0
        self.abandoned = 0  # a file being read when the stop came
        self.finished = False


def walk(
    root: str, paths: Queue, limit: Optional[int], skip: Sequence[str], tally: Tally, please_stop: Signal
) -> None:
    """Queue every regular file under `root` (sorted, at most `limit`, not in a `skip` folder), then close `paths`."""
    try:
        for directory, subdirectories, files in os.walk(root):
            subdirectories[:] = sorted(d for d in subdirectories if d not in skip)
            for name in sorted(files):
                if please_stop or (limit is not None and tally.queued >= limit):
                    return
                path = os.path.join(directory, name)
                try:
                    info = os.lstat(path)
                except OSError:
                    continue
                if not stat.S_ISREG(info.st_mode):
                    continue  # links, fifos, sockets: a fifo would block its reader forever
                try:
                    paths.add(path, till=please_stop)
                except queue.Full:
                    return  # asked to stop while the queue was full
                tally.queued += 1
    finally:
        tally.finished = True
        paths.close()
        logger.info("Walker done: {count} files queued", count=tally.queued)


def work(paths: Queue, rows: ThreadedQueue, tally: Tally, stop: Signal, please_stop: Signal) -> None:
    """Take paths until the queue is closed and drained, or `stop` / `please_stop` fires.

    A stop in the middle of a file abandons it (counted in `tally.abandoned`, not processed).
    """
    name = current_thread().name
    until = stop | please_stop
    while not until:
        path = paths.pop(till=until)
        if path is PLEASE_STOP:
            break
        if path is None:
            continue  # asked to stop while waiting
        try:
            row = file_stats(path, name, until)
        except OSError as cause:
            tally.unreadable += 1
            logger.warning("Can not read {path}", path=path, cause=cause)
            continue
        if row is None:
            tally.abandoned += 1  # asked to stop in the middle of a big file
            break
        rows.add(row)
        tally.processed += 1  # counted once the writer's queue holds it
    tally.finished = True


class Pipeline:
    """The walker, the pool of workers and the writer, wired together; `stop()` stops them in order."""

    def __init__(self, args: argparse.Namespace, sink: SqliteSink) -> None:
        self.args = args
        self.sink = sink
        self.walk_tally = Tally()
        self.work_tallies = [Tally() for _ in range(args.workers)]
        self.paths = Queue("paths", max=PATH_QUEUE_SIZE, silent=True)
        self.stop_working = Signal("stop working")
        self.all_done = Signal("every file done")
        self.remaining_workers = args.workers
        self.lock = Lock("pipeline")
        self.rows: Optional[ThreadedQueue] = None
        self.pool: Optional[ThreadPool] = None
        self.workers: List[PoolThread] = []
        self.walker: Optional[Thread] = None
        self.progress: Optional[ProgressBar] = None
        self.recorder = TreeRecorder()
        self.failures: List[BaseException] = []
        self.left_in_queue = 0
        self.started_at = time.perf_counter()

    def start(self) -> None:
        """Start the writer, the workers, the walker and the progress bar (in that order: consumers first)."""
        self.started_at = time.perf_counter()
        self.rows = ThreadedQueue("rows", self.sink, batch_size=BATCH_SIZE, period=BATCH_PERIOD, silent=True)
        self.pool = ThreadPool(self.args.workers, name="pool")
        for i, tally in enumerate(self.work_tallies):
            self.workers.append(self.pool.run("index files " + str(i + 1), self._work, tally))
        self.walker = Thread.run(
            "walker", walk, self.args.root, self.paths, self.args.limit, self.args.skip, self.walk_tally
        )
        if self.args.progress:
            self.progress = ProgressBar(self.progress_counts).start()
        self.recorder.watch()
        # a thread that already ended has left the tree: track the ones we know by name
        self.recorder.track(self.rows.thread)
        self.recorder.track(self.walker)

    def _work(self, tally: Tally, please_stop: Signal) -> None:
        try:
            work(self.paths, self.rows, tally, self.stop_working, please_stop)  # type: ignore[arg-type]
        finally:
            with self.lock:
                self.remaining_workers -= 1
                last = self.remaining_workers == 0
            if last:
                self.all_done.go()

    def progress_counts(self) -> Tuple[int, int, bool]:
        """(files done, files queued, still walking) for the progress bar."""
        done = sum(t.processed + t.unreadable for t in self.work_tallies)
        return done, self.walk_tally.queued, not self.walk_tally.finished

    def stop(self) -> None:
        """Stop in order: walker, workers, writer, progress bar. Safe to call again if interrupted."""
        self.recorder.mark_stop_requested()
        self.recorder.watch()
        walker = self.walker
        if walker is not None:
            walker.stop()
            self._join(walker)
        self.stop_working.go()
        for worker in self.workers:
            self._join(worker)
        if self.pool is not None:
            self._join(self.pool)
            self.pool = None
        self.left_in_queue = len(self.paths) + sum(t.abandoned for t in self.work_tallies)
        if self.rows is not None:
            self.rows.stop()
        if self.progress is not None:
            self.progress.stop()
        self.sink.close()

    def _join(self, thread: Any) -> None:
        try:
            thread.join()
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as failure:
            if not any(failure is f for f in self.failures):
                self.failures.append(failure)
                logger.warning("{name} failed", name=getattr(thread, "name", repr(thread)), cause=failure)

    def counts(self) -> Tuple[int, int, int]:
        """(queued, processed, unreadable)."""
        return (
            self.walk_tally.queued,
            sum(t.processed for t in self.work_tallies),
            sum(t.unreadable for t in self.work_tallies),
        )


def wait_for_the_end(pipeline: Pipeline, deadline: Signal, seconds: Optional[float]) -> str:
    """Block until every file is done, `deadline` fires, or the program is asked to stop; say which."""
    (pipeline.all_done | deadline | MAIN_THREAD.please_stop).wait()
    if pipeline.all_done:
        return "every file is done"
    if deadline:
        return "--seconds " + str(seconds) + " elapsed"
    return "asked to stop"


def report(pipeline: Pipeline, reason: str, elapsed: float, out: TextIO) -> bool:
    """Print the thread tree, the counts and the reconciliation; True when reconciled."""
    queued, processed, unreadable = pipeline.counts()
    written = pipeline.sink.written
    rows, distinct = reconcile_counts(pipeline.sink.path)
    left = pipeline.left_in_queue
    asked = pipeline.recorder.stop_requested_at
    asked_after = (asked - pipeline.started_at) if asked is not None else elapsed
    lines = [
        "",
        "stopped: %s after %.2f s (asked to stop at %.2f s, all stopped %.0f ms later)"
        % (reason, elapsed, asked_after, (elapsed - asked_after) * 1000),
        "",
        "thread tree as it stopped (ms after the stop request; #n = order):",
    ]
    lines.extend("  " + line for line in pipeline.recorder.lines())
    lines.extend(
        [
            "",
            "queued     %8d files" % queued,
            "processed  %8d files (%d unreadable, %d left unread at the stop)" % (processed, unreadable, left),
            "written    %8d rows in %d batches (%.0f rows/s)" % (written, pipeline.sink.batches, written / max(elapsed, 1e-6)),
        ]
    )
    accounted = queued == processed + unreadable + left
    reconciled = processed == written == rows and distinct == rows and accounted and not pipeline.failures
    lines.append(
        "reconciliation: %s  processed %d == written %d == SELECT COUNT(*) %d; COUNT(DISTINCT path) %d (%s); "
        "queued %d == processed + unreadable + left %d"
        % (
            "OK" if reconciled else "FAILED",
            processed,
            written,
            rows,
            distinct,
            "no path twice" if distinct == rows else "%d written twice" % (rows - distinct),
            queued,
            processed + unreadable + left,
        )
    )
    for failure in pipeline.failures:
        lines.append("failure: " + str(failure).splitlines()[0])
    out.write("\n".join(lines) + "\n")
    out.flush()
    return reconciled


def start_logging(path: str) -> Any:
    """Send mo-logs output to `path`, written by mo-logs' logging thread; returns the open file."""
    log_file = open(path, "wb")
    # trace=True: each line says when, and which thread, logged it
    logger.start(trace=True, logs=[StructuredLogger_usingStream(log_file)])
    return log_file


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the demo; return the exit status (0 when reconciled, 1 when not)."""
    args = parse_args(argv)
    out = sys.stdout
    log_file = start_logging(args.log)
    sink = SqliteSink(args.db)
    pipeline = Pipeline(args, sink)  # its clock starts now: elapsed times count from here
    try:
        deadline: Signal = Till(seconds=args.seconds) if args.seconds is not None else Signal("no deadline")
        pipeline.start()
        logger.info("Indexing {root} with {workers} workers into {db}", root=args.root, workers=args.workers, db=args.db)
        out.write(
            "started: indexing %s with %d workers into %s (log: %s); Ctrl-C to stop\n"
            % (args.root, args.workers, args.db, args.log)
        )
        out.flush()
        reason = wait_for_the_end(pipeline, deadline, args.seconds)
    except KeyboardInterrupt:
        reason = "Ctrl-C (SIGINT)"
    except SystemExit:
        reason = "SIGTERM"
    pipeline.recorder.mark_stop_requested()
    logger.info("Stopping: {reason}", reason=reason)
    while True:
        # only the first Ctrl-C / SIGTERM raises here (a second one forces the exit), so one retry is enough
        try:
            pipeline.stop()
            break
        except KeyboardInterrupt:
            reason += ", then Ctrl-C while stopping"
        except SystemExit:
            reason += ", then SIGTERM while stopping"
    elapsed = time.perf_counter() - pipeline.started_at
    logger.info("Stopped after {seconds|round(places=2)} seconds", seconds=elapsed)
    stop_main_thread()  # logging and the timer thread, last; the main thread is the root of the tree
    log_file.close()
    return 0 if report(pipeline, reason, elapsed, out) else 1


if __name__ == "__main__":
    sys.exit(main())
