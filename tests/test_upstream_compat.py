"""Behaviour that code written for mo-threads 6.x relies on (threads, signals, pools).

Each test is a line that real packages (mo-sqlite, jx-sqlite, mo-logs) run; where we
differ from 6.x on purpose, docs/guide/migrating.md says so.
"""

from __future__ import annotations

import threading
import warnings
from typing import Any, List

import pytest

from mo_threads import (
    NEVER,
    Signal,
    Thread,
    ThreadPool,
    Till,
    current_thread,
    join_all_threads,
    register_thread,
)
from tests.helpers import program_lines, run_python, wait_true


def idle(please_stop: Signal) -> None:
    please_stop.wait()


def fail(please_stop: Signal) -> None:
    raise ValueError("boom")


# --- 1. methods that return the object ------------------------------------------------
def test_stop_returns_the_thread_so_stop_join_chains() -> None:
    worker = Thread.run("chained", idle)
    assert worker.stop() is worker
    assert worker.stop().join() is None
    assert not worker.is_alive()


def test_start_release_and_main_thread_stop_return_self_as_upstream() -> None:
    worker = Thread("released", idle)
    assert worker.start() is worker
    assert worker.release() is worker
    worker.stop()
    assert wait_true(lambda: not worker.is_alive())
    done = run_python("from mo_threads import MAIN_THREAD\nassert MAIN_THREAD.stop() is MAIN_THREAD", timeout=30)
    assert done.returncode == 0, done.stderr


# --- 2. parent_thread= any object with add_child / remove_child ----------------------
class Owner:
    """Like mo-sqlite's Sqlite: takes the worker thread as its child."""

    def __init__(self) -> None:
        self.events: List[Any] = []

    def add_child(self, child: Any) -> None:
        self.events.append(("add", child))

    def remove_child(self, child: Any) -> None:
        self.events.append(("remove", child))


# the same, in a child program's source
OWNER = """
class Owner:
    def add_child(self, child): pass
    def remove_child(self, child): pass
"""


def test_parent_thread_may_be_any_object_with_add_child_and_remove_child() -> None:
    owner = Owner()
    worker = Thread.run("owned", idle, parent_thread=owner)
    assert owner.events == [("add", worker)]
    worker.stop().join()
    assert owner.events == [("add", worker), ("remove", worker)]


def test_a_thread_of_a_foreign_parent_stays_in_the_tree_and_is_stopped_at_shutdown() -> None:
    # run in a child interpreter: the whole program's shutdown must stop and join it
    code = """
from mo_threads import Thread, stop_main_thread

class Owner:
    def add_child(self, child): pass
    def remove_child(self, child): print("removed " + child.name, flush=True)

def work(please_stop):
    please_stop.wait()
    print("worker saw please_stop", flush=True)

Thread.run("owned", work, parent_thread=Owner())
stop_main_thread()
print("after shutdown", flush=True)
"""
    done = run_python(code, timeout=30)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines.index("worker saw please_stop") < lines.index("after shutdown")
    assert "removed owned" in lines


def test_a_thread_of_a_foreign_parent_outlives_its_maker_and_is_stopped_last() -> None:
    # like a database's worker: the threads using it are stopped and joined first
    code = """
import time
from mo_threads import Thread, stop_main_thread, wait_for_shutdown_signal

""" + OWNER + """

def serve(please_stop):
    please_stop.wait()
    print("server stopped", flush=True)

def maker(please_stop):
    Thread.run("server", serve, parent_thread=Owner())

def client(please_stop):
    please_stop.wait()
    time.sleep(0.2)
    print("client stopped", flush=True)

Thread.run("maker", maker).join()
Thread.run("client", client)
wait_for_shutdown_signal(please_stop=True, wait_forever=False)
print("main done", flush=True)
"""
    done = run_python(code, timeout=30)
    assert done.returncode == 0, done.stderr
    assert program_lines(done.stdout) == ["client stopped", "server stopped", "main done"]


def test_wait_forever_false_does_not_wait_for_threads_of_foreign_parents() -> None:
    code = """
from mo_threads import Thread, wait_for_shutdown_signal

""" + OWNER + """

Thread.run("server", lambda please_stop: please_stop.wait(), parent_thread=Owner())
Thread.run("short", lambda please_stop: None)
wait_for_shutdown_signal(wait_forever=False)
print("main done", flush=True)
"""
    done = run_python(code, timeout=30)
    assert done.returncode == 0, done.stderr
    assert program_lines(done.stdout) == ["main done"]


def test_a_failure_in_a_thread_of_a_foreign_parent_is_reported() -> None:
    code = """
from mo_threads import Thread, stop_main_thread, Signal

""" + OWNER + """

def work(please_stop):
    raise ValueError("lost in a foreign parent")

t = Thread.run("owned", work, parent_thread=Owner())
t.stopped.wait()
stop_main_thread()
"""
    done = run_python(code, timeout=30)
    assert "lost in a foreign parent" in done.stdout + done.stderr


def test_parent_thread_without_the_methods_is_refused_at_the_call() -> None:
    with pytest.raises(TypeError, match="add_child"):
        Thread("orphan", idle, parent_thread=object())


# --- 3. the legacy lock / job_queue surface of a Signal -----------------------------
def test_clearing_job_queue_under_the_lock_drops_pending_then_callbacks() -> None:
    ran: List[str] = []
    too_long = Till(seconds=0.2)
    too_long.then(lambda: ran.append("warned"))
    with pytest.warns(DeprecationWarning, match="remove_then"):
        with too_long.lock:
            fired = bool(too_long)
            too_long.job_queue = None
    assert not fired
    too_long.wait()
    assert ran == []


def test_job_queue_reads_the_pending_callbacks() -> None:
    signal_ = Signal("legacy")

    def job() -> None:
        pass

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        assert not signal_.job_queue
        signal_.then(job)
        assert [target for target, _ in signal_.job_queue] == [job]
        with pytest.raises(TypeError):
            signal_.job_queue = [job]
        signal_.job_queue = None
    signal_.go()


# --- 4. join_all_threads -------------------------------------------------------------
def test_join_all_threads_lets_keyboard_interrupt_through_at_once() -> None:
    class Interrupted:
        name = "interrupted"

        def join(self, till: Any = None) -> None:
            raise KeyboardInterrupt

    later = Thread.run("later", idle)
    try:
        with pytest.raises(KeyboardInterrupt):
            join_all_threads([Interrupted(), later])
        assert later.is_alive()  # not joined first: the interrupt came through at once
    finally:
        later.stop().join()


def test_join_all_threads_takes_what_thread_pool_run_returns() -> None:
    with ThreadPool(2) as pool:
        jobs = [pool.run("job", lambda n, please_stop: n * 2, n) for n in range(4)]
        assert join_all_threads(jobs) == [0, 2, 4, 6]


def test_join_all_threads_takes_any_object_with_join() -> None:
    class Joinable:
        def join(self, till: Any = None) -> str:
            return "joined"

    assert join_all_threads([Joinable()]) == ["joined"]
    with pytest.raises(TypeError, match="join"):
        join_all_threads([object()])


# --- 5. stop_main_thread as a signal handler -----------------------------------------
def test_stop_main_thread_accepts_signum_and_frame() -> None:
    code = """
import os, signal, time
from mo_threads import Thread, stop_main_thread, wait_for_shutdown_signal, _os_signals

signal.signal(signal.SIGTERM, stop_main_thread)

def kill_once_parked(please_stop):
    while not _os_signals.STATE.parked:  # before that, SIGTERM raises SystemExit in main
        time.sleep(0.01)
    os.kill(os.getpid(), signal.SIGTERM)

def work(please_stop):
    please_stop.wait()
    print("worker stopped", flush=True)

Thread.run("worker", work)
Thread.run("killer", kill_once_parked)
wait_for_shutdown_signal()
print("main done", flush=True)
"""
    done = run_python(code, timeout=30)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines.index("worker stopped") < lines.index("main done")


# --- 6. ThreadPool.run with a name that is not a str ---------------------------------
def test_thread_pool_run_turns_a_name_into_a_str() -> None:
    with ThreadPool(1) as pool:
        job = pool.run(7, lambda please_stop: "ran")
        assert job.name == "7"
        assert job.join() == "ran"
        assert job.stop() is job


# --- 11. the last line of an orderly shutdown ----------------------------------------
def test_an_orderly_shutdown_logs_all_threads_have_shutdown() -> None:
    code = """
from mo_threads import Thread, stop_main_thread
Thread.run("worker", lambda please_stop: please_stop.wait())
stop_main_thread()
"""
    done = run_python(code, timeout=30)
    assert done.returncode == 0, done.stderr
    assert "All threads have shutdown" in done.stdout + done.stderr


# --- 12. @register_thread keeps the thread's own name --------------------------------
def test_register_thread_keeps_the_foreign_threads_name() -> None:
    seen: List[str] = []

    @register_thread
    def body() -> None:
        seen.append(current_thread().name)

    alien = threading.Thread(target=body, name="alien-7777")
    alien.start()
    alien.join(10)
    assert seen == ["alien-7777"]


# --- 13. NEVER.go() -----------------------------------------------------------------
def test_never_go_does_nothing() -> None:
    NEVER.go()
    assert not NEVER
    assert not NEVER.wait(till=Till(seconds=0.01))

