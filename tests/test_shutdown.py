"""Orderly shutdown, exit hooks and OS signals, each in a child interpreter with a hard timeout."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from typing import List

import pytest

from tests.helpers import REPO, child_env, finish, program_lines, run_python, send, start_python, wait_for_line

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="POSIX signals needed")

# prints "ready" once the main thread is parked in wait_for_shutdown_signal
# (a signal sent before that raises KeyboardInterrupt/SystemExit instead)
ANNOUNCE_WHEN_PARKED = """
import sys, threading, time
from mo_threads import _os_signals

def say(text):
    sys.stdout.write(text + "\\n")  # one write: lines from threads do not mix
    sys.stdout.flush()

def _announce():
    while not _os_signals.STATE.parked:
        time.sleep(0.01)
    say("ready")

def announce_when_parked():
    threading.Thread(target=_announce, daemon=True).start()
"""


def parked_program(code: str) -> str:
    """`code` (indented or not) after the definition of announce_when_parked()."""
    return ANNOUNCE_WHEN_PARKED + textwrap.dedent(code)

# a tree: "parent" (children "child-1", "child-2"), then "late"; every
# please_stop is printed when it fires, every end says whether the thread's
# children had all stopped by then
TREE = """
import sys, time
from mo_threads import Signal, Thread, Till, MAIN_THREAD, wait_for_shutdown_signal

def say(text):
    sys.stdout.write(text + "\\n")
    sys.stdout.flush()

watched = []

def watch(thread, children=()):
    watched.append(thread)
    thread.please_stop.then(lambda: say("asked " + thread.name))
    thread.stopped.then(lambda: say(
        "ended " + thread.name
        + (", children stopped" if all(c.stopped for c in children) else ", CHILDREN RUNNING")
    ))
    return thread

def worker(please_stop):
    please_stop.wait()

ready = Signal()
children = []

def parent(please_stop):
    for name in ("child-1", "child-2"):
        children.append(watch(Thread.run(name, worker)))
    ready.go()
    please_stop.wait()

watch(Thread.run("parent", parent), children)
ready.wait()
watch(Thread.run("late", worker))
"""

ORDER = ["asked late", "asked child-2", "asked child-1", "asked parent"]


def wait_until_sleeping(pid: int) -> None:
    """Wait until the main thread of `pid` has been blocked for a while (Linux /proc; else a pause)."""
    stat = "/proc/%d/task/%d/stat" % (pid, pid)
    if not os.path.exists(stat):
        time.sleep(1)
        return
    asleep = 0
    deadline = time.time() + 10
    while time.time() < deadline and asleep < 5:
        with open(stat) as handle:
            state = handle.read().rsplit(")", 1)[1].split()[0]
        asleep = asleep + 1 if state == "S" else 0
        time.sleep(0.05)


lines_of = program_lines


def assert_stopped_in_order(out: str) -> None:
    lines = lines_of(out)
    for name in ("late", "child-1", "child-2", "parent"):
        assert "ended " + name + ", children stopped" in lines, out
    asked = [line for line in lines if line.startswith("asked")]
    assert asked == ORDER, out


class TestImportStartsNothing:
    def test_import_then_first_thread(self) -> None:
        code = """
        import signal, threading
        import mo_threads
        default = signal.getsignal(signal.SIGINT) is signal.default_int_handler
        print("after import:", threading.active_count(), default)
        def nothing(please_stop):
            pass
        mo_threads.Thread.run("first", nothing).join()
        print("after first thread:", signal.getsignal(signal.SIGINT) is signal.default_int_handler,
              signal.getsignal(signal.SIGTERM) is signal.SIG_DFL)
        """
        result = run_python(code, timeout=30)
        assert result.returncode == 0, result.stderr
        expected = ["after import: 1 True", "after first thread: False False"]
        assert lines_of(result.stdout) == expected, result.stdout

    def test_handlers_installed_once_the_main_thread_makes_a_thread(self) -> None:
        code = """
        import signal, threading
        from mo_threads import Thread
        def nothing(please_stop):
            pass
        # the first Thread is made off the main thread, where handlers can not be installed
        plain = threading.Thread(target=lambda: Thread.run("from plain", nothing).join())
        plain.start()
        plain.join()
        print("after a thread made elsewhere:", signal.getsignal(signal.SIGTERM) is signal.SIG_DFL)
        Thread.run("from main", nothing).join()
        print("after a thread made by main:", signal.getsignal(signal.SIGTERM) is signal.SIG_DFL)
        """
        result = run_python(code, timeout=30)
        assert result.returncode == 0, result.stderr
        assert lines_of(result.stdout) == [
            "after a thread made elsewhere: True",
            "after a thread made by main: False",
        ], result.stdout


class TestNormalExit:
    def test_threads_stop_in_order_when_the_program_ends(self) -> None:
        result = run_python(TREE + "say('main done')\n", timeout=30)
        assert result.returncode == 0, result.stderr
        lines = lines_of(result.stdout)
        assert lines.index("main done") < lines.index("asked late")
        assert_stopped_in_order(result.stdout)

    def test_first_timer_made_while_exiting_fires_instead_of_failing(self) -> None:
        # Python 3.12 refuses new threads to non-main threads once exit began, while
        # the main thread still counts as alive: a stopping thread that makes the
        # program's first Till (mo-logs' logger does) gets it fired, not an error
        code = """
        import sys
        from mo_threads import Thread, Till

        def late(please_stop):
            please_stop.wait()
            Till(seconds=0.2).wait()  # the program's first Till, made while the interpreter exits
            sys.stdout.write("after the wait\\n")
            sys.stdout.flush()

        Thread.run("late", late)
        """
        result = run_python(textwrap.dedent(code), timeout=30)
        assert result.returncode == 0, result.stderr
        assert "after the wait" in result.stdout, result.stderr
        assert "can not start" not in result.stderr

    def test_registered_foreign_threads_are_stopped_and_waited_for(self) -> None:
        code = """
        import threading, time
        from mo_threads import current_thread, register_thread, RegisterThread, Thread

        @register_thread
        def decorated():
            while not current_thread().please_stop:
                time.sleep(0.01)
            time.sleep(0.3)
            print("decorated cleaned up")

        def managed():
            with RegisterThread(name="managed"):
                current_thread().please_stop.wait()
                time.sleep(0.3)
                print("managed cleaned up")

        # a daemon thread is killed at exit unless shutdown waits for it;
        # a non-daemon one would be joined by Python before atexit hooks run
        threading.Thread(target=decorated, daemon=True).start()
        threading.Thread(target=managed, daemon=False).start()
        time.sleep(0.2)
        print("main done")
        """
        result = run_python(code, timeout=30)
        assert result.returncode == 0, result.stderr
        assert "decorated cleaned up" in result.stdout, result.stdout + result.stderr
        assert "managed cleaned up" in result.stdout, result.stdout + result.stderr

    def test_unjoined_failure_is_reported_at_exit(self) -> None:
        code = """
        from mo_threads import Thread
        def fail(please_stop):
            raise ValueError("nobody joined this boom")
        Thread.run("forgotten", fail).stopped.wait()
        print("main done")
        """
        result = run_python(code, timeout=30)
        output = result.stdout + result.stderr
        assert "nobody joined this boom" in output
        assert "forgotten" in output

    def test_stubborn_thread_is_reported_with_its_stack(self) -> None:
        code = """
        import time
        import mo_threads
        from mo_threads import Thread
        mo_threads.set_grace_period(0.5)

        def ignore_please_stop(please_stop):
            deadline = time.time() + 2
            while time.time() < deadline:
                time.sleep(0.01)
            print("stubborn finally ended")

        Thread.run("stubborn", ignore_please_stop)
        print("main done")
        """
        result = run_python(code, timeout=30)
        assert result.returncode == 0, result.stderr
        assert program_lines(result.stdout) == ["main done", "stubborn finally ended"], result.stdout
        report = result.stderr  # on stderr, once per report (issue 21, point 14)
        assert "mo_threads: thread 'stubborn'" in report, report
        assert "in ignore_please_stop" in report, report  # its current stack
        assert "time.sleep(0.01)" in report or "line" in report, report


class TestEndStepsBeforeTheShutdownEnds:
    def test_stopped_callbacks_of_children_finish_before_the_last_line(self) -> None:
        # `stopped` fires, then its callbacks run on the ending thread: the shutdown waits for them
        # before it logs its last line and stops the logging (a callback may still log)
        result = run_python(
            """
            import sys, time
            from mo_threads import Thread, stop_main_thread

            def slow_goodbye():
                time.sleep(0.5)
                sys.stdout.write("goodbye from a stopped callback\\n")  # one write: whole lines from three threads
                sys.stdout.flush()

            for i in range(3):
                Thread.run("worker %d" % i, lambda please_stop: please_stop.wait()).stopped.then(slow_goodbye)
            stop_main_thread()
            """,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        lines = [line.strip() for line in result.stdout.splitlines() if line.strip()]
        assert lines == ["goodbye from a stopped callback"] * 3 + ["All threads have shutdown"], result.stdout


class TestStopAndStartMainThread:
    def test_stop_then_start_again(self) -> None:
        code = """
        from mo_threads import MAIN_THREAD, Thread, Till, start_main_thread, stop_main_thread

        def fail(please_stop):
            raise ValueError("unjoined boom")

        def worker(please_stop):
            please_stop.wait()

        worker_thread = Thread.run("worker", worker)
        Thread.run("failing", fail).stopped.wait()
        failures = stop_main_thread()
        print("worker stopped:", bool(worker_thread.stopped))
        print("failures:", [str(f.__cause__) for f in failures], "failing" in str(failures[0]))
        print("main stopped:", bool(MAIN_THREAD.stopped))
        start_main_thread()
        print("restarted:", bool(MAIN_THREAD.stopped), bool(MAIN_THREAD.please_stop), MAIN_THREAD.children)
        timer = Till(seconds=0.2)
        print("timers wait again:", not timer, timer.wait())
        print("threads run again:", Thread.run("again", lambda please_stop: 42).join())
        """
        result = run_python(code, timeout=30)
        assert result.returncode == 0, result.stdout + result.stderr
        lines = [
            line for line in lines_of(result.stdout) if ":" in line and not line.startswith(("ERROR", "File"))
        ]
        assert lines[-6:] == [
            "worker stopped: True",
            "failures: ['unjoined boom'] True",
            "main stopped: True",
            "restarted: False False []",
            "timers wait again: True True",
            "threads run again: 42",
        ], result.stdout
        assert 'Thread "failing" failed' in result.stderr  # logged too, on stderr (issue 21, point 14)


    def test_order_children_then_logging_then_timers(self) -> None:
        code = """
        from mo_logs import logger
        from mo_threads import Thread, Till, stop_main_thread
        from mo_threads.till import timer_statistics

        def worker(please_stop):
            please_stop.wait()

        class Log:
            def write(self, template, params):
                pass
            def stop(self):
                print("logging stops; worker stopped:", bool(worker_thread.stopped),
                      "timer running:", timer_statistics()["running"], "pending till fired:", bool(pending))

        worker_thread = Thread.run("worker", worker)
        pending = Till(seconds=60)
        logger.main_log = Log()
        stop_main_thread()
        print("after: timer running:", timer_statistics()["running"], "pending till fired:", bool(pending))
        """
        result = run_python(code, timeout=30)
        assert result.returncode == 0, result.stdout + result.stderr
        assert lines_of(result.stdout) == [
            # every pending Till fired as the shutdown began (issue 21, point 1); the timer runs until the end
            "logging stops; worker stopped: True timer running: True pending till fired: True",
            "after: timer running: False pending till fired: True",
        ], result.stdout + result.stderr


class TestWaitForShutdownSignal:
    CODE = TREE + ANNOUNCE_WHEN_PARKED + """
announce_when_parked()
wait_for_shutdown_signal()
say("cleanup done, tree stopped: " + str(all(t.stopped for t in watched)))
"""

    @pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
    def test_signal_stops_the_tree_in_order(self, signum: int) -> None:
        proc = start_python(self.CODE)
        wait_for_line(proc, "ready")
        send(proc, signum)
        result = finish(proc, timeout=30)
        # documented: wait_for_shutdown_signal returns normally, the program goes on and ends
        assert result.returncode == 0, result.stderr
        assert_stopped_in_order(result.stdout)
        assert "cleanup done, tree stopped: True" in lines_of(result.stdout)
        assert "Traceback" not in result.stderr

    def test_exit_on_stdin(self) -> None:
        code = TREE + ANNOUNCE_WHEN_PARKED + """
announce_when_parked()
wait_for_shutdown_signal(allow_exit=True)
say("cleanup done, tree stopped: " + str(all(t.stopped for t in watched)))
"""
        proc = start_python(code, stdin=subprocess.PIPE)
        wait_for_line(proc, "ready")
        proc.stdin.write("not yet\n")
        proc.stdin.flush()
        proc.stdin.write("exit\n")
        proc.stdin.flush()
        result = finish(proc, timeout=30)
        assert result.returncode == 0, result.stderr
        assert_stopped_in_order(result.stdout)
        assert "cleanup done, tree stopped: True" in lines_of(result.stdout)

    def test_please_stop_argument(self) -> None:
        code = """
        from mo_threads import Thread, Till, wait_for_shutdown_signal
        def worker(please_stop):
            please_stop.wait()
            print("worker stopped")
        Thread.run("worker", worker)
        wait_for_shutdown_signal(please_stop=Till(seconds=0.3))
        print("returned")
        """
        result = run_python(code, timeout=30)
        assert result.returncode == 0, result.stderr
        lines = lines_of(result.stdout)
        assert lines == ["worker stopped", "returned"], result.stdout

    def test_wait_forever_false_returns_when_children_end(self) -> None:
        code = """
        import time
        from mo_threads import Thread, wait_for_shutdown_signal
        def short(seconds, please_stop):
            time.sleep(seconds)
            print("short", seconds, "ended")
        Thread.run("short-1", short, 0.2)
        Thread.run("short-2", short, 0.4)
        wait_for_shutdown_signal(wait_forever=False)
        print("returned")
        """
        result = run_python(code, timeout=30)
        assert result.returncode == 0, result.stderr
        assert lines_of(result.stdout) == ["short 0.2 ended", "short 0.4 ended", "returned"], result.stdout

    def test_wait_forever_false_reraises_a_child_failure(self) -> None:
        code = """
        import time
        from mo_threads import Thread, wait_for_shutdown_signal
        def fail(please_stop):
            time.sleep(0.2)
            raise ValueError("child boom")
        def fine(please_stop):
            time.sleep(0.1)
        Thread.run("failing child", fail)
        Thread.run("fine child", fine)
        try:
            wait_for_shutdown_signal(wait_forever=False)
        except Exception as e:
            print("raised:", type(e.__cause__).__name__, "child boom" in str(e), "failing child" in str(e))
            raise
        print("not raised")
        """
        result = run_python(code, timeout=30)
        assert result.returncode == 1, result.stdout + result.stderr
        assert "raised: ValueError True True" in result.stdout, result.stdout + result.stderr
        assert "not raised" not in result.stdout
        assert "child boom" in result.stderr  # the traceback

    def test_second_signal_forces_exit_during_a_slow_shutdown(self) -> None:
        code = """
        import time
        from mo_threads import Thread, wait_for_shutdown_signal
        def slow(please_stop):
            please_stop.wait()
            print("slow stopping")
            time.sleep(30)
        Thread.run("slow to stop", slow)
        announce_when_parked()
        wait_for_shutdown_signal()
        print("not forced")
        """
        proc = start_python(parked_program(code))
        wait_for_line(proc, "ready")
        send(proc, signal.SIGINT)
        wait_for_line(proc, "slow stopping")
        send(proc, signal.SIGINT)
        result = finish(proc, timeout=20)
        assert result.returncode == 128 + signal.SIGINT, result.stdout + result.stderr
        assert "not forced" not in result.stdout
        assert "slow to stop" in result.stderr  # the last report names who was still running

    def test_signal_while_a_thread_ignores_please_stop_still_exits(self) -> None:
        code = """
        import threading
        import mo_threads
        from mo_threads import Thread, wait_for_shutdown_signal
        mo_threads.set_grace_period(2)
        def stuck(please_stop):
            threading.Event().wait()  # deadlocked for ever
        for i in range(5):
            Thread.run("stuck thread " + str(i), stuck)
        announce_when_parked()
        wait_for_shutdown_signal()
        print("gave up waiting")
        """
        proc = start_python(parked_program(code))
        wait_for_line(proc, "ready")
        send(proc, signal.SIGTERM)
        # one grace period for the first, a short last chance for the others
        # (about 4 s; a grace period each would be 10 s)
        result = finish(proc, timeout=8.5)
        assert result.returncode == 0, result.stdout + result.stderr
        for i in range(5):
            assert "mo_threads: thread 'stuck thread " + str(i) + "'" in result.stderr, result.stderr
        assert "in stuck" in result.stderr  # its stack
        assert "gave up waiting" in result.stdout

    def test_application_handler_installed_before_is_still_called(self) -> None:
        code = """
        import signal
        signal.signal(signal.SIGINT, lambda signum, frame: print("application handler", signum))
        from mo_threads import Thread, wait_for_shutdown_signal
        def worker(please_stop):
            please_stop.wait()
            print("worker stopped")
        Thread.run("worker", worker)
        announce_when_parked()
        wait_for_shutdown_signal()
        print("cleanup done")
        """
        proc = start_python(parked_program(code))
        wait_for_line(proc, "ready")
        send(proc, signal.SIGINT)
        result = finish(proc, timeout=30)
        assert result.returncode == 0, result.stderr
        assert lines_of(result.stdout) == [
            "application handler " + str(int(signal.SIGINT)),
            "worker stopped",
            "cleanup done",
        ], result.stdout


class TestSignalsOutsideWait:
    def test_a_handler_installed_after_mo_threads_takes_over(self) -> None:
        code = """
        import signal, time
        import mo_threads
        from mo_threads import MAIN_THREAD, Thread
        mo_threads.set_grace_period(0.3)
        def worker(please_stop):
            please_stop.wait()
            print("worker stopped")
        Thread.run("worker", worker)
        got = []
        signal.signal(signal.SIGINT, lambda signum, frame: got.append(signum))
        print("ready")
        while not got:
            time.sleep(0.01)
        time.sleep(1)  # past the grace period: nobody acts for the main thread
        print("application handled it; please_stop:", bool(MAIN_THREAD.please_stop))
        """
        proc = start_python(code)
        wait_for_line(proc, "ready")
        send(proc, signal.SIGINT)
        result = finish(proc, timeout=30)
        assert result.returncode == 0, result.stdout + result.stderr
        assert lines_of(result.stdout) == [
            "application handled it; please_stop: False",
            "worker stopped",
        ], result.stdout + result.stderr

    def test_an_ignored_signal_stays_ignored(self) -> None:
        code = """
        import signal, time
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # as for a background job
        from mo_threads import MAIN_THREAD, Thread
        def worker(please_stop):
            please_stop.wait()
            print("worker stopped")
        Thread.run("worker", worker)
        print("ready")
        time.sleep(1)
        print("still running; please_stop:", bool(MAIN_THREAD.please_stop))
        """
        proc = start_python(code)
        wait_for_line(proc, "ready")
        send(proc, signal.SIGINT)
        result = finish(proc, timeout=30)
        assert result.returncode == 0, result.stdout + result.stderr
        expected = ["still running; please_stop: False", "worker stopped"]
        assert lines_of(result.stdout) == expected, result.stdout

    def test_keyboard_interrupt_in_a_main_thread_not_parked(self) -> None:
        code = """
        import time
        from mo_threads import Thread
        def worker(please_stop):
            please_stop.wait()
            print("worker stopped")
        Thread.run("worker", worker)
        try:
            print("ready")
            time.sleep(30)
        except KeyboardInterrupt:
            print("KeyboardInterrupt in main")
        """
        proc = start_python(code)
        wait_for_line(proc, "ready")
        send(proc, signal.SIGINT)
        result = finish(proc, timeout=30)
        assert result.returncode == 0, result.stderr
        assert lines_of(result.stdout) == ["KeyboardInterrupt in main", "worker stopped"], result.stdout

    def test_uncaught_keyboard_interrupt_still_stops_threads(self) -> None:
        code = TREE + """
say("ready")
from mo_threads import Lock
lock = Lock("lock")
with lock:
    lock.wait()  # for ever
"""
        proc = start_python(code)
        wait_for_line(proc, "ready")
        send(proc, signal.SIGINT)
        result = finish(proc, timeout=30)
        assert result.returncode != 0
        assert "KeyboardInterrupt" in result.stderr
        assert_stopped_in_order(result.stdout)

    def test_main_thread_blocked_on_a_lock_exits_on_sigterm(self) -> None:
        # whichever thread the kernel hands the signal to: the main thread's handler
        # raises SystemExit(143), or the watcher acts for it after the grace period
        code = """
        import threading
        import mo_threads
        from mo_threads import Thread
        mo_threads.set_grace_period(1)
        def worker(please_stop):
            please_stop.wait()
            print("worker stopped")
        Thread.run("worker", worker)
        lock = threading.Lock()
        lock.acquire()
        print("ready")
        lock.acquire()  # deadlock
        print("not reached")
        """
        proc = start_python(code)
        wait_for_line(proc, "ready")
        send(proc, signal.SIGTERM)
        result = finish(proc, timeout=30)
        assert result.returncode == 128 + signal.SIGTERM, result.stdout + result.stderr
        assert "not reached" not in result.stdout
        assert "worker stopped" in result.stdout

    def test_signal_delivered_to_another_thread_still_interrupts_main(self) -> None:
        # the kernel may hand a process signal to any thread; CPython then only
        # flags it, and a main thread asleep in C would not notice for 30 s
        code = """
        import signal, threading, time
        from mo_threads import Thread
        def worker(please_stop):
            please_stop.wait()
            print("worker stopped")
        Thread.run("worker", worker)
        def signal_from_here():
            time.sleep(0.3)
            signal.pthread_kill(threading.get_ident(), signal.SIGINT)  # this thread gets it
        threading.Thread(target=signal_from_here, daemon=True).start()
        start = time.monotonic()
        try:
            time.sleep(30)
        except KeyboardInterrupt:
            print("KeyboardInterrupt in main after", int(time.monotonic() - start), "s")
        """
        result = run_python(code, timeout=25)
        assert result.returncode == 0, result.stdout + result.stderr
        expected = ["KeyboardInterrupt in main after 0 s", "worker stopped"]
        assert lines_of(result.stdout) == expected, result.stdout

    def test_main_thread_stuck_in_c_code_still_exits_on_sigterm(self) -> None:
        code = """
        import signal, threading
        import mo_threads
        from mo_threads import Thread
        mo_threads.set_grace_period(0.5)
        def worker(please_stop):
            please_stop.wait()
            print("worker stopped")
        Thread.run("worker", worker)
        # the main thread can not run its Python handler: only other threads see the signal
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
        lock = threading.Lock()
        lock.acquire()
        print("ready")
        lock.acquire()  # deadlock
        print("not reached")
        """
        proc = start_python(code)
        wait_for_line(proc, "ready")
        # let the main thread reach the deadlock: a signal flagged while it still
        # runs bytecode would be handled there, the ordinary way
        wait_until_sleeping(proc.pid)
        send(proc, signal.SIGTERM)
        result = finish(proc, timeout=30)
        assert result.returncode == 128 + signal.SIGTERM, result.stdout + result.stderr
        assert "worker stopped" in result.stdout
        assert "not reached" not in result.stdout
        assert "main thread did not react" in result.stderr
        assert "in <module>" in result.stderr  # where the main thread is stuck

    # a signal during the exit hook's shutdown forces the exit: tests/test_shutdown_holes.py (issue 21, point 2)


class TestDemo:
    DEMO = os.path.join(REPO, "examples", "demo.py")

    def start(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, self.DEMO, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=child_env(),
        )

    @staticmethod
    def events(out: str) -> List[str]:
        # "  1.23s  ticker-1: stopped" -> "ticker-1: stopped"
        return [line.split("s  ", 1)[1] for line in lines_of(out) if "s  " in line]

    def assert_tree_stopped_in_order(self, out: str) -> None:
        events = self.events(out)
        asked = [e for e in events if e.endswith("asked to stop")]
        assert asked == ["ticker-3: asked to stop", "ticker-2: asked to stop", "ticker-1: asked to stop",
                         "supervisor: asked to stop"], out
        stopped = [e.split(":")[0] for e in events if e.endswith("stopped") and "asked" not in e]
        # the tickers' order depends on timers under load; the supervisor ends after them all
        assert sorted(stopped[:3]) == ["ticker-1", "ticker-2", "ticker-3"], out
        assert stopped[3:] == ["supervisor"], out

    def test_ends_by_itself(self) -> None:
        result = finish(self.start("1"), timeout=10)
        assert result.returncode == 0, result.stderr
        self.assert_tree_stopped_in_order(result.stdout)
        assert "main: stopped by the timer" in result.stdout
        assert result.stderr == ""

    def test_ctrl_c(self) -> None:
        proc = self.start("30")
        wait_for_line(proc, "Ctrl-C to stop now")
        wait_for_line(proc, "tick 1")  # main parked in wait_for_shutdown_signal well before
        send(proc, signal.SIGINT)
        result = finish(proc, timeout=10)
        assert result.returncode == 0, result.stderr
        self.assert_tree_stopped_in_order(result.stdout)
        assert "main: stopped by a signal" in result.stdout


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork needed")
class TestFork:
    def test_a_forked_child_does_not_wait_for_the_parents_threads(self) -> None:
        code = """
        import os, time
        from mo_threads import MAIN_THREAD, Thread

        def worker(please_stop):
            please_stop.wait()
            print("worker stopped in", "parent" if os.getpid() == PARENT else "child", flush=True)

        PARENT = os.getpid()
        Thread.run("worker", worker)
        pid = os.fork()
        if pid == 0:
            print("child sees", [c.name for c in MAIN_THREAD.children], flush=True)
            Thread.run("child worker", worker)
            time.sleep(0.2)
        else:
            _, status = os.waitpid(pid, 0)
            print("child exit status", os.WEXITSTATUS(status), flush=True)
        """
        result = run_python(code, timeout=20)
        assert result.returncode == 0, result.stdout + result.stderr
        lines = lines_of(result.stdout)
        assert lines == [
            "child sees []",
            "worker stopped in child",
            "child exit status 0",
            "worker stopped in parent",
        ], result.stdout + result.stderr
