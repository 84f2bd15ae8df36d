"""SIGINT / SIGTERM handling for orderly shutdown (internal).

Theory of operation
-------------------
The kernel delivers a signal sent to the process to any one of its threads.
CPython's C-level handler, running on that thread, only flags the signal; the
Python-level handler runs later, on the main thread, when it next executes
bytecode. A main thread blocked in a long C call (a lock acquire, a sleep)
only sees the signal when that call ends, or never when it is deadlocked.
So two parties watch for SIGINT and SIGTERM:

* The Python handler `_handler`, on the main thread. It does no blocking
  work. When the main thread is not parked in `wait_for_shutdown_signal`,
  it raises in it, `KeyboardInterrupt` for
  SIGINT and `SystemExit` for SIGTERM, as Python users expect. A handler the
  application installed before ours is called first.
* The watcher thread, woken through `signal.set_wakeup_fd` (CPython writes
  the signal number to that pipe from whichever thread got the signal). It
  fires please_stop (the `request_stop` callback given to `install`) at once.
  If the main thread has not run its handler shortly after, the watcher sends
  the signal again to the main thread itself (`pthread_kill`), which wakes it
  from a blocking C call. If the handler has not run `report_after` seconds
  later (5 s by default), the watcher reports the main thread's stack; if it
  still has not run after the grace period, the main thread is stuck (in C
  code, or with the signal blocked): the watcher reports it again, runs the
  shutdown itself (the `on_stuck_main` callback) and exits with 128 + signal
  number.

A signal that arrives while the shutdown is under way (`STATE.shutting_down`:
`stop_main_thread()` or the exit hook runs it, or the main thread left
`wait_for_shutdown_signal` for it) forces the exit at once, with the
conventional status 128 + signal number, after a last report of the threads
still running (`on_force_exit`); so does, at the watcher, a second signal
while the main thread has not run its handler for the first one past the
nudge (signals blocked, or stuck in C). Otherwise a signal is a first one
again: a program that caught KeyboardInterrupt and carried on gets another
one on the next Ctrl-C, as in plain Python.

Before any forced exit (`os._exit`, which runs no clean-up), the actions
registered with `at_forced_exit` run: quick steps that keep the exit from
leaving things behind (the process groups of the programs still running get
SIGKILL: in sessions of their own, they get no Ctrl-C from the terminal).

The watcher's nudge writes to the pipe too (the C handler runs on the main
thread): its byte, coming soon after, is not a new signal. Where the main
thread blocks the signal (read from /proc on Linux) the nudge would stay
pending and write nothing, so none is sent.

A signal ignored when the handlers are installed (a background job, nohup)
stays ignored. A handler the application installs after ours takes over: the
watcher then stands back.

SIGUSR1 (where the platform has it) dumps the thread tree to stderr without
stopping anything. Its handler is installed with the SIGINT/SIGTERM ones (when
the first Thread is made), only if SIGUSR1 still has its default action: a
program that set its own handler before keeps it, and one that sets it later
takes over. `dump_on_signal()` installs it explicitly (for any signal but
SIGINT/SIGTERM). The watcher thread makes the dump (on a short-lived helper
thread, so a full stderr pipe can not keep it from forcing an exit; where no
thread can start, as in Python 3.12 at exit, itself, giving up on a full pipe
after a bounded time), because a main thread stuck in a C call would not run
the Python handler; without a watcher (another party took the wakeup fd), the
handler makes it. The dump's text comes from a higher layer (`set_dumper`, by
`_introspect`).

The handler fires please_stop too, from a short-lived helper thread (firing a
Signal takes a lock the interrupted main thread may be holding): the watcher
may be gone, when another party took the wakeup fd (an asyncio loop, say), or
in a forked child, where the wakeup fd is dropped so that the child's signals
never reach the parent's watcher through the inherited pipe. Firing twice does
nothing more.
"""

from __future__ import annotations

import _thread
import math
import os
import select
import signal
import sys
import threading
import time
from typing import Any, Callable, Dict, List, NoReturn, Optional, Set, Tuple

from mo_threads import _runtime
from mo_threads._parking import defer_while_held, defers_itself
from mo_threads._vocabulary import check_count
from mo_threads._watchdog import SETTINGS, describe_stack


class _State:
    __slots__ = (
        "installed",
        "previous",
        "request_stop",
        "on_force_exit",
        "on_stuck_main",
        "received",
        "seen",
        "parked",
        "shutting_down",
        "forcing",
        "pipe",
        "nudged",
        "dumper",
        "dump_signals",
        "dumps_asked",
        "dumps_started",
        "calling_previous",
    )

    def __init__(self) -> None:
        self.installed = False
        self.previous: Dict[int, Any] = {}
        self.request_stop: Optional[Callable[[int], None]] = None
        # makes the text of the last report, before a forced exit
        self.on_force_exit: Optional[Callable[[], str]] = None
        self.on_stuck_main: Optional[Callable[[], None]] = None
        # signals handled by the Python handler (main thread)
        self.received = 0
        # signals seen by the watcher thread
        self.seen = 0
        # True while the main thread waits in wait_for_shutdown_signal
        self.parked = False
        # True while the shutdown is under way: a signal then forces the exit
        self.shutting_down = False
        # taken (never released) by whoever forces the exit; made anew in a forked child
        self.forcing = _thread.allocate_lock()
        # (read end, write end) of the wakeup pipe, when the watcher runs
        self.pipe: Optional[Tuple[int, int]] = None
        # True while a signal the watcher re-sent to the main thread may still arrive
        self.nudged = False
        # makes the text of the thread dump (set by _introspect)
        self.dumper: Optional[Callable[[], str]] = None
        # signal numbers whose handler is _dump_handler
        self.dump_signals: Set[int] = set()
        # dump requests seen by the handler (main thread), and dumps started by the watcher
        self.dumps_asked = 0
        self.dumps_started = 0
        # True while _handler runs the handler it replaced (which may call handle_stop_signal)
        self.calling_previous = False


STATE = _State()
HANDLED = tuple(
    s for s in (getattr(signal, "SIGINT", None), getattr(signal, "SIGTERM", None)) if s is not None
)
# the signal that dumps the thread tree, where the platform has it
DUMP_SIGNAL: Optional[int] = getattr(signal, "SIGUSR1", None)
# how long the handler leaves the watcher to make a dump before making it itself
DUMP_HANDOVER = 0.25


def install(
    request_stop: Callable[[int], None],
    on_force_exit: Callable[[], str],
    on_stuck_main: Optional[Callable[[], None]] = None,
) -> bool:
    """Install the handlers (and the watcher); only possible on the main thread. True when installed."""
    if STATE.installed:
        return True
    if threading.current_thread() is not threading.main_thread():
        return False
    STATE.request_stop = request_stop
    STATE.on_force_exit = on_force_exit
    STATE.on_stuck_main = on_stuck_main
    for signum in HANDLED:
        try:
            if signal.getsignal(signum) == signal.SIG_IGN:
                continue  # ignored on purpose (nohup, a background job): leave it so
            STATE.previous[signum] = signal.signal(signum, _handler)
        except (ValueError, OSError):
            # not the main interpreter, or the platform refuses
            continue
    if DUMP_SIGNAL is not None and signal.getsignal(DUMP_SIGNAL) == signal.SIG_DFL:
        # on by default, unless the program handles (or ignores) SIGUSR1 itself
        try:
            STATE.previous[DUMP_SIGNAL] = signal.signal(DUMP_SIGNAL, _dump_handler)
            STATE.dump_signals.add(DUMP_SIGNAL)
        except (ValueError, OSError):
            pass
    STATE.installed = True
    if STATE.previous and STATE.pipe is None:
        _start_watcher()
    return True


def _after_fork_in_child() -> None:
    # a thread of the parent forcing its exit holds `forcing` for good: the child
    # must still be able to force its own
    STATE.forcing = _thread.allocate_lock()
    # the pipe is shared with the parent: a child's signal must not wake the parent's watcher
    pipe, STATE.pipe = STATE.pipe, None
    if pipe is None:
        return
    try:
        signal.set_wakeup_fd(-1)
    except (ValueError, OSError):
        pass
    for fd in pipe:
        try:
            os.close(fd)
        except OSError:
            pass


_runtime.on_fork("_os_signals", _after_fork_in_child)


def reset() -> None:
    """Forget the signals received so far (start_main_thread uses this)."""
    STATE.received = 0
    STATE.seen = 0
    STATE.parked = False
    STATE.shutting_down = False
    STATE.nudged = False


def uninstall() -> None:
    """Put back the handlers found at `install` (tests use this through reset)."""
    if not STATE.installed:
        return
    if threading.current_thread() is threading.main_thread():
        for signum, previous in STATE.previous.items():
            if signal.getsignal(signum) in (_handler, _dump_handler):
                try:
                    signal.signal(signum, previous if previous is not None else signal.SIG_DFL)
                except (ValueError, OSError):
                    pass
        _stop_watcher()
    STATE.previous.clear()
    STATE.dump_signals.clear()
    STATE.installed = False
    reset()


def _start_watcher() -> None:
    try:
        read_end, write_end = os.pipe()
    except OSError:
        return
    try:
        os.set_blocking(write_end, False)
        previous = signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
    except (ValueError, OSError, AttributeError):
        os.close(read_end)
        os.close(write_end)
        return
    if previous != -1:
        # somebody else (an event loop) listens there: leave it to them
        signal.set_wakeup_fd(previous)
        os.close(read_end)
        os.close(write_end)
        return
    STATE.pipe = (read_end, write_end)
    threading.Thread(target=_watch, args=(read_end,), name="mo-threads signal watcher", daemon=True).start()


def _stop_watcher() -> None:
    pipe, STATE.pipe = STATE.pipe, None
    if pipe is None:
        return
    read_end, write_end = pipe
    try:
        if signal.set_wakeup_fd(-1) != write_end:
            pass  # replaced by somebody else since; nothing of ours to restore
    except (ValueError, OSError):
        pass
    os.close(write_end)  # the watcher reads end-of-file and leaves


def _watch(read_end: int) -> None:
    # after a first signal: when to act for a main thread that does not react
    deadline: Optional[float] = None
    # after a first signal: when to report a main thread that did not react yet (before the deadline)
    report_at: Optional[float] = None
    # once shutting down for a stuck main thread: when to exit if that shutdown does not end
    exit_at: Optional[float] = None
    # after a first signal: when to nudge a main thread that did not run its handler yet
    nudge_at: Optional[float] = None
    # a nudge writes to the pipe too: its byte, if it comes soon, is not a new signal
    nudge_bytes = 0
    nudged_at = 0.0
    nudge_window = 0.0
    first = 0
    first_at = 0.0
    try:
        while True:
            wake = min((t for t in (deadline, nudge_at, report_at, exit_at) if t is not None), default=None)
            timeout = None if wake is None else max(0.0, wake - time.monotonic())
            try:
                ready, _, _ = select.select([read_end], [], [], timeout)
                data = os.read(read_end, 64) if ready else b""
            except InterruptedError:
                continue
            except (OSError, ValueError):
                return
            if ready and not data:
                return  # the write end was closed: uninstalled
            for signum in data:
                if signum in STATE.dump_signals and signal.getsignal(signum) is _dump_handler:
                    STATE.dumps_started += 1
                    _start_dump()
                    continue
                if signum not in HANDLED or signal.getsignal(signum) is not _handler:
                    continue  # not ours, or the application handles it itself now
                if nudge_bytes and signum == first and time.monotonic() - nudged_at < nudge_window:
                    nudge_bytes -= 1
                    continue
                if STATE.received > STATE.seen:
                    pass  # the main thread ran its handler for this one before we read it
                elif STATE.shutting_down:
                    _force_exit(signum)  # a signal while the shutdown is under way
                    continue  # the main thread's handler forces it already
                elif STATE.received < STATE.seen:
                    # the main thread has not run its handler for the last signal
                    if time.monotonic() - first_at >= NUDGE_DELAY:
                        _force_exit(signum)  # it was given its chance, and nudged: it is deaf
                    continue  # so soon after: one signal for Python too (a handler runs once)
                STATE.seen += 1
                first = signum
                first_at = time.monotonic()
                deadline = time.monotonic() + SETTINGS.grace_period
                nudge_at = time.monotonic() + NUDGE_DELAY
                if SETTINGS.report_after < SETTINGS.grace_period:
                    report_at = time.monotonic() + SETTINGS.report_after
                SETTINGS.give_up_after_report = True
                if STATE.request_stop is not None:
                    try:
                        STATE.request_stop(signum)
                    except Exception as cause:
                        # the watcher must outlive this: it still forces the exit on a second signal
                        sys.stderr.write("mo_threads: failed to ask the threads to stop: %r\n" % (cause,))
            if nudge_at is not None and time.monotonic() >= nudge_at:
                nudge_at = None
                window = _nudge_main(first) if STATE.received < STATE.seen else None
                if window is not None:
                    nudge_bytes += 1
                    nudged_at = time.monotonic()
                    nudge_window = window
            if report_at is not None and time.monotonic() >= report_at:
                report_at = None
                if STATE.received < STATE.seen and signal.getsignal(first) is _handler:
                    _report_stuck_main(first, SETTINGS.report_after, "")
            if deadline is not None and time.monotonic() >= deadline:
                deadline = None
                if STATE.received < STATE.seen and signal.getsignal(first) is _handler:
                    exit_at = _act_for_stuck_main(first)
            if exit_at is not None and time.monotonic() >= exit_at:
                _exit_now(128 + first)  # the shutdown for the main thread is stuck too
    finally:
        try:
            os.close(read_end)
        except OSError:
            pass


# how long the main thread gets to run its handler before the watcher nudges it
NUDGE_DELAY = 0.05
# how soon a nudge's own byte reaches the pipe, where the watcher can not tell
# whether the main thread blocks the signal (no /proc): a nudge the main thread
# receives runs the C handler, which writes the byte, at once
NUDGE_WINDOW = 0.5


def _nudge_main(signum: int) -> Optional[float]:
    """Send the signal again, to the main thread itself; return the window its pipe byte is expected in.

    The kernel handed the signal to another thread, so the main thread, blocked
    in a C call (a lock, a sleep), did not wake to run its handler. A signal sent
    to the main thread interrupts that call. The handler recognises the nudge
    (`STATE.nudged` with nothing new to handle) if the main thread ran the
    handler for the first one in the meantime.

    None when not sent. Where the main thread's signal mask can be read, a
    nudge to a thread that does not block the signal is sure to write its byte:
    the window is unbounded (a loaded machine may read it late, and it must not
    pass for a second signal). Where it can not be read, `NUDGE_WINDOW`.
    """
    pthread_kill = getattr(signal, "pthread_kill", None)
    main_thread = threading.main_thread()
    main = main_thread.ident
    if pthread_kill is None or main is None:
        return None
    blocked = _blocks(getattr(main_thread, "native_id", None), signum)
    if blocked:
        # it would stay pending, and write nothing to the pipe: a real signal
        # coming next must not be taken for it
        return None
    STATE.nudged = True
    try:
        pthread_kill(main, signum)
    except (OSError, ValueError):
        STATE.nudged = False
        return None
    return NUDGE_WINDOW if blocked is None else math.inf


def _blocks(native_id: Optional[int], signum: int) -> Optional[bool]:
    """Whether thread `native_id` blocks `signum` (pthread_sigmask); None when nobody can tell.

    Read from /proc (Linux): no call tells the mask of another thread.
    """
    if native_id is None:
        return None
    try:
        with open("/proc/self/task/%d/status" % native_id) as status:
            for line in status:
                if line.startswith("SigBlk:"):
                    return bool(int(line.split()[1], 16) >> (signum - 1) & 1)
    except (OSError, ValueError, IndexError):
        pass
    return None


def _report_stuck_main(signum: int, seconds: float, then: str) -> None:
    # bounded: the watcher must still be free to force the exit on a second signal
    _write_within(
        "mo_threads: the main thread did not react to signal " + str(signum) + " within "
        + str(seconds) + " seconds" + then + ". Its stack:\n"
        + describe_stack(threading.main_thread().ident) + "\n",
        REPORT_TIMEOUT,
    )


def _act_for_stuck_main(signum: int) -> float:
    """The main thread never ran its handler: it is stuck in C code. Shut down and exit for it.

    The shutdown runs on a thread of its own, so the watcher goes on reading
    signals (one more forces the exit at once, as in any shutdown). Returns
    when the watcher exits anyway: the shutdown gives up on stuck threads after
    a signal, but a lock held by the stuck main thread could block it.
    """
    try:
        _report_stuck_main(signum, SETTINGS.grace_period, "; shutting down for it")
        if STATE.on_stuck_main is not None:
            worker = threading.Thread(
                target=_shut_down_for_main, args=(signum,), name="mo-threads shutdown for main", daemon=True
            )
            worker.start()
            return time.monotonic() + SETTINGS.grace_period + 10
    except RuntimeError:
        pass  # no new threads while the interpreter shuts down: its own shutdown is under way
    _exit_now(128 + signum)


def _shut_down_for_main(signum: int) -> None:
    try:
        if STATE.on_stuck_main is not None:
            STATE.on_stuck_main()
    finally:
        if STATE.forcing.acquire(False):  # else a forced exit is writing its last report: it exits
            _exit_now(128 + signum)


# how long a forced exit waits for its last report (stderr may be a full pipe)
REPORT_TIMEOUT = 2.0


def _force_exit(signum: int) -> None:
    if not STATE.forcing.acquire(False):
        return  # the other party is forcing the exit already
    try:
        report = STATE.on_force_exit
        if report is not None:
            try:
                text = report()  # type: ignore[misc]
            except Exception as cause:
                text = "mo_threads: the report of the threads still running failed: %r\n" % (cause,)
            _write_within(text, REPORT_TIMEOUT)
    finally:
        _exit_now(128 + signum)


# quick actions run just before a forced exit (see the module); registered at import
_AT_FORCED_EXIT: List[Callable[[], None]] = []


def at_forced_exit(action: Callable[[], None]) -> None:
    """Run `action()` just before the process is forced to exit (`os._exit`: no clean-up runs).

    For quick steps that never block nor log (sending a signal): whatever
    they raise is ignored, so the exit happens in any case.
    """
    _AT_FORCED_EXIT.append(action)


def _exit_now(status: int) -> NoReturn:
    for action in list(_AT_FORCED_EXIT):
        try:
            action()
        except BaseException:
            pass  # the exit must happen: nothing may stop it now
    os._exit(status)


def _write_within(text: str, timeout: float) -> None:
    """Write `text` to stderr, giving up after `timeout` seconds.

    For the last words before `os._exit`: a write to a full stderr pipe, or a
    stream lock held by the interrupted thread, must not keep the process
    alive. So a helper thread writes while the caller waits for a bounded
    time. Where no thread can start (Python 3.12 refuses while the interpreter
    shuts down), the text goes straight to the file descriptor, a piece at a
    time and only while it can take one.
    """
    if not text:
        return
    done = _thread.allocate_lock()
    done.acquire()

    def write() -> None:
        try:
            _write_stderr(text)
        finally:
            done.release()

    try:
        _thread.start_new_thread(write, ())
    except RuntimeError:
        _write_fd_within(text, timeout)
        return
    done.acquire(True, timeout)


def _write_stderr(text: str) -> None:
    try:
        sys.stderr.write(text)
        sys.stderr.flush()
    except Exception:
        pass  # nowhere left to say it


# a write of up to this many bytes to a pipe with room for it does not block (POSIX PIPE_BUF is at least 512)
_PIECE = 512


def _write_fd_within(text: str, timeout: float) -> None:
    try:
        fd = sys.stderr.fileno()
    except Exception:
        fd = 2
    data = text.encode("utf-8", "backslashreplace")
    deadline = time.monotonic() + timeout
    waiter = select.poll() if hasattr(select, "poll") else None
    try:
        if waiter is not None:
            waiter.register(fd, select.POLLOUT)
        while data:
            if waiter is not None:
                left = deadline - time.monotonic()
                if left <= 0 or not waiter.poll(left * 1000):
                    return  # stderr takes no more: a full pipe nobody reads
            data = data[os.write(fd, data[:_PIECE]):]
    except OSError:
        pass  # stderr is closed: nowhere left to say it


def handle_stop_signal(signum: int, frame: Any) -> None:
    """What the SIGINT/SIGTERM handler does, for a handler of the program's own that calls it.

    That handler may also be the one ours replaced and calls in turn: then this does nothing.
    """
    if not STATE.calling_previous:
        _handler(signum, frame)


@defers_itself
def _handler(signum: int, frame: Any) -> None:
    if defer_while_held(_handler, signum, frame):
        return  # the main thread was just handed something: this runs once it holds it (see _parking)
    if STATE.nudged and STATE.received >= STATE.seen:
        STATE.nudged = False
        return  # the watcher's nudge, for a signal handled already
    if STATE.shutting_down:
        _force_exit(signum)  # a signal while the shutdown is under way
        return  # the watcher forces it already
    # a first signal, or one after the program caught the last KeyboardInterrupt and carried on
    STATE.received += 1
    SETTINGS.give_up_after_report = True
    request_stop = STATE.request_stop
    if request_stop is not None:
        try:
            _thread.start_new_thread(request_stop, (signum,))
        except RuntimeError:
            # no new threads (interpreter finalizing): shutdown is under way already
            pass
    previous = STATE.previous.get(signum)
    if callable(previous) and previous is not signal.default_int_handler:
        STATE.calling_previous = True
        try:
            previous(signum, frame)
        finally:
            STATE.calling_previous = False
    if STATE.parked:
        # the main thread leaves wait_for_shutdown_signal to shut down: the shutdown is under way
        STATE.shutting_down = True
        return
    if signum == getattr(signal, "SIGINT", None):
        raise KeyboardInterrupt
    sys.exit(128 + signum)


# --- the thread dump on SIGUSR1 ---------------------------------------------------
def set_dumper(dumper: Callable[[], str]) -> None:
    """Install the function that makes the text of the thread dump (`_introspect` does, at import)."""
    STATE.dumper = dumper


def install_dump(signum: Optional[int] = None) -> int:
    """Make signal `signum` (default SIGUSR1) dump the thread tree to stderr; returns the signal number.

    Replaces any handler the signal had (put back by `uninstall`). Raises
    ValueError when the platform has no SIGUSR1 and none is given, for
    SIGINT/SIGTERM (they stop the program), or off the main thread.
    """
    if signum is None:
        if DUMP_SIGNAL is None:
            raise ValueError("dump_on_signal(): this platform has no SIGUSR1; name another signal")
        signum = DUMP_SIGNAL
    check_count(signum, "dump_on_signal(signum)", 1)
    if signum in HANDLED:
        raise ValueError("dump_on_signal() can not use signal " + str(signum) + ": it stops the program")
    if threading.current_thread() is not threading.main_thread():
        raise ValueError("dump_on_signal() must be called from the main thread (Python only lets it set handlers)")
    previous = signal.signal(signum, _dump_handler)
    if previous is not _dump_handler:
        STATE.previous.setdefault(signum, previous)
    STATE.dump_signals.add(signum)
    if STATE.pipe is None:
        _start_watcher()
    return signum


def _start_dump() -> None:
    # on a short-lived helper thread: writing to a full stderr pipe must block nobody else
    try:
        _thread.start_new_thread(_dump, ())
    except RuntimeError:
        # no new threads while the interpreter shuts down (Python 3.12), which is
        # when a program stuck at exit is dumped: from here, in bounded time
        _write_fd_within(_dump_text(), REPORT_TIMEOUT)


def _dump_text() -> str:
    dumper = STATE.dumper
    if dumper is None:
        return ""
    try:
        return dumper()  # type: ignore[misc]
    except Exception as cause:
        return "mo_threads: the thread dump failed: %r\n" % (cause,)


def _dump() -> None:
    text = _dump_text()
    if text:
        _write_stderr(text)


def _dump_handler(signum: int, frame: Any) -> None:
    # on the main thread. The watcher dumps as soon as it sees the signal; this
    # handler only covers for a missing watcher (no wakeup fd of ours)
    STATE.dumps_asked += 1
    if STATE.pipe is None:
        _start_dump()
        return
    asked = STATE.dumps_asked

    def cover() -> None:
        deadline = time.monotonic() + DUMP_HANDOVER
        while STATE.dumps_started < asked and time.monotonic() < deadline:
            time.sleep(0.01)
        if STATE.dumps_started < asked:
            STATE.dumps_started = asked
            _dump()

    try:
        _thread.start_new_thread(cover, ())
    except RuntimeError:
        pass
