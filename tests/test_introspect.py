"""dump_threads, the SIGUSR1 dump and `python -m mo_threads` (issue 10)."""

from __future__ import annotations

import io
import re
import signal
import subprocess
import threading
import time
from typing import Any, Callable, List, Tuple

import pytest

from mo_threads import Lock, Signal, Thread, __version__, dump_on_signal, dump_threads
from mo_threads import _blocking
from tests.helpers import run_python, start_python, wait_true

HAS_USR1 = hasattr(signal, "SIGUSR1")
USR1 = pytest.mark.skipif(not HAS_USR1, reason="SIGUSR1 needed")


def dump() -> str:
    buffer = io.StringIO()
    dump_threads(file=buffer)
    return buffer.getvalue()


def line_of(text: str, name: str) -> str:
    """The dump line of thread `name` (fails the test when there is none)."""
    for line in text.splitlines():
        if line.lstrip().startswith("- " + name + " ["):
            return line
    raise AssertionError("no line for " + repr(name) + " in:\n" + text)


class Parked:
    """A thread that records a wait on `target` (as the primitives do) until released."""

    def __init__(self, name: str, kind: str, target: Any, ignore_stop: bool = False) -> None:
        self.release = threading.Event()
        self.waiting = threading.Event()
        self.ignore_stop = ignore_stop
        self.kind = kind
        self.target = target
        self.thread = Thread.run(name, self.run)

    def run(self, please_stop: Signal) -> None:
        record = _blocking.begin(self.kind, self.target)
        try:
            self.waiting.set()
            while not self.release.is_set() and (self.ignore_stop or not please_stop):
                time.sleep(0.01)
        finally:
            _blocking.end(record)

    def __enter__(self) -> Parked:
        assert self.waiting.wait(10)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release.set()
        self.thread.stop()
        self.thread.join()


class TestDumpThreads:
    def test_a_busy_thread_is_running_with_its_stack(self) -> None:
        def spinning_worker(please_stop: Signal) -> None:
            while not please_stop:
                time.sleep(0.01)

        thread = Thread.run("dump-me worker", spinning_worker)
        try:
            text = dump()
            assert line_of(text, "dump-me worker").endswith("[running]"), text
            assert "in spinning_worker" in text
            assert "time.sleep(0.01)" in text
        finally:
            thread.stop()
            thread.join()

    def test_a_waiting_thread_names_what_it_waits_on_and_for_how_long(self) -> None:
        lock = Lock("dump totals")
        with Parked("blocked worker", "Lock", lock):
            time.sleep(0.3)
            line = line_of(dump(), "blocked worker")
            assert "[waiting on Lock 'dump totals' for " in line, line
            seconds = float(line.split(" for ")[1].split(" s]")[0])
            assert 0.2 <= seconds < 30, line

    def test_a_stopping_thread_that_waits_shows_both(self) -> None:
        gate = Signal("gate that never opens")
        with Parked("stubborn worker", "Signal", gate, ignore_stop=True) as parked:
            parked.thread.please_stop.go()
            line = line_of(dump(), "stubborn worker")
            assert "[stopping, waiting on Signal 'gate that never opens' for " in line, line

    def test_a_stopping_thread_that_does_not_wait(self) -> None:
        release = threading.Event()

        def lingering(please_stop: Signal) -> None:
            while not release.is_set():
                time.sleep(0.01)

        thread = Thread.run("lingering worker", lingering)
        try:
            thread.please_stop.go()
            assert line_of(dump(), "lingering worker").endswith("[stopping]")
        finally:
            release.set()
            thread.join()

    def test_a_failed_thread_not_yet_joined_is_stopped(self) -> None:
        def failing_worker(please_stop: Signal) -> None:
            raise ValueError("failed on purpose")

        thread = Thread.run("failed worker", failing_worker)
        assert thread.stopped.wait(timeout=10)
        try:
            # a failure keeps the thread in the tree until joined, so that it is not lost
            assert line_of(dump(), "failed worker").endswith("[stopped]")
        finally:
            with pytest.raises(Exception, match="failed worker"):
                thread.join()
        with pytest.raises(AssertionError, match="no line for"):
            line_of(dump(), "failed worker")  # joined: gone, the failure went to the joiner

    def test_a_wait_that_ended_is_no_longer_shown(self) -> None:
        lock = Lock("brief")
        waited, release = threading.Event(), threading.Event()

        def after_wait_worker(please_stop: Signal) -> None:
            _blocking.end(_blocking.begin("Lock", lock))
            waited.set()
            release.wait(10)  # a plain Event: not a mo_threads wait

        thread = Thread.run("after-wait worker", after_wait_worker)
        try:
            assert waited.wait(10)
            assert line_of(dump(), "after-wait worker").endswith("[running]")
        finally:
            release.set()
            thread.join()

    def test_children_are_indented_under_their_parent(self) -> None:
        release = threading.Event()

        def child(please_stop: Signal) -> None:
            release.wait(10)

        def parent(please_stop: Signal) -> None:
            Thread.run("dump child", child).join()

        thread = Thread.run("dump parent", parent)
        try:
            assert wait_true(lambda: "dump child" in dump())
            text = dump()
            parent_line, child_line = line_of(text, "dump parent"), line_of(text, "dump child")
            indent = len(parent_line) - len(parent_line.lstrip())
            assert len(child_line) - len(child_line.lstrip()) > indent
            assert text.index(parent_line) < text.index(child_line)
        finally:
            release.set()
            thread.join()

    def test_plain_threads_are_listed_apart(self) -> None:
        release = threading.Event()

        def plain_target() -> None:
            release.wait(10)

        plain = threading.Thread(target=plain_target, name="plain threading thread")
        plain.start()
        try:
            text = dump()
            assert "Other threads (not in the tree):" in text
            assert text.index("Other threads") < text.index("- plain threading thread [")
            assert "in plain_target" in text
        finally:
            release.set()
            plain.join()

    def test_dump_defaults_to_stderr(self, capsys: Any) -> None:
        dump_threads()
        assert "- Main Thread [" in capsys.readouterr().err


class TestDumpNamesALock:
    """Issue 10: a dump that names a thread blocked on a named Lock held by main."""

    def test_thread_blocked_on_a_lock_held_by_main(self) -> None:
        lock = Lock("ledger")
        entered = threading.Event()

        def clerk(please_stop: Signal) -> None:
            with lock:
                entered.set()

        with lock:
            thread = Thread.run("clerk", clerk)
            # (a wait shows once it has lasted the 1 ms wait threshold; look at the clerk's
            # line alone: the main thread's stack in the dump holds this very source line)
            assert wait_true(lambda: "[waiting on Lock" in line_of(dump(), "clerk")), dump()
            text = dump()
            line = line_of(text, "clerk")
            assert "[waiting on Lock 'ledger' for " in line, line
            assert "in clerk" in text and "with lock:" in text  # where it waits
            assert not entered.is_set()
        thread.join()
        assert entered.is_set()
        assert "ledger" not in line_of(dump(), "Main Thread")

    def test_thread_joining_another_names_the_join(self) -> None:
        release = threading.Event()

        def slow(please_stop: Signal) -> None:
            release.wait(10)

        def joiner(please_stop: Signal) -> None:
            Thread.run("joined one", slow).join()

        thread = Thread.run("joiner", joiner)
        try:
            # the joiner's line alone: the main thread's stack in the dump holds this source line
            assert wait_true(lambda: "[waiting on join 'joined one' for " in line_of(dump(), "joiner")), dump()
        finally:
            release.set()
            thread.join()


# --- SIGUSR1 ----------------------------------------------------------------------------
class StderrReader:
    """Collect a child's stderr on a thread, so the test can wait for a line while it runs."""

    def __init__(self, proc: subprocess.Popen) -> None:  # type: ignore[type-arg]
        self.lines: List[str] = []
        self.proc = proc
        self.thread = threading.Thread(target=self._read, name="stderr reader", daemon=True)
        self.thread.start()

    def _read(self) -> None:
        for line in iter(self.proc.stderr.readline, ""):  # type: ignore[union-attr]
            self.lines.append(line)

    def text(self) -> str:
        return "".join(self.lines)

    def wait_for(self, predicate: Callable[[str], bool], timeout: float = 20) -> str:
        if not wait_true(lambda: predicate(self.text()), timeout=timeout):
            self.proc.kill()
            raise AssertionError("not seen on stderr; got:\n" + self.text())
        return self.text()


def finish_with_stdin(proc: subprocess.Popen, reader: StderrReader, text: str, timeout: float = 30) -> str:  # type: ignore[type-arg]
    """Send `text` to the child's stdin, wait for it to exit; return its stdout."""
    proc.stdin.write(text)  # type: ignore[union-attr]
    proc.stdin.close()  # type: ignore[union-attr]
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError("child hung; stderr:\n" + reader.text())
    out = proc.stdout.read()  # type: ignore[union-attr]
    reader.thread.join(10)
    return str(out)


PARKED_PROGRAM = """
import sys
from mo_threads import Lock, Thread, _blocking
SETUP
ledger = Lock("ledger")
def clerk(please_stop):
    record = _blocking.begin("Lock", ledger)   # as a blocked `with ledger:` records it
    try:
        please_stop.wait()
    finally:
        _blocking.end(record)
Thread.run("usr1 clerk", clerk)
print("ready", flush=True)
sys.stdin.readline()          # parked until the test says so
print("still running after the dump", flush=True)
"""


def parked_program(setup: str = "") -> str:
    return PARKED_PROGRAM.replace("SETUP", setup)


def start(code: str) -> Tuple[Any, str]:
    proc = start_python(code, stdin=subprocess.PIPE)
    first = proc.stdout.readline()  # type: ignore[union-attr]
    return proc, str(first)


@USR1
class TestDumpOnSignal:
    def test_sigusr1_dumps_to_stderr_and_the_program_goes_on(self) -> None:
        proc, first = start(parked_program())
        reader = StderrReader(proc)
        assert first.strip() == "ready", reader.text()
        proc.send_signal(signal.SIGUSR1)
        text = reader.wait_for(lambda t: "usr1 clerk [" in t)
        assert "mo_threads: thread dump of process " + str(proc.pid) in text
        assert "- usr1 clerk [waiting on Lock 'ledger' for " in text
        assert "in clerk" in text  # with its stack
        out = finish_with_stdin(proc, reader, "go on\n")
        assert proc.returncode == 0, reader.text()
        assert "still running after the dump" in out

    def test_every_signal_dumps_again(self) -> None:
        proc, first = start(parked_program())
        reader = StderrReader(proc)
        assert first.strip() == "ready", reader.text()
        for count in (1, 2, 3):
            proc.send_signal(signal.SIGUSR1)
            reader.wait_for(lambda t: t.count("usr1 clerk [") >= count)
        out = finish_with_stdin(proc, reader, "go on\n")
        assert proc.returncode == 0, reader.text()
        assert "still running after the dump" in out
        time.sleep(0.3)
        assert reader.text().count("thread dump of process") == 3, reader.text()

    def test_a_handler_set_by_the_program_before_is_kept(self) -> None:
        setup = (
            "import signal\n"
            "signal.signal(signal.SIGUSR1, lambda s, f: print('own handler', flush=True))\n"
        )
        proc, first = start(parked_program(setup))
        reader = StderrReader(proc)
        assert first.strip() == "ready", reader.text()
        proc.send_signal(signal.SIGUSR1)
        time.sleep(0.5)
        out = finish_with_stdin(proc, reader, "go on\n")
        assert proc.returncode == 0, reader.text()
        assert "own handler" in out
        assert "thread dump" not in reader.text()

    def test_the_handler_dumps_when_the_watcher_hears_nothing(self) -> None:
        # another party (an event loop) took the wakeup fd: the main thread's handler covers
        setup = (
            "import os, signal, threading\n"
            "from mo_threads import Thread\n"
            "Thread.run('first', lambda please_stop: None).join()\n"
            "read_end, write_end = os.pipe()\n"
            "os.set_blocking(write_end, False)\n"
            "signal.set_wakeup_fd(write_end)\n"
        )
        proc, first = start(parked_program(setup))
        reader = StderrReader(proc)
        assert first.strip() == "ready", reader.text()
        proc.send_signal(signal.SIGUSR1)
        text = reader.wait_for(lambda t: "usr1 clerk [" in t)
        assert "- usr1 clerk [waiting on Lock 'ledger' for " in text
        out = finish_with_stdin(proc, reader, "go on\n")
        assert proc.returncode == 0, reader.text()
        assert "still running after the dump" in out
        assert reader.text().count("thread dump of process") == 1, reader.text()

    def test_a_program_stuck_at_exit_is_dumped(self) -> None:
        # the moment a dump is wanted most; Python 3.12 starts no thread for it then
        code = (
            "import sys\n"
            "import mo_threads\n"
            "from mo_threads import Thread\n"
            "mo_threads.set_grace_period(60)\n"
            "def stuck(please_stop):\n"
            "    please_stop.then(lambda: print('asked to stop', flush=True))\n"
            "    sys.stdin.readline()          # ignores please_stop\n"
            "Thread.run('stuck at exit', stuck)\n"
            "print('ready', flush=True)\n"
        )
        proc, first = start(code)
        reader = StderrReader(proc)
        assert first.strip() == "ready", reader.text()
        assert proc.stdout.readline().strip() == "asked to stop", reader.text()  # type: ignore[union-attr]
        proc.send_signal(signal.SIGUSR1)
        text = reader.wait_for(lambda t: "stuck at exit [" in t)
        assert "mo_threads: thread dump of process " + str(proc.pid) in text
        assert "- stuck at exit [stopping" in text, text
        finish_with_stdin(proc, reader, "go\n")
        assert proc.returncode == 0, reader.text()

    def test_dump_on_signal_before_any_thread(self) -> None:
        code = """
        import signal, sys
        import mo_threads
        print("signal", mo_threads.dump_on_signal(), flush=True)
        sys.stdin.readline()
        print("still running after the dump", flush=True)
        """
        proc, first = start(code)
        reader = StderrReader(proc)
        assert first.strip() == "signal " + str(int(signal.SIGUSR1)), reader.text()
        proc.send_signal(signal.SIGUSR1)
        text = reader.wait_for(lambda t: "- Main Thread [" in t)
        # Main's own frame (no source text for -c code): parked in readline on line 5, or still
        # returning from the print on line 4 when the signal lands right after the flush.
        assert re.search(r'File "<string>", line [45], in <module>', text), text
        out = finish_with_stdin(proc, reader, "go on\n")
        assert proc.returncode == 0, reader.text()
        assert "still running after the dump" in out


class TestDumpOnSignalRefuses:
    def test_sigint_and_sigterm_are_refused(self) -> None:
        for signum in (signal.SIGINT, signal.SIGTERM):
            with pytest.raises(ValueError, match="stops the program"):
                dump_on_signal(signum)

    def test_a_non_number_is_refused(self) -> None:
        with pytest.raises(TypeError, match="str"):
            dump_on_signal("SIGUSR1")  # type: ignore[arg-type]

    def test_off_the_main_thread_is_refused(self) -> None:
        failures: List[BaseException] = []

        def other() -> None:
            try:
                dump_on_signal(getattr(signal, "SIGUSR2", 12))
            except ValueError as cause:
                failures.append(cause)

        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
        assert failures and "main thread" in str(failures[0])


# --- python -m mo_threads ----------------------------------------------------------------
class TestMain:
    def test_version_self_check_and_how_to_dump(self) -> None:
        result = run_python(
            """
            import runpy
            runpy.run_module("mo_threads", run_name="__main__")
            """,
            timeout=30,
        )
        assert result.returncode == 0, result.stderr
        assert "mo-threads " + __version__ in result.stdout
        assert "self-check OK" in result.stdout
        assert "dump_threads()" in result.stdout
        if HAS_USR1:
            assert "kill -USR1 <pid>" in result.stdout
