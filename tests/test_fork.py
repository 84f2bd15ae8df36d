"""A fork while another thread holds one of mo_threads' long-lived locks must not hang the child.

`os.fork()` copies only the calling thread: a lock another thread held at that
moment stays held in the child for ever, unless it is made anew there
(`mo_threads._runtime`). Each case runs in a fresh interpreter (hard timeout):
a helper thread takes one lock and keeps it, the main thread forks, and the
child uses the feature that needs that lock and exits; the parent waits for the
child with a deadline and kills it when it hangs.

These tests name internal locks on purpose (white box): when a lock is renamed
or removed, update its case here.
"""

from __future__ import annotations

import os
import textwrap

import pytest

from tests.helpers import PYPY, program_lines, run_python

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is needed")

# how long the forked child may take before it counts as hung (seconds)
CHILD_TIMEOUT = 15

HARNESS = """
import os, signal, sys, tempfile, threading, time, traceback, warnings

# 3.12+ warns that forking a process with threads may deadlock the child: that is the point
warnings.filterwarnings("ignore", message=".*fork.*", category=DeprecationWarning)

from mo_threads import Thread, Till
from mo_threads import _blocking, _main_thread, _os_signals, _registry, commands, futures, profiles, signals, testing, threads, till

CHILD_TIMEOUT = {child_timeout}
TMP = tempfile.mkdtemp()


def say(text):
    os.write(1, (text + "\\n").encode("utf8"))


def hold(get_lock):
    # a helper thread takes the lock and keeps it until told to let go
    held, release = threading.Event(), threading.Event()

    def run():
        with get_lock():
            held.set()
            release.wait()

    holder = threading.Thread(target=run, name="holder", daemon=True)
    holder.start()
    assert held.wait(10), "the holder never got the lock"
    return release, holder


def fork_and_use(use, expect_code=0):
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            use()
        except BaseException:
            traceback.print_exc()
            code = 3
        os._exit(code)
    deadline = time.monotonic() + CHILD_TIMEOUT
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            say("HUNG: the child did not finish in %s s" % CHILD_TIMEOUT)
            os._exit(2)
        time.sleep(0.01)
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -os.WTERMSIG(status)
    if code != expect_code:
        say("FAILED: the child exited with %s, expected %s" % (code, expect_code))
        os._exit(1)
    say("ok")


# the machinery runs (exit hook, signal watcher, timer), as in a real program
Thread.run("warm up", lambda please_stop: None).join()
Till(seconds=0.01).wait()
"""


def run_case(get_lock: str, use: str, expect_code: int = 0, setup: str = "") -> None:
    """Hold `get_lock()` on a helper thread, fork, run `use` in the child; the child must exit with `expect_code`."""
    code = (
        HARNESS.format(child_timeout=CHILD_TIMEOUT)
        + setup
        + "\ndef use():\n"
        + "".join("    " + line + "\n" for line in textwrap.dedent(use).strip().splitlines())
        + "\nrelease, holder = hold(lambda: " + get_lock + ")\n"
        + "fork_and_use(use, " + str(expect_code) + ")\n"
        + "release.set()\n"
        + "holder.join()\n"
    )
    result = run_python(code, timeout=CHILD_TIMEOUT + 45)
    assert "HUNG" not in result.stdout, "the forked child hung\n" + result.stdout + result.stderr
    assert program_lines(result.stdout) == ["ok"], result.stdout + result.stderr
    assert result.returncode == 0, result.stdout + result.stderr


# --- the four locks issue 20 names ---------------------------------------------------
def test_blocking_totals_lock() -> None:
    run_case(
        "_blocking._totals_lock",
        """
        from mo_threads import metrics
        metrics.reset_statistics()
        assert isinstance(metrics.statistics(), dict)
        """,
    )


def test_future_settle_lock() -> None:
    run_case(
        "futures._SETTLE_LOCK",
        """
        future = futures.Future()
        future.assign(42)
        assert future.wait() == 42
        assert futures.Future.all_of(futures.Future().assign(1), futures.Future().assign(2)).wait() == [1, 2]
        """,
    )


def test_command_sessions_lock() -> None:
    run_case(
        "commands.SESSIONS.lock",
        """
        command = commands.Command("in child", ["echo", "hello"]).join(raise_on_error=True, till=Till(seconds=10))
        assert command.stdout.pop_all() == ["hello"], "unexpected output"
        """,
    )


def test_profiles_collector_lock() -> None:
    run_case(
        "profiles.cprofiler_stats.lock",
        """
        written = profiles.write_profiles(os.path.join(TMP, "child.tab"))
        assert written and os.path.exists(written)
        """,
    )


# --- every other long-lived lock -------------------------------------------------------
def test_registry_live_lock() -> None:
    run_case(
        "_registry.LIVE_LOCK",
        """
        assert _registry.LIVE_LOCK.acquire(True, 5), "LIVE_LOCK still held in the child"
        _registry.LIVE_LOCK.release()
        """,
    )


def test_main_thread_child_locker() -> None:
    run_case(
        "threads.MAIN_THREAD.child_locker",
        """
        assert Thread.run("in child", lambda please_stop: 7).join() == 7
        """,
    )


def test_shutdown_machinery_lock() -> None:
    run_case(
        "_main_thread.MACHINERY.lock",
        """
        Thread.run("in child", lambda please_stop: please_stop.wait())
        threads.stop_main_thread()
        assert not threads.MAIN_THREAD.children
        """,
    )


def test_forcing_lock() -> None:
    # a second SIGINT/SIGTERM forces the exit: the child must still be able to
    run_case(
        "_os_signals.STATE.forcing",
        """
        _os_signals.STATE.on_force_exit = None
        _os_signals._force_exit(signal.SIGTERM)
        """,
        expect_code=128 + 15,
    )


def test_signal_state_lock() -> None:
    run_case(
        "signals._STATE_LOCK",
        """
        seen = []
        signal_ = signals.Signal("in child")
        signal_.then(lambda: seen.append(1))
        signal_.go()
        assert seen == [1] and signal_.wait(timeout=1)
        """,
    )


def test_signal_legacy_lock() -> None:
    run_case(
        "signals._LEGACY_LOCK",
        """
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            with signals.Signal("in child").lock:
                pass
        """,
    )


def test_timer_lock() -> None:
    run_case(
        "till._TIMER._lock",
        """
        assert Till(seconds=0.05).wait(timeout=10), "the Till never fired"
        """,
    )


def test_fake_clock_activation_lock() -> None:
    run_case(
        "testing._activation",
        """
        with testing.fake_clock() as clock:
            clock.advance(1)
        """,
    )


# --- state that belonged to the parent's threads -------------------------------------
def test_command_does_not_reuse_the_parents_session() -> None:
    # an idle bash session of the parent has no reader threads in the child: a
    # command sent to it would never end
    run_case(
        "threading.Lock()",  # nothing held: the session pool is the point
        """
        command = commands.Command("in child", ["echo", "child"]).join(raise_on_error=True, till=Till(seconds=10))
        assert command.stdout.pop_all() == ["child"], "unexpected output"
        """,
        setup="""
assert commands.Command("in parent", ["echo", "parent"]).join(raise_on_error=True).stdout.pop_all() == ["parent"]
assert commands.SESSIONS.idle, "the parent's session is idle"
""",
    )


def test_waits_of_the_parents_threads_are_forgotten() -> None:
    run_case(
        "threading.Lock()",
        """
        me = threading.get_ident()
        ghosts = [ident for ident in list(_blocking._current) if ident != me]
        assert not ghosts, "waits of threads that do not exist in the child: " + repr(ghosts)
        """,
        setup="""
parked = threads.Thread.run("parked", lambda please_stop: please_stop.wait())
deadline = time.monotonic() + 10
while _blocking.blocked_on(parked.ident) is None and time.monotonic() < deadline:
    time.sleep(0.01)
assert _blocking.blocked_on(parked.ident) is not None, "the thread never parked"
""",
    )


def test_runtime_runs_handlers_in_order_and_survives_a_failure() -> None:
    from mo_threads import _runtime

    saved = dict(_runtime._fork_handlers)
    calls = []
    try:
        _runtime._fork_handlers.clear()

        def failing() -> None:
            calls.append("signals")
            raise ValueError("boom")

        _runtime.on_fork("futures", lambda: calls.append("futures"))
        _runtime.on_fork("signals", failing)
        _runtime.on_fork("_blocking", lambda: calls.append("_blocking"))
        with pytest.raises(ValueError, match="boom"):
            _runtime.after_fork_in_child()
        assert calls == ["_blocking", "signals", "futures"]
    finally:
        _runtime._fork_handlers.clear()
        _runtime._fork_handlers.update(saved)
    with pytest.raises(ValueError, match="ORDER"):
        _runtime.on_fork("nobody", lambda: None)


def test_runtime_resets_top_layer_first() -> None:
    from mo_threads import _runtime

    saved = dict(_runtime._reset_handlers)
    calls = []
    try:
        _runtime._reset_handlers.clear()
        _runtime.on_reset("_blocking", lambda: calls.append("_blocking"))
        _runtime.on_reset("commands", lambda: calls.append("commands"))
        _runtime.reset_for_tests()
        assert calls == ["commands", "_blocking"]
    finally:
        _runtime._reset_handlers.clear()
        _runtime._reset_handlers.update(saved)


def test_one_fork_handler() -> None:
    # every module registers with _runtime; only _runtime calls os.register_at_fork
    here = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "mo_threads")
    callers = []
    for name in sorted(os.listdir(here)):
        if name.endswith(".py"):
            with open(os.path.join(here, name), encoding="utf8") as source:
                if "os.register_at_fork(" in source.read():
                    callers.append(name)
    assert callers == ["_runtime.py"]


def test_fork_from_a_thread_whose_parent_holds_its_lock() -> None:
    # the forking thread lives on in the child; when its function returns it leaves
    # its parent, under the parent's child_locker
    code = HARNESS.format(child_timeout=CHILD_TIMEOUT) + """
from mo_threads import Signal

forked = []
inner_ready = Signal("inner ready")


def inner(please_stop):
    inner_ready.wait()
    pid = os.fork()
    if pid == 0:
        return "in child"  # the thread's end runs in the child: it leaves its parent
    forked.append(pid)


def outer(please_stop):
    worker = Thread.run("inner", inner)
    please_stop.wait()
    worker.join()


outer_thread = Thread.run("outer", outer)
while not outer_thread.children:
    time.sleep(0.01)
release, holder = hold(lambda: outer_thread.child_locker)
inner_ready.go()
while not forked:
    time.sleep(0.01)
pid = forked[0]
deadline = time.monotonic() + CHILD_TIMEOUT
while not os.waitpid(pid, os.WNOHANG)[0]:
    if time.monotonic() > deadline:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        say("HUNG")
        break
    time.sleep(0.01)
else:
    say("ok")
release.set()
holder.join()
outer_thread.stop().join()
"""
    result = run_python(code, timeout=CHILD_TIMEOUT + 45)
    assert program_lines(result.stdout) == ["ok"], result.stdout + result.stderr


@pytest.mark.skipif(PYPY, reason="PyPy holds every handler itself: nothing is shielded")
def test_fork_while_the_main_thread_shields_a_handler() -> None:
    # the main thread parks in Queue.pop with the application's own SIGINT handler: it is
    # swapped for a wrapper while parked. A thread forks then: in the child, the handler is the
    # application's again and a Ctrl-C raises there (nothing held, nothing deferred for ever)
    code = HARNESS.format(child_timeout=CHILD_TIMEOUT) + """
from mo_threads import Queue, _parking
from mo_threads._blocking import blocked_on


def interrupted(signum, frame):
    raise KeyboardInterrupt("the application's handler")


signal.signal(signal.SIGINT, interrupted)
queue = Queue("main pops")


def child():
    assert signal.getsignal(signal.SIGINT) is interrupted, signal.getsignal(signal.SIGINT)
    assert not _parking._shielded and not _parking._held and not _parking._deferred
    try:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)
    except KeyboardInterrupt as error:
        assert "the application's handler" in str(error)
        return
    raise AssertionError("no KeyboardInterrupt in the child")


def forker():
    main = threading.main_thread().ident
    while blocked_on(main) is None:
        time.sleep(0.001)
    shield = signal.getsignal(signal.SIGINT)
    assert isinstance(shield, _parking._Shield), shield
    fork_and_use(child)
    queue.add("done")


threading.Thread(target=forker, daemon=True).start()
assert queue.pop(timeout=CHILD_TIMEOUT + 10) == "done"
assert signal.getsignal(signal.SIGINT) is interrupted
"""
    result = run_python(code, timeout=CHILD_TIMEOUT + 45)
    assert "HUNG" not in result.stdout, "the forked child hung\n" + result.stdout + result.stderr
    assert program_lines(result.stdout) == ["ok"], result.stdout + result.stderr
    assert result.returncode == 0, result.stdout + result.stderr
