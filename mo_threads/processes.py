"""`Process`: a child program whose pipes are Queues of text lines.

Theory of operation
-------------------
A `Process` is a node in the thread tree (a `BaseThread`), a child of the
thread that made it, so `stop()` on an ancestor, or shutdown, stops it. Four
threads, children of the process, do the work:

    stdout reader   pipe -> `stdout` Queue, one decoded line at a time; closes it at EOF
    stderr reader   pipe -> `stderr` Queue, the same
    stdin writer    `stdin` Queue -> pipe; closing the queue closes the pipe (EOF)
    monitor         waits for the exit, then for both readers to drain, then
                    fires `stopped`

Because the readers read to end-of-file before closing their queue, every
line a program prints is kept, even when it exits at once.

`stop()` fires `please_stop`; a callback sends SIGTERM and arms a `Till` that
sends SIGKILL if the program is still running `grace_period` seconds later.
On POSIX the program leads a process group of its own, and every signal we
send (stop, kill, the watchdog, shutdown) goes to the whole group: a shell's
children end with it instead of living on, re-parented, holding the pipes.

The silence watchdog keeps 6.x's rules. Each of stdout and stderr has a mark:
the time of its last line (or of its end-of-file), and until its first line,
the start plus `startup_timeout` (its allowance). The program is killed once
`timeout` seconds have passed since the later of the two marks; the report
says which rule set that deadline: `startup_timeout` (a stream still on its
allowance) or `timeout`. So a program that printed on one stream only may be
quiet until `startup_timeout + timeout` after its start, and one that printed
on both, `timeout` after its last line. The watchdog is one pending `Till` at
a time: a stream's first line, a new `timeout` and the exit replace or drop
it; when it fires before the deadline (output came meanwhile), it re-arms at
the new one. The monitor thread logs the report, not the timer thread.

A program that exits non-zero without being asked to stop has failed: `join()`
raises, and if nobody joins, its parent reports it when it ends, like a thread.
"""

from __future__ import annotations

import json as _json
import os
import signal
import subprocess
from collections import deque
from typing import Any, Callable, Deque, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from mo_logs import logger

from mo_threads import _os_signals
from mo_threads.queues import Queue
from mo_threads._vocabulary import PLEASE_STOP, ThreadTimeout, check_name, check_till, check_timeout
from mo_threads.signals import Signal
from mo_threads.threads import MAIN_THREAD, AlienThread, BaseThread, Thread, current_thread
from mo_threads.till import Till, at as _at, monotonic as _now, then_unless_dropped

__all__ = ("Process",)

# how long the monitor waits for the pipes to drain once the program exited;
# longer only when a grandchild keeps them open
PIPE_DRAIN_SECONDS = 5.0
# how many lines sent to stdin are kept for the silence report
SENT_KEPT = 10
# how many stderr lines are kept for the error raised by join()
STDERR_KEPT = 30
# POSIX: each program leads a process group of its own (a new session), and stop(), kill(),
# the watchdog and shutdown signal the whole group, so what it started ends with it.
# Elsewhere only the program itself is signalled.
PROCESS_GROUPS = hasattr(os, "setsid") and hasattr(os, "killpg")
# process group -> the pid of the process that started it, while its Process has not stopped:
# a forced exit (os._exit, no clean-up) sends them SIGKILL; a forked child leaves its parent's alone
_LIVE_GROUPS: Dict[int, int] = {}
STREAMS = ("stdout", "stderr")


def _decode(raw: bytes) -> str:
    if raw.endswith(b"\n"):
        raw = raw[:-1]
        if raw.endswith(b"\r"):
            raw = raw[:-1]
    return raw.decode("utf8", "replace")


def _discard(line: str) -> None:
    pass


def _seconds(value: float) -> str:
    return str(round(value, 3))


def _parent_for_new_child() -> BaseThread:
    current = current_thread()
    if isinstance(current, AlienThread) and not current.registered:
        # nobody ends an unregistered foreign thread's tree: the main thread adopts
        return MAIN_THREAD
    return current


def check_name_and_params(kind: str, name: Any, params: Any, expected: str) -> None:
    """Raise TypeError for a `name` that is not a str or `params` that are neither a str nor iterable."""
    check_name(name, kind + " name")
    if not isinstance(params, (str, bytes)) and not hasattr(params, "__iter__"):
        raise TypeError(kind + " " + repr(name) + ": params must be " + expected + ", not " + type(params).__name__)


def merge_env(env: Optional[Mapping[str, Any]]) -> Optional[Dict[str, str]]:
    """The environment for a child: `os.environ` updated with `env` (a None value removes a variable)."""
    if env is None:
        return None
    if not isinstance(env, Mapping):
        raise TypeError("env must be a mapping of names to values, not " + type(env).__name__)
    merged = dict(os.environ)
    for key, value in env.items():
        if value is None:
            merged.pop(str(key), None)
        else:
            merged[str(key)] = str(value)
    return merged


def _path(cwd: Any) -> Optional[str]:
    if cwd is None:
        return None
    abspath = getattr(cwd, "abspath", None)  # mo_files.File
    if isinstance(abspath, str):
        return abspath
    path: str = os.fspath(cwd)
    return path


class Process(BaseThread):
    """A running program, with `stdin`, `stdout` and `stderr` as Queues of text lines.

    `params` is the argument list (`["ls", "-l"]`), or one command line when
    `shell=True`. `env` is added to the current environment (a None value
    removes a variable). Lines are decoded as UTF-8, bad bytes replaced, line
    endings stripped. `stdout` and `stderr` are closed once the program closed
    them (normally at exit), after its last line; add lines to `stdin` and
    close it to send end-of-file (lines added after the program exited are
    never sent).

    The watchdog kills (SIGKILL) a program that stays quiet too long, by the
    rules of mo-threads 6.x: it is killed once `timeout` seconds (default 2)
    have passed since its last line on stdout or stderr, where a stream that
    has printed nothing yet counts as having printed `startup_timeout` seconds
    (default 10) after the start. So a program may be quiet for
    `startup_timeout + timeout` seconds after its start (12 by default) as long
    as one of the two streams has printed nothing, and for `timeout` seconds
    once both have; end-of-file on a stream counts as output. The warning
    logged names the rule that fired (`timeout` or `startup_timeout`) and the
    last lines sent to the program, and `join()` raises. `timeout` may be
    changed while the program runs. Beyond 6.x: `timeout=None` turns the
    watchdog off, for a program that may stay quiet; `startup_timeout=None`
    waits for the first line without limit, then applies `timeout`.

    Raises `FileNotFoundError` (or the `OSError` Popen raised), naming the
    program and the working directory, when the program can not start.
    """

    grace_period = 2.0
    """Seconds between SIGTERM and SIGKILL on `stop()`; set it on the class or an instance."""

    _own_process_group = PROCESS_GROUPS
    # True: the program leads a new process group, and stop()/kill() signal the whole group

    def __init__(
        self,
        name: str,
        params: Union[str, Sequence[Any]],
        cwd: Any = None,
        env: Optional[Mapping[str, Any]] = None,
        debug: bool = False,
        shell: bool = False,
        bufsize: int = -1,
        timeout: Optional[float] = 2.0,
        startup_timeout: Optional[float] = 10.0,
        parent_thread: Optional[BaseThread] = None,
    ) -> None:
        check_name_and_params("Process", name, params, "a list of arguments (or a command line with shell=True)")
        if isinstance(params, (str, bytes)):
            if not shell:
                raise TypeError(
                    "Process " + repr(name) + ": params must be a list of arguments, or use shell=True"
                    " for a command line"
                )
            args: Union[str, List[str]] = params if isinstance(params, str) else params.decode("utf8")
            program = args
        else:
            try:
                args = [_path(p) if not isinstance(p, str) else p for p in params]  # type: ignore[misc]
            except TypeError:
                args = [str(p) for p in params]
            if not args:
                raise ValueError("Process " + repr(name) + ": params is empty, expecting the program to run")
            program = args[0]
        if timeout is not None:
            timeout = check_timeout(timeout, "Process " + repr(name) + " timeout")
        if startup_timeout is not None:
            startup_timeout = check_timeout(startup_timeout, "Process " + repr(name) + " startup_timeout")
        if parent_thread is not None and not isinstance(parent_thread, BaseThread):
            raise TypeError("parent_thread must be a mo_threads thread, not " + type(parent_thread).__name__)
        try:
            cwd = _path(cwd)
        except TypeError:
            raise TypeError(
                "Process " + repr(name) + ": cwd must be a path (str or os.PathLike), not " + type(cwd).__name__
            ) from None
        full_env = merge_env(env)

        parent = parent_thread or _parent_for_new_child()
        BaseThread.__init__(self, name, None, parent)
        self.params = args
        self.cwd = cwd
        self.debug = debug
        self._timeout = timeout
        self.startup_timeout = startup_timeout
        self.stdin: Queue[Any] = Queue("stdin for process " + repr(name), silent=True)
        self.stdout: Queue[Any] = Queue("stdout for process " + repr(name), silent=True)
        self.stderr: Queue[Any] = Queue("stderr for process " + repr(name), silent=True)
        self.returncode: Optional[int] = None
        self.exited = Signal("exited " + name)
        self._asked_to_stop = False
        self._silence_report: Optional[Dict[str, Any]] = None
        self._failure: Optional[BaseException] = None
        self._joined = False
        self._reported = False
        self._sent: Deque[str] = deque(maxlen=SENT_KEPT)
        self._stderr_tail: Deque[str] = deque(maxlen=STDERR_KEPT)
        self._started_at = started_at = _now()
        # until its first line, a stream counts as having printed at the end of its startup allowance
        self._allowance_ends: Optional[float] = None if startup_timeout is None else started_at + startup_timeout
        self._last_output: Dict[str, Optional[float]] = {which: None for which in STREAMS}
        self._watching = False  # the watchdog starts once the threads run
        self._watch_turn = 0
        self._watch_timer: Optional[Tuple[Till, Callable[[], None]]] = None

        try:
            self._popen = subprocess.Popen(
                args,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=cwd,
                env=full_env,
                shell=shell,
                bufsize=bufsize,
                start_new_session=self._own_process_group,
            )
        except OSError as cause:
            message = (
                "Can not start process "
                + repr(name)
                + ": program "
                + repr(program)
                + " in working directory "
                + repr(cwd if cwd is not None else os.getcwd())
                + ": "
                + (cause.strerror or str(cause))
            )
            if cause.errno is None:
                raise type(cause)(message) from cause
            raise type(cause)(cause.errno, message) from cause
        self.pid: int = self._popen.pid
        if self._own_process_group:
            _LIVE_GROUPS[self.pid] = os.getpid()
        if debug:
            logger.info("Process {name|quote} started with pid {pid}: {params}", name=name, pid=self.pid, params=args)

        parent.add_child(self)
        try:
            popen = self._popen
            self._readers = [
                Thread(name + " stdout", self._read, popen.stdout, self._on_stdout, self._on_stdout_end, "stdout",
                       parent_thread=self).start(),
                Thread(name + " stderr", self._read, popen.stderr, self._on_stderr, self._on_stderr_end, "stderr",
                       parent_thread=self).start(),
            ]
            self._writer = Thread(name + " stdin", self._write, parent_thread=self, please_stop=self.please_stop).start()
            self._monitor_thread = Thread(name + " monitor", self._monitor, parent_thread=self)
            self._monitor_thread.stopped.then(self._finish)
            self._monitor_thread.start()
        except BaseException:
            self._kill_now()
            parent.remove_child(self)
            raise
        self.please_stop.then(self._on_please_stop)
        self.exited.then(self._drop_watch_timer)  # a pending check must not keep this Process alive
        self._watching = True
        self._watch(self._rearm())

    # --- public ----------------------------------------------------------------
    @property
    def timeout(self) -> Optional[float]:
        """Seconds of silence after which the watchdog kills the program; None: never.

        Setting it while the program runs takes effect at once (a shorter
        timeout may kill it now); a bad value raises TypeError or ValueError.
        """
        return self._timeout

    @timeout.setter
    def timeout(self, seconds: Optional[float]) -> None:
        if seconds is not None:
            seconds = check_timeout(seconds, "Process " + repr(self.name) + " timeout")
        self._timeout = seconds
        if self._watching:
            self._watch(self._rearm())

    @property
    def service(self) -> subprocess.Popen[bytes]:
        """The underlying `subprocess.Popen` (upstream's name)."""
        return self._popen

    def stop(self) -> Process:  # type: ignore[override]
        """Ask the program to stop: SIGTERM now, SIGKILL after `grace_period` seconds. Never blocks.

        On POSIX the signals go to the program's whole process group (what it started ends too).
        """
        if not self.exited:
            self._asked_to_stop = True
        self.please_stop.go()
        return self

    def kill(self) -> Process:
        """Kill the program now (SIGKILL; on POSIX its whole process group). Never blocks; `join()` to wait for it."""
        if not self.exited:
            self._asked_to_stop = True
        self._kill_now()  # also once the program exited while what it started holds its pipes
        self.please_stop.go()
        return self

    def join(self, till: Optional[Signal] = None, raise_on_error: bool = True) -> Process:
        """Wait until the program has exited and its output is in the queues; returns this process.

        Raises `ThreadTimeout` when `till` fires first. With `raise_on_error`,
        raises `RuntimeError` with the exit code and the last stderr lines when
        the program exited non-zero without being asked to stop.
        """
        check_till(till)
        if not self.stopped.wait(till=till):
            raise ThreadTimeout("Timeout on join of process " + repr(self.name))
        self._joined = True
        if self.parent is not None:
            self.parent.remove_child(self)
        if raise_on_error and self._failure is not None:
            raise self._failure
        return self

    def is_alive(self) -> bool:
        return not self.stopped

    def __enter__(self) -> Process:
        return self

    def __exit__(self, exc_type: Any, *exc_info: Any) -> None:
        if exc_type is not None:
            self.stop()
        self.join(raise_on_error=exc_type is None)

    def __repr__(self) -> str:
        state = "running" if self.returncode is None else "exited " + str(self.returncode)
        return "<Process " + repr(self.name) + " pid " + str(self.pid) + " " + state + ">"

    # --- output: subclasses route lines elsewhere by overriding these ------------
    def _on_stdout(self, line: str) -> None:
        self.stdout.add(line)

    def _on_stderr(self, line: str) -> None:
        self._stderr_tail.append(line)
        self.stderr.add(line)

    def _on_stdout_end(self) -> None:
        self.stdout.close()

    def _on_stderr_end(self) -> None:
        self.stderr.close()

    # --- threads ---------------------------------------------------------------
    def _read(self, pipe: Any, on_line: Any, on_end: Any, which: str, please_stop: Signal) -> None:
        # runs to end-of-file whatever please_stop says: stopping the program ends the pipe
        debug = self.debug
        try:
            readline = pipe.readline
            last_output = self._last_output
            while True:
                raw = readline()
                first = last_output[which] is None
                last_output[which] = _now()  # end-of-file counts as output, as in 6.x
                if first and self._watching:
                    self._watch(self._rearm())  # this stream's allowance is over: the deadline may come sooner
                if not raw:
                    break
                line = _decode(raw)
                if debug:
                    logger.info("{name} ({pid}) {which}: {line}", name=self.name, pid=self.pid, which=which, line=line)
                try:
                    on_line(line)
                except Exception as cause:
                    # keep reading, so the program is never blocked on a full pipe
                    logger.warning(
                        "Process {name|quote}: could not take a line from its {which}; the rest is dropped",
                        name=self.name,
                        which=which,
                        cause=cause,
                    )
                    on_line = _discard
        finally:
            try:
                pipe.close()
            finally:
                on_end()

    def _write(self, please_stop: Signal) -> None:
        pipe = self._popen.stdin
        assert pipe is not None  # started with stdin=PIPE
        stdin = self.stdin
        done = please_stop | self.exited
        try:
            while True:
                first = stdin.pop(till=done)
                if first is None or first is PLEASE_STOP:
                    return
                lines = [first]
                more = stdin.pop_all()
                closed = False
                for line in more:
                    if line is PLEASE_STOP:
                        closed = True
                        break
                    lines.append(line)
                data = b"".join((line if isinstance(line, str) else str(line)).encode("utf8") + b"\n" for line in lines)
                self._sent.extend(str(line) for line in lines)
                if self.debug:
                    for line in lines:
                        logger.info("{name} ({pid}) stdin: {line}", name=self.name, pid=self.pid, line=line)
                pipe.write(data)
                pipe.flush()
                if closed:
                    return
        except (BrokenPipeError, ConnectionResetError):
            pass  # the program is gone, or closed its stdin
        except (OSError, ValueError):
            if not self.exited:
                raise
        finally:
            try:
                pipe.close()
            except (OSError, ValueError):
                pass

    def _monitor(self, please_stop: Signal) -> None:
        popen = self._popen
        popen.wait()
        self.returncode = popen.returncode
        self.exited.go()
        drained = Till(seconds=PIPE_DRAIN_SECONDS)
        for reader in self._readers:
            try:
                reader.join(till=drained)
            except Exception as cause:
                if not isinstance(cause, ThreadTimeout):
                    logger.warning("Process {name|quote}: reading {pipe} failed", name=self.name, pipe=reader.name, cause=cause)
                    continue
                logger.warning(
                    "Process {name|quote} (pid {pid}) exited, but its {pipe} is still open (another program holds"
                    " it?): its queue closes when that ends",
                    name=self.name,
                    pid=self.pid,
                    pipe=reader.name,
                )
        try:
            self._writer.join(till=Till(seconds=PIPE_DRAIN_SECONDS))
        except ThreadTimeout:
            pass
        except Exception as cause:
            logger.warning("Process {name|quote}: writing to its stdin failed", name=self.name, cause=cause)
        report = self._silence_report
        if report is not None:
            logger.warning(
                "Process {name|quote} (pid {pid}) was silent too long and was {why}. The last lines sent to it:"
                " {sent}",
                name=self.name,
                pid=self.pid,
                why=report["why"],
                sent=_json.dumps(report["sent"]),  # encoded here: mo-logs' |json needs mo-json
            )
        if self.debug:
            logger.info("Process {name|quote} (pid {pid}) exited with {code}", name=self.name, pid=self.pid, code=self.returncode)
        code = self.returncode
        if report is not None or (code != 0 and not self._asked_to_stop):
            why = " (" + report["why"] + ")" if report is not None else ""
            tail = list(self._stderr_tail)
            self._failure = RuntimeError(
                "Process "
                + repr(self.name)
                + " (pid "
                + str(self.pid)
                + ") exited with code "
                + str(code)
                + why
                + (", its last stderr lines:\n" + "\n".join(tail) if tail else ", nothing on stderr")
            )

    def _finish(self) -> None:
        # the monitor thread has ended: the process is done
        _LIVE_GROUPS.pop(self.pid, None)
        self.stopped.go()
        if self._failure is None and self.parent is not None:
            self.parent.remove_child(self)

    def _take_unreported_failure(self) -> Optional[BaseException]:
        with self.child_locker:
            if self._failure is None or self._joined or self._reported:
                return None
            self._reported = True
            return self._failure

    # --- stopping and the watchdog -------------------------------------------
    def _on_please_stop(self) -> None:
        if self.stopped:
            return
        if not self.exited:
            self._asked_to_stop = True
        # also once the program exited while its pipes are still open: what it started holds them
        self._signal("terminate")
        self._after_grace_period(self._kill_now)

    def _after_grace_period(self, action: Callable[[], object]) -> None:
        """Call `action` `grace_period` seconds from now, unless the process has stopped by then.

        Once it stops, the timer lets go of `action` (and of this Process):
        nothing is kept alive for the grace period after a join.
        """
        timer = Till(seconds=self.grace_period)
        stopped = self.stopped

        def if_running() -> None:
            if not stopped:
                action()

        timer.then(if_running)
        stopped.then(lambda: timer.remove_then(if_running))

    def _kill_now(self) -> None:
        self._signal("kill")

    def _signal(self, how: str) -> None:
        try:
            if self._own_process_group:
                # until stopped: after the program's exit, the group lives on while its pipes are open
                if not self.stopped:
                    os.killpg(self.pid, signal.SIGKILL if how == "kill" else signal.SIGTERM)
            elif how == "kill":
                self._popen.kill()
            else:
                self._popen.terminate()
        except (ProcessLookupError, PermissionError):
            pass  # already gone

    def _rearm(self) -> int:
        with self.child_locker:
            self._watch_turn += 1
            return self._watch_turn

    def _deadline(self) -> Optional[Tuple[float, List[str]]]:
        """When the watchdog kills the program, and the streams still on their startup allowance then.

        None when it does not watch: `timeout` is None, or `startup_timeout`
        is None and nothing was printed yet.
        """
        timeout = self._timeout
        if timeout is None:
            return None
        latest: Optional[float] = None
        for which in STREAMS:
            mark = self._last_output[which]
            if mark is None:
                mark = self._allowance_ends
            if mark is not None and (latest is None or mark > latest):
                latest = mark
        if latest is None:
            return None
        allowance = self._allowance_ends
        on_allowance = [which for which in STREAMS if self._last_output[which] is None and allowance == latest]
        return latest + timeout, on_allowance

    def _why(self, now: float, on_allowance: List[str]) -> str:
        """How long the program was silent and which rule killed it, for the report."""
        marks = [mark for mark in self._last_output.values() if mark is not None]
        silent = _seconds(now - max(marks, default=self._started_at))
        timeout = _seconds(self._timeout or 0.0)
        if not on_allowance:
            rule = "by the timeout rule (timeout = " + timeout + " seconds)"
            return "killed after " + silent + " seconds without output, " + rule
        return (
            "killed after "
            + silent
            + " seconds without output, by the startup_timeout rule (nothing on "
            + " or ".join(on_allowance)
            + " in the first startup_timeout + timeout = "
            + _seconds(self.startup_timeout or 0.0)
            + " + "
            + timeout
            + " seconds)"
        )

    def _watch(self, turn: int) -> None:
        """Kill the program if it was silent too long, else check again at the deadline.

        One chain of checks runs at a time: a check from an older `turn` stops.
        """
        if self.exited or turn != self._watch_turn:
            return
        found = self._deadline()
        if found is None:
            self._set_watch_timer(turn, None)
            return
        deadline, on_allowance = found
        now = _now()
        if now >= deadline:
            self._silence_report = {"why": self._why(now, on_allowance), "sent": list(self._sent)}
            self._kill_now()
            return
        till = _at(deadline)
        if till:
            return  # timers are shut down (interpreter exit): stop watching

        def check() -> None:
            self._watch(turn)

        if self._set_watch_timer(turn, (till, check)):
            then_unless_dropped(till, check, self.child_locker, lambda: self._watch_timer)

    def _set_watch_timer(self, turn: int, timer: Optional[Tuple[Till, Callable[[], None]]]) -> bool:
        """Make `timer` the pending check, dropping the one before; False when `turn` is no longer current."""
        with self.child_locker:
            if turn != self._watch_turn:
                return False
            old, self._watch_timer = self._watch_timer, timer
        if old is not None:
            old[0].remove_then(old[1])
        return True

    def _drop_watch_timer(self) -> None:
        self._set_watch_timer(self._rearm(), None)  # a newer turn: a check under way arms nothing


def _kill_live_groups() -> None:
    """At a forced exit: SIGKILL the process group of every program this process started that has not stopped."""
    me = os.getpid()
    for group, owner in list(_LIVE_GROUPS.items()):
        if owner == me:
            try:
                os.killpg(group, signal.SIGKILL)
            except OSError:
                pass  # gone already


_os_signals.at_forced_exit(_kill_live_groups)
