"""Shutdown watchdog: a thread that ignores please_stop is reported on stderr, with what it waits on (issue 10)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from typing import List

import pytest

from tests.helpers import start_python, wait_true

POSIX = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="POSIX signals needed")

STUBBORN = """
import sys, threading, time
import mo_threads
from mo_threads import Lock, Thread
mo_threads.set_grace_period(GRACE)
ledger = Lock("ledger")
held = threading.Event()

def holder(please_stop):
    with ledger:
        held.set()
        time.sleep(HOLD)           # ignores please_stop, keeps the lock

def stubborn(please_stop):
    please_stop.then(lambda: sys.stderr.write("stubborn asked to stop\\n"))
    held.wait()
    with ledger:                   # blocked until the holder lets go
        pass
    sys.stderr.write("stubborn finished\\n")

Thread.run("holder", holder)
Thread.run("stubborn", stubborn)
held.wait()
MAIN
"""


def program(grace: float, hold: float, main: str) -> str:
    return STUBBORN.replace("GRACE", repr(grace)).replace("HOLD", repr(hold)).replace("MAIN", main)


class Child:
    """A child whose stderr is read on a thread, so the test can wait for lines while it runs."""

    def __init__(self, code: str) -> None:
        self.proc = start_python(code)
        self.lines: List[str] = []
        self.reader = threading.Thread(target=self._read, name="stderr reader", daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in iter(self.proc.stderr.readline, ""):  # type: ignore[union-attr]
            self.lines.append(line)

    def text(self) -> str:
        return "".join(self.lines)

    def wait_for(self, text: str, timeout: float = 20) -> None:
        if not wait_true(lambda: text in self.text(), timeout=timeout):
            self.proc.kill()
            raise AssertionError("never saw " + repr(text) + " on stderr; got:\n" + self.text())

    def finish(self, timeout: float = 30) -> int:
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError("child hung; stderr:\n" + self.text())
        self.reader.join(10)
        self.proc.stdout.read()  # type: ignore[union-attr]
        return code


class TestShutdownReport:
    def test_a_thread_ignoring_please_stop_is_reported_with_what_it_waits_on(self) -> None:
        # the holder keeps the lock 6 s past the end of main; the grace period is 0.5 s
        child = Child(program(0.5, 6, 'print("main done", flush=True)'))
        child.wait_for("is still running", timeout=20)
        assert "stubborn finished" not in child.text()  # reported while it is still stuck
        child.wait_for("stubborn finished", timeout=30)
        assert child.finish() == 0, child.text()
        text = child.text()
        report = text[text.index("mo_threads: thread 'stubborn'"):]
        first = report.splitlines()[0]
        assert "(Main Thread / stubborn)" in first, first  # its tree path
        assert "waiting on Lock 'ledger' for " in first, first  # what it waits on
        assert "in stubborn" in report  # its stack
        # reported again at intervals, while it keeps running
        assert text.count("mo_threads: thread 'stubborn' (Main Thread / stubborn) is still running") >= 2, text

    @POSIX
    def test_a_second_signal_forces_the_exit_after_a_final_dump(self) -> None:
        main = (
            "from mo_threads import _os_signals, wait_for_shutdown_signal\n"
            "def ready():\n"
            "    while not _os_signals.STATE.parked:\n"
            "        time.sleep(0.01)\n"
            '    print("ready", flush=True)\n'
            "threading.Thread(target=ready, daemon=True).start()\n"
            "wait_for_shutdown_signal()\n"
            'print("not forced", flush=True)\n'
        )
        self.check_forced_exit(Child(program(30, 60, main)))

    @POSIX
    def test_a_second_signal_forces_the_exit_the_first_one_interrupted(self) -> None:
        # the first SIGINT raises KeyboardInterrupt in main; the second comes while the
        # exit waits for the threads (Python 3.12 starts no thread for the report then)
        main = 'print("ready", flush=True)\ntime.sleep(60)\nprint("not interrupted", flush=True)\n'
        child = self.check_forced_exit(Child(program(30, 60, main)))
        assert "KeyboardInterrupt" in child.text()

    @staticmethod
    def check_forced_exit(child: Child) -> Child:
        assert child.proc.stdout.readline().strip() == "ready"  # type: ignore[union-attr]
        child.proc.send_signal(signal.SIGINT)
        child.wait_for("stubborn asked to stop")
        child.proc.send_signal(signal.SIGINT)
        code = child.finish(timeout=20)
        text = child.text()
        assert code == 128 + signal.SIGINT, text
        assert "forced exit while thread 'stubborn' was still running" in text, text
        final = text[text.index("forced exit while thread 'stubborn'"):]
        assert "(waiting on Lock 'ledger' for " in final, final
        assert "in stubborn" in final  # its stack
        return child


class TestLastWords:
    """The report before a forced exit, written straight to the file descriptor where no thread can start."""

    class Stderr:
        def __init__(self, fd: int) -> None:
            self.fd = fd

        def fileno(self) -> int:
            return self.fd

    def test_the_whole_text_reaches_the_descriptor(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from mo_threads import _os_signals

        read_end, write_end = os.pipe()
        try:
            monkeypatch.setattr(sys, "stderr", self.Stderr(write_end))
            text = "".join("line %d of the report \u2014 still running\n" % i for i in range(200))  # > 512 bytes
            _os_signals._write_fd_within(text, 5)
            os.close(write_end)
            write_end = -1
            got = b""
            while True:
                piece = os.read(read_end, 65536)
                if not piece:
                    break
                got += piece
            assert got.decode("utf-8") == text
        finally:
            os.close(read_end)
            if write_end != -1:
                os.close(write_end)

    @POSIX
    def test_a_full_pipe_nobody_reads_gives_up_in_time(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from mo_threads import _os_signals

        read_end, write_end = os.pipe()
        try:
            os.set_blocking(write_end, False)
            try:
                while True:
                    os.write(write_end, b"x" * 65536)
            except BlockingIOError:
                pass  # full
            os.set_blocking(write_end, True)
            monkeypatch.setattr(sys, "stderr", self.Stderr(write_end))
            start = time.monotonic()
            _os_signals._write_fd_within("nobody will read this\n", 0.3)
            assert time.monotonic() - start < 5  # returned instead of blocking in write()
        finally:
            os.close(read_end)
            os.close(write_end)


class TestWaitInMain:
    def test_one_wait_in_slices_counts_as_one(self) -> None:
        import mo_threads
        from mo_threads import Signal
        from mo_threads._parking import MAIN_THREAD_SLICE
        from mo_threads._watchdog import wait_in_main

        assert threading.current_thread() is threading.main_thread()
        mo_threads.reset_statistics()
        gate = Signal("sliced gate")
        assert wait_in_main(gate, timeout=MAIN_THREAD_SLICE * 3.5) is False
        totals = mo_threads.statistics()["primitives"]["Signal 'sliced gate'"]
        assert totals["waits"] == 1, totals  # not one per slice
        assert totals["seconds"] >= MAIN_THREAD_SLICE * 3

    def test_a_fired_signal_is_not_a_wait(self) -> None:
        import mo_threads
        from mo_threads import Signal
        from mo_threads._watchdog import wait_in_main

        mo_threads.reset_statistics()
        fired = Signal("fired gate")
        fired.go()
        assert wait_in_main(fired) is True
        assert "Signal 'fired gate'" not in mo_threads.statistics()["primitives"]
