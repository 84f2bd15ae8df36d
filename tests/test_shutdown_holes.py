"""Issue 21, shutdown timers and signals (points 1, 2, 3, 5, 7, 8, 14), each in a child interpreter with a hard timeout."""

from __future__ import annotations

import signal
import time

import pytest

from tests.helpers import finish, program_lines, run_python, send, start_python, wait_for_line
from tests.test_shutdown import wait_until_sleeping
from tests.test_watchdog import Child

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="POSIX signals needed")

# a thread that takes a minute to stop once asked: the shutdown is under way while it runs
SLOW_TO_STOP = """
import time
from mo_threads import Thread, stop_main_thread
def slow(please_stop):
    please_stop.wait()
    print("slow stopping", flush=True)
    time.sleep(60)
Thread.run("slow to stop", slow)
"""

# a main thread deadlocked with SIGTERM blocked: it can not run its handler
DEAF_MAIN = """
import signal, threading
from mo_threads import Thread
def worker(please_stop):
    please_stop.wait()
Thread.run("worker", worker)
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
lock = threading.Lock()
lock.acquire()
print("ready", flush=True)
lock.acquire()  # deadlock, deaf to SIGTERM
"""


def seconds_in(text: str) -> float:
    """The first number in `text` ("shutdown took 0.1 s" -> 0.1)."""
    return float(next(word for word in text.replace(",", " ").split() if word[0].isdigit()))


class TestTillAtShutdown:
    """Point 1: every pending Till fires as the shutdown begins, before the children are joined."""

    def test_a_child_asleep_on_a_till_does_not_hold_the_shutdown(self) -> None:
        code = """
        import sys, time
        from mo_threads import Thread, Till, stop_main_thread
        def say(text):
            sys.stdout.write(text + "\\n")  # one write: lines from threads do not mix
        def sleeper(please_stop):
            Till(seconds=60).wait()  # does not watch please_stop
            say("sleeper woke")
        def poller(please_stop):
            # woken by its Till, it must find please_stop set already: no new minute-long sleep
            while not please_stop:
                Till(seconds=60).wait()
            say("poller stopped")
        Thread.run("sleeper", sleeper)
        Thread.run("poller", poller)
        time.sleep(0.3)
        began = time.monotonic()
        stop_main_thread()
        print("shutdown took", round(time.monotonic() - began, 1), "s")
        """
        result = run_python(code, timeout=20)  # the grace period is 30 s: a held shutdown hangs here
        assert result.returncode == 0, result.stdout + result.stderr
        lines = program_lines(result.stdout)
        assert "sleeper woke" in lines and "poller stopped" in lines, result.stdout
        assert lines[-1].startswith("shutdown took ") and seconds_in(lines[-1]) < 5, result.stdout
        assert "still running" not in result.stdout + result.stderr

    def test_a_till_made_during_the_shutdown_waits_its_time(self) -> None:
        # only the timers pending at the start fire: a Process stopped during the shutdown
        # still gives its program the grace period its kill timer measures
        code = """
        import time
        from mo_threads import Thread, Till, stop_main_thread
        def worker(please_stop):
            please_stop.wait()
            began = time.monotonic()
            Till(seconds=0.5).wait()
            print("waited", round(time.monotonic() - began, 1) >= 0.5, flush=True)
        Thread.run("worker", worker)
        stop_main_thread()
        """
        result = run_python(code, timeout=20)
        assert result.returncode == 0, result.stdout + result.stderr
        assert program_lines(result.stdout) == ["waited True"], result.stdout + result.stderr


    def test_a_process_stopped_by_the_shutdown_keeps_its_grace_period(self) -> None:
        # the kill timer a Process arms when asked to stop is made as the shutdown
        # asks the threads to stop: it is not one of the pending timers
        code = """
        from mo_threads import Process, stop_main_thread
        script = 'trap "sleep 0.5; echo cleaned up; exit 0" TERM; echo started; while true; do sleep 0.05; done'
        process = Process("trapper", ["sh", "-c", script])
        assert process.stdout.pop() == "started"
        stop_main_thread()
        print("returncode", process.returncode, "lines", process.stdout.pop_all())
        """
        result = run_python(code, timeout=20)
        assert result.returncode == 0, result.stdout + result.stderr
        assert program_lines(result.stdout)[-1] == "returncode 0 lines ['cleaned up']", result.stdout


class TestSignalDuringShutdown:
    """Point 2: a SIGINT/SIGTERM while a shutdown is under way forces the exit at once, after the dump."""

    @pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
    def test_during_stop_main_thread(self, signum: int) -> None:
        proc = start_python(SLOW_TO_STOP + "stop_main_thread()\nprint('not forced', flush=True)\n")
        wait_for_line(proc, "slow stopping")
        began = time.monotonic()
        send(proc, signum)
        result = finish(proc, timeout=20)  # the grace period is 30 s
        assert result.returncode == 128 + signum, result.stdout + result.stderr
        assert time.monotonic() - began < 10
        assert "not forced" not in result.stdout
        assert "forced exit while thread 'slow to stop' was still running" in result.stderr, result.stderr

    def test_during_the_exit_hook(self) -> None:
        proc = start_python(SLOW_TO_STOP + "print('main done', flush=True)\n")
        wait_for_line(proc, "slow stopping")
        send(proc, signal.SIGTERM)
        result = finish(proc, timeout=20)
        assert result.returncode == 128 + signal.SIGTERM, result.stdout + result.stderr
        assert "forced exit while thread 'slow to stop' was still running" in result.stderr, result.stderr


class TestFirstReport:
    """Point 3: a stuck thread is first reported a few seconds after the stop request; the shutdown waits on."""

    def test_first_report_within_docker_stops_window(self) -> None:
        code = """
        import sys, time
        from mo_threads import Thread
        def stubborn(please_stop):
            please_stop.wait()
            print("stubborn asked", flush=True)
            time.sleep(8)  # ignores the request for a while, well within the 30 s grace period
            print("stubborn done", flush=True)
        Thread.run("stubborn", stubborn)
        """
        proc = start_python(code)
        wait_for_line(proc, "stubborn asked")
        began = time.monotonic()
        line = proc.stderr.readline()  # type: ignore[union-attr]
        seconds = time.monotonic() - began
        assert "'stubborn'" in line and "still running" in line, line
        assert 3 <= seconds <= 7.5, seconds  # the first report: 5 s after the request
        result = finish(proc, timeout=30)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "stubborn done" in result.stdout  # the shutdown kept waiting for it

    def test_the_delay_is_configurable(self) -> None:
        code = """
        import time
        import mo_threads
        from mo_threads import Thread, stop_main_thread
        mo_threads.set_grace_period(30, report_after=0.5)
        def stubborn(please_stop):
            please_stop.wait()
            time.sleep(2)
            print("stubborn done", flush=True)
        Thread.run("stubborn", stubborn)
        began = time.monotonic()
        stop_main_thread()
        print("shutdown took", round(time.monotonic() - began, 1), "s", flush=True)
        """
        result = run_python(code, timeout=20)
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stderr.count("still running") == 1, result.stderr
        reported = result.stderr.split("still running, ")[1]
        assert 0.5 <= seconds_in(reported) < 1.9, result.stderr  # at report_after, well before the 2 s
        lines = program_lines(result.stdout)
        assert lines[-2] == "stubborn done" and seconds_in(lines[-1]) >= 2, result.stdout  # waited on

    def test_bad_delays_are_refused(self) -> None:
        import mo_threads
        from mo_threads import _watchdog

        before = (_watchdog.SETTINGS.grace_period, _watchdog.SETTINGS.report_after)
        for bad in (0, -1, float("nan")):
            with pytest.raises(ValueError, match="report_after"):
                mo_threads.set_grace_period(30, report_after=bad)
        with pytest.raises(TypeError, match="report_after"):
            mo_threads.set_grace_period(30, report_after="5")  # type: ignore[arg-type]
        assert (_watchdog.SETTINGS.grace_period, _watchdog.SETTINGS.report_after) == before  # nothing half-done


    def test_a_deaf_main_thread_is_reported_early_too(self) -> None:
        proc = start_python(DEAF_MAIN)
        wait_for_line(proc, "ready")
        wait_until_sleeping(proc.pid)
        began = time.monotonic()
        send(proc, signal.SIGTERM)
        line = proc.stderr.readline()  # type: ignore[union-attr]
        seconds = time.monotonic() - began
        proc.kill()
        finish(proc)
        assert "main thread did not react to signal 15 within 5.0 seconds" in line, line
        assert seconds <= 7.5, seconds  # not the 30 s grace period


class TestStopFromAnotherThread:
    """Point 5: stop_main_thread() off the main thread is refused, and nothing is stopped."""

    def test_refused_with_a_clear_error(self) -> None:
        code = """
        from mo_threads import MAIN_THREAD, Thread, Till, stop_main_thread
        def worker(please_stop):
            try:
                stop_main_thread()
            except RuntimeError as error:
                print("refused:", error, flush=True)
        Thread.run("worker", worker).join()
        print("main please_stop:", bool(MAIN_THREAD.please_stop), flush=True)
        print("timers work:", Till(seconds=0.05).wait(), flush=True)
        """
        result = run_python(code, timeout=20)
        assert result.returncode == 0, result.stdout + result.stderr
        lines = program_lines(result.stdout)
        assert lines[0].startswith("refused: Only the main thread can stop the main thread"), result.stdout
        assert lines[1:] == ["main please_stop: False", "timers work: True"], result.stdout


class TestSecondCtrlC:
    """Point 7: a Ctrl-C after the program caught the first KeyboardInterrupt raises again, as in plain Python."""

    def test_caught_twice(self) -> None:
        code = """
        import time
        from mo_threads import Thread
        def worker(please_stop):
            please_stop.wait()
        Thread.run("worker", worker)
        for i in range(2):
            try:
                print("ready", i, flush=True)
                time.sleep(30)
            except KeyboardInterrupt:
                print("caught", i, flush=True)
        print("carried on", flush=True)
        """
        proc = start_python(code)
        for i in range(2):
            wait_for_line(proc, "ready " + str(i))
            time.sleep(0.2)
            send(proc, signal.SIGINT)
        result = finish(proc, timeout=20)
        assert result.returncode == 0, result.stdout + result.stderr
        assert program_lines(result.stdout) == ["caught 1", "carried on"], result.stdout + result.stderr


class TestMainThreadDeaf:
    """Point 8: the main thread can not run handlers; a real second SIGTERM forces the exit at once."""

    def test_signals_blocked_on_the_main_thread(self) -> None:
        proc = start_python(DEAF_MAIN)
        wait_for_line(proc, "ready")
        wait_until_sleeping(proc.pid)
        send(proc, signal.SIGTERM)
        time.sleep(0.3)  # past the watcher's nudge, which the blocked main thread never receives
        began = time.monotonic()
        send(proc, signal.SIGTERM)
        result = finish(proc, timeout=20)  # the grace period is 30 s
        assert result.returncode == 128 + signal.SIGTERM, result.stdout + result.stderr
        assert time.monotonic() - began < 10
        assert "forced exit while thread 'worker' was still running" in result.stderr, result.stderr
    def test_a_signal_while_the_watcher_shuts_down_for_the_main_thread(self) -> None:
        # the shutdown the watcher runs for a deaf main thread is a shutdown under way too
        code = DEAF_MAIN.replace(
            "Thread.run(",
            "import time, mo_threads\n"
            "mo_threads.set_grace_period(3)\n"
            "Thread.run('stubborn', lambda please_stop: time.sleep(60))\n"
            "Thread.run(",
        )
        child = Child(code)
        assert child.proc.stdout.readline().strip() == "ready"  # type: ignore[union-attr]
        wait_until_sleeping(child.proc.pid)
        child.proc.send_signal(signal.SIGTERM)
        child.wait_for("shutting down for it", timeout=20)
        began = time.monotonic()
        child.proc.send_signal(signal.SIGTERM)
        returncode = child.finish(timeout=20)
        assert returncode == 128 + signal.SIGTERM, child.text()
        assert time.monotonic() - began < 2  # not at the end of the grace period the shutdown gives 'stubborn'
        assert "forced exit while thread 'stubborn' was still running" in child.text(), child.text()


STUCK_IN_C = """
import ctypes, sys, threading, time
from mo_threads import Thread, _os_signals
if sys.argv[1:] == ["late nudge byte"]:
    _os_signals.NUDGE_WINDOW = 0.0  # as if the watcher read the nudge's byte late (a loaded machine)
libc = ctypes.CDLL(None, use_errno=True)
mutex = ctypes.create_string_buffer(64)  # zeroed: PTHREAD_MUTEX_INITIALIZER (glibc)
def worker(please_stop):
    please_stop.wait()
    print("worker stopped", flush=True)
Thread.run("worker", worker)
held = threading.Event()
def holder():
    libc.pthread_mutex_lock(mutex)
    held.set()
    time.sleep(2)
    libc.pthread_mutex_unlock(mutex)
threading.Thread(target=holder).start()
held.wait()
print("ready", flush=True)
libc.pthread_mutex_lock(mutex)  # stuck in C for 2 s, signals not blocked: no EINTR ends this wait
print("main went on after SIGTERM", flush=True)
"""


class TestMainThreadStuckInC:
    """A main thread in a C call that signals do not interrupt: one SIGTERM is one signal, the nudge included."""

    @pytest.mark.parametrize("when", ["", "late nudge byte"])
    def test_one_sigterm_stops_in_order_once_the_main_thread_is_free(self, when: str) -> None:
        proc = start_python(STUCK_IN_C, *([when] if when else []))
        wait_for_line(proc, "ready")
        time.sleep(0.2)
        send(proc, signal.SIGTERM)
        result = finish(proc, timeout=30)
        assert "forced exit" not in result.stderr, result.stderr  # the watcher's own nudge is not a second signal
        # the orderly stop: the handler runs once the main thread is free, and ends it (SystemExit)
        assert program_lines(result.stdout) == ["worker stopped"], result.stdout + result.stderr
        assert result.returncode == 128 + signal.SIGTERM


class TestWhereReportsGo:
    """Point 14: warnings, stuck-thread reports and unjoined failures go to stderr, each once."""

    def test_on_stderr_once_and_never_on_stdout(self) -> None:
        code = """
        import time
        import mo_threads
        from mo_threads import Signal, Thread
        mo_threads.set_grace_period(5, report_after=0.5)
        def boom(please_stop):
            raise ValueError("nobody joined this boom")
        def stubborn(please_stop):
            please_stop.wait()
            time.sleep(1.5)
        Thread.run("boom", boom)
        Thread.run("stubborn", stubborn)
        signal = Signal("s")
        signal.then(lambda: 1 / 0)
        signal.go()
        time.sleep(0.2)
        print("main done")
        """
        result = run_python(code, timeout=30)
        assert program_lines(result.stdout) == ["main done"], result.stdout
        for text in ("nobody joined this boom", "is still running", "A Signal callback failed"):
            assert result.stderr.count(text) == 1, text + " in:\n" + result.stderr
