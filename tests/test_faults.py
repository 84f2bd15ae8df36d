"""Fault injection: failing sinks and callbacks, child processes that die or hang, threads that
ignore please_stop, and SIGINT/SIGTERM at random moments in a running pipeline.

Whatever fails, the program ends, the failure is reported, and no queued item is lost. Anything
about exit or OS signals runs in a child interpreter with a hard timeout (tests/helpers.py).
"""

from __future__ import annotations

import os
import random
import signal
import sys
import tempfile
import time
from typing import Any, List, Tuple

import pytest

from mo_threads import PLEASE_STOP, Process, Signal, Thread, ThreadedQueue, Till
from tests.conftest import LogCapture
from tests.helpers import finish, run_python, send, start_python, wait_for_line
from tests.test_watchdog import Child

POSIX = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="POSIX signals needed")


def wait_for(predicate: Any, seconds: float = 20) -> bool:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return bool(predicate())


# --- sinks that raise ------------------------------------------------------------------
class FlakySink:
    """A sink whose `extend` raises on the calls `fails(call_number)` says."""

    def __init__(self, fails: Any) -> None:
        self.fails = fails
        self.calls = 0
        self.items: List[Any] = []
        self.stopped = False

    def extend(self, batch: List[Any]) -> None:
        self.calls += 1
        if self.fails(self.calls):
            raise IOError("sink refused call " + str(self.calls))
        self.items.extend(batch)

    def add(self, value: Any) -> None:
        assert value is PLEASE_STOP
        self.stopped = True


class TestSinkFaults:
    @pytest.mark.parametrize("seed", [1, 2, 3])
    def test_a_flaky_sink_loses_nothing(self, seed: int) -> None:
        rng = random.Random(seed)
        sink = FlakySink(lambda call: rng.random() < 0.4)
        errors: List[Tuple[BaseException, List[Any]]] = []
        threaded = ThreadedQueue(
            "flaky", sink, batch_size=7, period=0.01, error_target=lambda e, batch: errors.append((e, list(batch)))
        )
        for i in range(300):
            threaded.add(i)
            if i % 50 == 0:
                time.sleep(0.01)  # let partial batches go out too
        threaded.stop()
        assert sink.items == list(range(300))  # every item, exactly once, in order
        assert sink.stopped
        assert errors, "the sink never failed: the test proved nothing"
        assert len(errors) == sum(1 for _ in errors)
        for error, batch in errors:
            assert isinstance(error, IOError) and "sink refused" in str(error)
            assert batch and all(item in sink.items for item in batch)  # each refused batch was retried

    def test_a_failing_sink_without_error_target_is_logged(self, log: LogCapture) -> None:
        sink = FlakySink(lambda call: call <= 2)
        threaded = ThreadedQueue("logged", sink, batch_size=10, period=0.01)
        threaded.extend(range(25))
        threaded.stop()
        assert sink.items == list(range(25))
        text = log.text()
        assert "'logged'" in text or "logged" in text
        assert "failed to deliver" in text and "sink refused call 1" in text

    def test_a_failing_error_target_is_logged_and_the_batch_still_retried(self, log: LogCapture) -> None:
        def broken_target(error: BaseException, batch: List[Any]) -> None:
            raise ValueError("error target broke")

        sink = FlakySink(lambda call: call == 1)
        threaded = ThreadedQueue("broken target", sink, batch_size=5, period=0.01, error_target=broken_target)
        threaded.extend(range(12))
        threaded.stop()
        assert sink.items == list(range(12))
        assert "error target broke" in log.text()

    def test_a_dead_sink_does_not_hang_shutdown(self) -> None:
        code = """
        from mo_threads import ThreadedQueue
        class Dead:
            def extend(self, batch):
                raise IOError("disk gone")
        rows = ThreadedQueue("doomed", Dead(), batch_size=10, period=0.05)
        rows.extend(range(25))
        print("main done", flush=True)
        """
        result = run_python(code, timeout=45)
        output = result.stdout + result.stderr
        assert result.returncode == 0, output
        assert "main done" in output
        assert "disk gone" in output  # each failure reported
        assert "lost" in output and "doomed" in output  # and the loss, by name, once it gave up


class TestExitWithQueuedItems:
    def test_items_still_queued_at_exit_are_delivered(self) -> None:
        code = """
        import sys, time
        from mo_threads import ThreadedQueue
        class SlowFileSink:
            def __init__(self, path):
                self.file = open(path, "w")
            def extend(self, batch):
                time.sleep(0.01)
                self.file.write("".join("%d\\n" % x for x in batch))
                self.file.flush()
            def add(self, value):
                self.file.write("END\\n")
                self.file.close()
        rows = ThreadedQueue("rows", SlowFileSink(sys.argv[1]), batch_size=500, period=5)
        for i in range(20000):
            rows.add(i)
        print("main done", flush=True)  # no stop(): the exit delivers the rest
        """
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "rows.txt")
            result = run_python(code, path, timeout=45)
            with open(path) as file:
                lines = file.read().splitlines()
        assert result.returncode == 0, result.stdout + result.stderr
        assert lines[-1] == "END"
        assert lines[:-1] == [str(i) for i in range(20000)]  # every item, once, in order


# --- then() callbacks that raise -------------------------------------------------------
class TestCallbackFaults:
    def test_failing_callbacks_are_reported_and_the_others_still_run(self, log: LogCapture) -> None:
        signal_ = Signal("busy")
        ran: List[int] = []
        reported: List[BaseException] = []

        def ok(i: int) -> Any:
            return lambda: ran.append(i)

        def bad(i: int) -> Any:
            def fail() -> None:
                ran.append(i)
                raise ValueError("callback " + str(i) + " broke")

            return fail

        for i in range(10):
            if i % 3 == 0:
                signal_.then(bad(i), error=reported.append)
            elif i % 3 == 1:
                signal_.then(bad(i))  # default: the log
            else:
                signal_.then(ok(i))
        signal_.go()  # never raises
        assert ran == list(range(10))  # every callback ran once, in order
        assert [str(e) for e in reported] == ["callback 0 broke", "callback 3 broke", "callback 6 broke", "callback 9 broke"]
        text = log.text()
        for i in (1, 4, 7):
            assert "callback " + str(i) + " broke" in text
        signal_.go()
        assert len(ran) == 10  # exactly once

    def test_a_failing_error_handler_is_logged(self, log: LogCapture) -> None:
        def handler(error: BaseException) -> None:
            raise RuntimeError("the handler broke too")

        s = Signal("double fault")
        s.then(lambda: 1 / 0, error=handler)
        s.then(lambda: None)
        s.go()
        assert "the handler broke too" in log.text()

    def test_the_timer_survives_failing_till_callbacks(self, log: LogCapture) -> None:
        fired: List[int] = []
        for i in range(20):
            till = Till(seconds=0.01 + i * 0.002)
            if i % 2:
                till.then(lambda: 1 / 0)
            till.then(lambda i=i: fired.append(i))
        last = Till(seconds=0.2)
        assert last.wait(timeout=20)  # the timer thread is still firing
        assert wait_for(lambda: len(fired) == 20)
        assert sorted(fired) == list(range(20))
        assert "division by zero" in log.text()

    def test_a_failing_callback_on_a_combination(self, log: LogCapture) -> None:
        a, b = Signal("a"), Signal("b")
        ran: List[str] = []
        both = a & b
        both.then(lambda: 1 / 0)
        both.then(lambda: ran.append("both"))
        (a | b).then(lambda: ran.append("either"))
        a.go()
        b.go()
        assert ran == ["either", "both"]
        assert "division by zero" in log.text()


# --- child processes that die or hang --------------------------------------------------
PY = sys.executable


@POSIX
class TestProcessFaults:
    def test_a_child_that_exits_non_zero(self) -> None:
        process = Process("dies", [PY, "-c", "import sys; print('last words'); sys.stderr.write('oops\\n'); sys.exit(3)"])
        with pytest.raises(RuntimeError) as caught:
            process.join(till=Till(seconds=30))
        message = str(caught.value)
        assert "'dies'" in message and "code 3" in message and "oops" in message
        assert process.returncode == 3
        assert process.stdout.pop_all() == ["last words"]  # its output is kept
        assert process.stdout.pop() is PLEASE_STOP

    def test_a_child_killed_by_a_signal(self) -> None:
        process = Process("shot", [PY, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"])
        with pytest.raises(RuntimeError, match="'shot'.*code -9"):
            process.join(till=Till(seconds=30))
        assert process.returncode == -signal.SIGKILL

    def test_a_silent_child_is_killed_and_reported(self, log: LogCapture) -> None:
        start = time.time()
        process = Process("hangs", ["sleep", "60"], timeout=0.3, startup_timeout=0.3)
        with pytest.raises(RuntimeError, match="killed after"):
            process.join(till=Till(seconds=30))
        assert time.time() - start < 20
        assert process.returncode == -signal.SIGKILL
        assert wait_for(lambda: "silent" in log.text() and "hangs" in log.text())

    def test_a_child_that_ignores_sigterm_is_killed_on_stop(self) -> None:
        code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(60)"
        process = Process("stubborn", [PY, "-c", code], timeout=None)
        process.grace_period = 0.3
        assert process.stdout.pop(till=Till(seconds=30)) == "ready"
        process.stop()
        process.join(till=Till(seconds=30))  # asked to stop: not a failure
        assert process.returncode == -signal.SIGKILL

    def test_a_dead_child_nobody_joined_is_reported_by_its_parent(self, log: LogCapture) -> None:
        made: List[Process] = []

        def owner(please_stop: Signal) -> None:
            made.append(Process("orphan", [PY, "-c", "import sys; sys.exit(7)"]))
            made[0].exited.wait(timeout=30)  # it fails; this thread ends without joining it

        Thread.run("owner", owner).join(till=Till(seconds=30))
        assert made[0].returncode == 7
        assert wait_for(lambda: "orphan" in log.text())
        assert "code 7" in log.text()


# --- threads that ignore please_stop ---------------------------------------------------
class TestStuckThreads:
    def test_a_slow_thread_is_reported_and_still_waited_for(self) -> None:
        code = """
        import time, mo_threads
        from mo_threads import Thread
        mo_threads.set_grace_period(0.5)
        def stubborn(please_stop):
            time.sleep(1.6)  # ignores please_stop
            print("stubborn finished", flush=True)
        Thread.run("stubborn worker", stubborn)
        time.sleep(0.1)
        print("main done", flush=True)
        """
        result = run_python(code, timeout=30)
        output = result.stdout + result.stderr
        assert result.returncode == 0, output
        assert "still running" in output and "stubborn worker" in output
        assert "in stubborn" in output  # with its stack
        assert output.index("main done") < output.index("stubborn finished")  # shutdown waited for it

    @POSIX
    def test_a_deadlocked_thread_is_reported_and_sigterm_still_ends_the_program(self) -> None:
        code = """
        import threading, mo_threads
        from mo_threads import Thread
        mo_threads.set_grace_period(0.5)
        def deadlocked(please_stop):
            threading.Event().wait()
        Thread.run("deadlocked worker", deadlocked)
        print("main done", flush=True)
        """
        child = Child(code)
        child.wait_for("still running", timeout=30)  # reported, on stderr
        child.proc.send_signal(signal.SIGTERM)
        returncode = child.finish(timeout=30)
        # a signal during the shutdown forces the exit at once (issue 21, point 2), after the dump
        assert returncode == 128 + signal.SIGTERM, child.text()
        assert "forced exit while thread 'deadlocked worker' was still running" in child.text(), child.text()


# --- SIGINT / SIGTERM at a random moment in a running pipeline -------------------------
# producer -> Queue(max=50) -> 3 consumers -> ThreadedQueue -> a sink writing a file.
# ORDERED follows examples/index_tree.py: on the signal, stop the producer, let the consumers
# drain the queue, then stop the ThreadedQueue: every item the producer queued is written.
PIPELINE = """
import sys, threading, time
from mo_threads import MAIN_THREAD, PLEASE_STOP, Queue, Thread, ThreadedQueue, stop_main_thread, wait_for_shutdown_signal
from mo_threads.queues import QueueClosed, QueueFull

mode, out_path, record_path = sys.argv[1], sys.argv[2], sys.argv[3]

class FileSink:
    def __init__(self, path):
        self.file = open(path, "w")
    def extend(self, batch):
        self.file.write("".join("%d %d\\n" % pair for pair in batch))
        self.file.flush()
    def add(self, value):
        if value is PLEASE_STOP:
            self.file.write("END\\n")
            self.file.close()

record = open(record_path, "w")
record_lock = threading.Lock()
work = Queue("work", max=50, silent=True)
sink = ThreadedQueue("sink", FileSink(out_path), batch_size=100, period=0.02, silent=True)

def produce(please_stop):
    n = 0
    try:
        while not please_stop:
            try:
                work.add(n, till=please_stop)
            except QueueFull:
                return  # asked to stop while the queue was full: n was not queued
            if mode == "ordered":
                record.write("%d\\n" % n)  # queued
            n += 1
    finally:
        work.close()

def consume(c, please_stop):
    if mode == "ordered":
        for n in work:  # until closed and drained
            sink.add((c, n))
            time.sleep(0.0002)
        return
    while not please_stop:  # "shutdown": stop when asked
        n = work.pop(till=please_stop)
        if n is None or n is PLEASE_STOP:
            return
        try:
            sink.add((c, n))
        except QueueClosed:
            return  # the sink is stopping: it takes nothing more
        with record_lock:  # a text file is not thread-safe
            record.write("%d %d\\n" % (c, n))  # in the sink's queue
        time.sleep(0.0002)

producer = Thread.run("producer", produce)
consumers = [Thread.run("consumer %d" % c, consume, c) for c in range(3)]

if mode == "shutdown":
    from mo_threads import _os_signals
    def announce():
        while not _os_signals.STATE.parked:
            time.sleep(0.005)
        print("ready", flush=True)
    threading.Thread(target=announce, daemon=True).start()
    wait_for_shutdown_signal()  # stops and joins every thread, the sink's last
    record.close()
    print("stopped", flush=True)
    sys.exit(0)

def stop_in_order():
    producer.stop()
    producer.join()
    for consumer in consumers:
        consumer.join()
    sink.stop()

reason = "none"
try:
    print("ready", flush=True)
    MAIN_THREAD.please_stop.wait()
    reason = "please_stop"
except KeyboardInterrupt:
    reason = "SIGINT"
except SystemExit:
    reason = "SIGTERM"
while True:
    try:  # the first signal may land here instead; a second one would force the exit
        stop_in_order()
        break
    except (KeyboardInterrupt, SystemExit):
        continue
record.close()
print("stopped by", reason, flush=True)
stop_main_thread()
"""


def run_pipeline(mode: str, signum: int, delay: float) -> Tuple[Any, List[str], List[str]]:
    with tempfile.TemporaryDirectory() as folder:
        out_path, record_path = os.path.join(folder, "out.txt"), os.path.join(folder, "record.txt")
        proc = start_python(PIPELINE, mode, out_path, record_path)
        wait_for_line(proc, "ready", timeout=30)
        time.sleep(delay)
        send(proc, signum)
        result = finish(proc, timeout=45)
        with open(out_path) as file:
            out = file.read().splitlines()
        with open(record_path) as file:
            record = file.read().splitlines()
    return result, out, record


def check_sink_output(out: List[str]) -> List[Tuple[int, int]]:
    assert out and out[-1] == "END", "the sink was not stopped: " + repr(out[-3:])
    pairs = [tuple(int(x) for x in line.split()) for line in out[:-1]]
    numbers = [n for _, n in pairs]
    assert len(numbers) == len(set(numbers)), "an item was written twice"
    for consumer in {c for c, _ in pairs}:
        mine = [n for c, n in pairs if c == consumer]
        assert mine == sorted(mine), "consumer %d: out of order" % consumer
    return pairs  # type: ignore[return-value]


DELAYS = random.Random(int(os.environ.get("FAULT_SEED", "13"))).sample([0.0, 0.01, 0.03, 0.07, 0.15, 0.3, 0.6], 4)


@POSIX
class TestSignalsInAPipeline:
    @pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
    @pytest.mark.parametrize("delay", DELAYS[:2])
    def test_ordered_stop_loses_nothing_queued(self, signum: int, delay: float) -> None:
        result, out, record = run_pipeline("ordered", signum, delay)
        output = result.stdout + result.stderr
        assert result.returncode == 0, output  # it caught the signal and stopped in order
        assert "stopped by " + signal.Signals(signum).name in output or "stopped by please_stop" in output, output
        pairs = check_sink_output(out)
        written = {n for _, n in pairs}
        queued = [int(n) for n in record]
        assert queued == list(range(len(queued)))
        missing = [n for n in queued if n not in written]
        assert not missing, "%d queued items never reached the sink, e.g. %r" % (len(missing), missing[:5])
        assert written <= set(range(len(queued) + 1))  # at most the one being added when the stop came

    @pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
    @pytest.mark.parametrize("delay", DELAYS[2:])
    def test_shutdown_delivers_everything_the_sink_took(self, signum: int, delay: float) -> None:
        result, out, record = run_pipeline("shutdown", signum, delay)
        output = result.stdout + result.stderr
        assert result.returncode == 0, output  # wait_for_shutdown_signal returned: stopped in order
        assert "stopped" in result.stdout
        pairs = set(check_sink_output(out))
        taken = [tuple(int(x) for x in line.split()) for line in record]
        missing = [pair for pair in taken if pair not in pairs]
        assert not missing, "%d items the sink took were lost, e.g. %r" % (len(missing), missing[:5])


# --- more process faults: floods, broken pipes, a worker that dies mid-call ------------
@POSIX
class TestMoreProcessFaults:
    def test_a_flood_then_exit_keeps_every_line(self) -> None:
        code = "import sys; sys.stdout.write(''.join('line %d\\n' % i for i in range(50000))); sys.stdout.write('\\xff no newline')"
        process = Process("flood", [PY, "-c", code], timeout=None)
        process.join(till=Till(seconds=60))
        lines = process.stdout.pop_all()
        assert lines[:-1] == ["line %d" % i for i in range(50000)]
        assert lines[-1].endswith("no newline")  # the last, unterminated, line too; bad bytes replaced

    def test_bad_bytes_are_replaced_not_fatal(self) -> None:
        code = "import sys; sys.stdout.buffer.write(b'ok \\xff\\xfe end\\n'); sys.stdout.flush()"
        process = Process("bytes", [PY, "-c", code], timeout=None)
        process.join(till=Till(seconds=30))
        assert process.stdout.pop_all() == ["ok \ufffd\ufffd end"]

    def test_writing_to_a_child_that_already_exited(self) -> None:
        process = Process("gone", [PY, "-c", "pass"], timeout=None)
        assert process.exited.wait(timeout=30)
        for i in range(1000):
            process.stdin.add("line %d" % i)  # nobody reads: no error here, nor a hang
        process.join(till=Till(seconds=30))
        assert process.returncode == 0

    def test_a_child_that_closes_its_stdin_early(self) -> None:
        code = "import os, sys, time; os.close(0); print('closed', flush=True); time.sleep(0.3)"
        process = Process("deaf", [PY, "-c", code], timeout=None)
        assert process.stdout.pop(till=Till(seconds=30)) == "closed"
        for i in range(2000):
            process.stdin.add("x" * 100)  # the pipe breaks under the writer: swallowed, not raised
        process.join(till=Till(seconds=30))
        assert process.returncode == 0

    def test_a_python_worker_that_dies_mid_call(self) -> None:
        code = """
        from mo_threads import Python
        worker = Python("doomed")
        worker.import_module("math", ["sqrt"])
        print("sqrt", worker.sqrt(16.0), flush=True)
        try:
            worker.execute_script("import os\\nos._exit(3)")
        except RuntimeError as error:
            print("call raised:", "not running" in str(error), "exit code 3" in str(error), flush=True)
        try:
            worker.sqrt(4.0)
        except RuntimeError as error:
            print("later call raised:", "not running" in str(error), flush=True)
        worker.stop()
        """
        result = run_python(code, timeout=45)
        output = result.stdout + result.stderr
        assert "sqrt 4.0" in output, output
        assert "call raised: True True" in output, output
        assert "later call raised: True" in output, output
        assert result.returncode == 0, output


class TestPoolFaults:
    def test_failing_jobs_do_not_stop_the_pool(self, log: LogCapture) -> None:
        from mo_threads import ThreadPool

        def job(i: int, please_stop: Signal) -> int:
            if i % 4 == 0:
                raise ValueError("job " + str(i) + " broke")
            return i

        with ThreadPool(3, name="faulty") as pool:
            handles = [pool.run("job " + str(i), job, i) for i in range(40)]
        for i, handle in enumerate(handles):
            if i % 4 == 0:
                with pytest.raises(Exception, match="job " + str(i) + " broke"):
                    handle.join()
            else:
                assert handle.join() == i

    def test_an_unjoined_failing_job_is_reported(self, log: LogCapture) -> None:
        from mo_threads import ThreadPool

        def broken(please_stop: Signal) -> None:
            raise ValueError("nobody looked at me")

        with ThreadPool(2, name="careless") as pool:
            pool.run("ignored job", broken)
        assert wait_for(lambda: "nobody looked at me" in log.text())
        assert "ignored job" in log.text()


class TestCallbackChains:
    def test_callbacks_that_fire_other_signals_and_raise(self, log: LogCapture) -> None:
        chain = [Signal("link " + str(i)) for i in range(50)]
        ran: List[int] = []
        for i in range(49):
            chain[i].then(lambda i=i: 1 / 0 if i % 7 == 0 else None)
            chain[i].then(chain[i + 1].go)  # fires the next link, on this thread
            chain[i].then(lambda i=i: ran.append(i))
        chain[0].go()
        assert all(chain)
        assert sorted(ran) == list(range(49))  # each once (nested: link i+1 fires inside link i's callbacks)
        assert sum("A Signal callback failed" in line for line in log.lines) == 7  # each failure reported once

    def test_a_callback_that_waits_on_the_signal_it_is_run_by(self) -> None:
        s = Signal("self-waiting")
        seen: List[bool] = []
        s.then(lambda: seen.append(s.wait(timeout=5)))  # already true when callbacks run: no deadlock
        start = time.time()
        s.go()
        assert seen == [True] and time.time() - start < 4


# --- Ctrl-C in the middle of every blocking call ---------------------------------------
# Each scenario: set up, block the main thread in one call, get SIGINT (KeyboardInterrupt in
# the main thread) 0.1 s later, then check that the primitive still works for other threads:
# an interrupted wait must leave no stale waiter behind to swallow the next wake-up.
INTERRUPTED = r'''
import os, signal, threading, time
from mo_threads import *
from mo_threads import _os_signals

def say(*words):
    print(*words, flush=True)

def interrupt_soon():
    time.sleep(0.1)
    os.kill(os.getpid(), signal.SIGINT)

def scenario(name, setup, block, check):
    _os_signals.reset()  # each SIGINT counts as a first one (a second would force the exit)
    state = setup()
    threading.Thread(target=interrupt_soon, daemon=True).start()
    try:
        block(state)
        say(name, "not interrupted")
    except KeyboardInterrupt:
        say(name, "interrupted")
    say(name, *check(state))
    deadline = time.time() + 5
    while _os_signals.STATE.pipe is not None and _os_signals.STATE.seen < 1 and time.time() < deadline:
        time.sleep(0.01)  # the watcher thread has seen this signal too, before the next reset

def later(call, seconds=0.1):
    out = []
    thread = threading.Thread(target=lambda: out.append(call()), daemon=True)
    thread.start()
    time.sleep(seconds)
    return thread, out

def queue_pop(q):
    thread, got = later(lambda: q.pop(till=Till(seconds=5)))
    q.add(1)
    thread.join(10)
    return ["stale", len(q._getters), "got", got]
scenario("queue-pop", lambda: Queue("q"), lambda q: q.pop(), queue_pop)

def full_queue():
    q = Queue("q", max=1, silent=True)
    q.add(0)
    return q
def queue_add(q):
    before = q.pop_all()
    q.add(1)
    thread, _ = later(lambda: q.add(2, timeout=5))
    q.pop()
    thread.join(10)
    return ["before", before, "stale", len(q._putters), "after", q.pop_all()]
scenario("queue-add-full", full_queue, lambda q: q.add(1), queue_add)

def lock_wait(lock):
    held = lock._owner == threading.get_ident()
    lock.release()
    def waiter():
        with lock:
            return lock.wait(seconds=5)
    thread, woken = later(waiter)
    with lock:
        pass
    thread.join(10)
    return ["held", held, "stale", len(lock._waiters or []), "woken", woken]
def enter_and_wait(lock):
    lock.__enter__()
    lock.wait()
scenario("lock-wait", lambda: Lock("l"), enter_and_wait, lock_wait)

def held_lock():
    lock, hold = Lock("l"), threading.Event()
    def holder():
        with lock:
            hold.wait(10)
    threading.Thread(target=holder, daemon=True).start()
    time.sleep(0.05)
    return lock, hold
def lock_acquire(state):
    lock, hold = state
    hold.set()
    got = lock.acquire(timeout=5)
    lock.release()
    return ["acquired", got]
scenario("lock-acquire", held_lock, lambda state: state[0].__enter__(), lock_acquire)

scenario("signal-wait", lambda: Signal("s"), lambda s: s.wait(), lambda s: ["stale", len(s._waiters or [])])

def thread_join(t):
    t.stop()
    t.join(till=Till(seconds=5))
    return ["joined", bool(t.stopped), "stale", len(t.stopped._waiters or [])]
scenario("thread-join", lambda: Thread.run("sleeper", lambda please_stop: please_stop.wait()), lambda t: t.join(), thread_join)

def future_wait(f):
    f.assign(1)
    return ["value", f.wait(timeout=1), "stale", len(f.done._waiters or [])]
scenario("future-wait", Future, lambda f: f.wait(), future_wait)

def channel_receive(ch):
    thread, got = later(lambda: ch.receive(timeout=5))
    ch.send(42, timeout=5)
    thread.join(10)
    return ["received", got, "stale", len(ch._receivers)]
scenario("channel-receive", lambda: Channel("c"), lambda ch: ch.receive(), channel_receive)

def channel_send(ch):
    try:
        value = ch.receive(timeout=0.2)
    except ThreadTimeout:
        value = "nothing"
    return ["stale", len(ch._senders), "then received", value]
scenario("channel-send", lambda: Channel("c"), lambda ch: ch.send(1), channel_send)

def semaphore(s):
    thread, got = later(lambda: s.acquire(timeout=5))
    s.release()
    thread.join(10)
    return ["other got", got, "stale", len(s._waiters)]
scenario("semaphore", lambda: Semaphore(0, "s"), lambda s: s.acquire(), semaphore)

def latch(l):
    l.count_down()
    return ["done", bool(l.done), "stale", len(l.done._waiters or [])]
scenario("latch", lambda: Latch(1, "l"), lambda l: l.wait(), latch)

scenario("barrier", lambda: Barrier(2, "b"), lambda b: b.wait(), lambda b: ["broken", b.broken, "waiting", b.n_waiting])

def queues():
    return Queue("q1"), Queue("q2")
def wait_any_check(qs):
    thread, got = later(lambda: qs[0].pop(till=Till(seconds=5)))
    qs[0].add(7)
    thread.join(10)
    return ["got", got, "stale", len(qs[0]._getters) + len(qs[1]._getters)]
scenario("wait-any", queues, lambda qs: wait_any(*qs), wait_any_check)
say("all done")
'''


@POSIX
class TestInterruptedCalls:
    def test_ctrl_c_in_any_blocking_call_leaves_the_primitive_working(self) -> None:
        result = run_python(INTERRUPTED, timeout=50)
        output = result.stdout + result.stderr
        assert result.returncode == 0, output
        assert "all done" in result.stdout, output
        expected = {
            "queue-pop": "stale 0 got [1]",
            "queue-add-full": "before [0] stale 0 after [2]",
            "lock-wait": "held True stale 0 woken [True]",
            "lock-acquire": "acquired True",
            "signal-wait": "stale 0",
            "thread-join": "joined True stale 0",
            "future-wait": "value 1 stale 0",
            "channel-receive": "received [42] stale 0",
            "channel-send": "stale 0 then received nothing",  # an interrupted rendezvous send delivers nothing
            "semaphore": "other got [True] stale 0",
            "latch": "done True stale 0",
            "barrier": "broken True waiting 0",
            "wait-any": "got [7] stale 0",
        }
        lines = result.stdout.splitlines()
        for name, checked in expected.items():
            assert name + " interrupted" in lines, name + " was not interrupted:\n" + output
            assert name + " " + checked in lines, name + ":\n" + output
