"""`Command`: run a command line in a reused `bash` session.

Theory of operation
-------------------
Starting a process costs milliseconds; a long-lived `bash` reading commands
from its stdin costs one `fork` per command. Sessions are kept per working
directory and environment, each serving one command at a time. A session
starts by keeping the two wrappers a command runs in, in shell variables:

    __mo_x='eval "(unset __mo_c __mo_n __mo_w __mo_x __mo_r
    $__mo_c
    ) </dev/null"; <end>'
    __mo_w='( eval "unset __mo_c __mo_n __mo_w __mo_x __mo_r; $__mo_c" ) </dev/null; <end>'

where `<end>` is `__mo_r=$?; printf "%s\\n" <token>${__mo_n}__ >&2; printf
"%s %d\\n" <token>${__mo_n}__ $__mo_r`, and a command is one short line,
`__mo_c='<command line>' __mo_n=<n>;eval "$__mo_x"`, written to bash's stdin
by the calling thread. Short, because bash reads a pipe one byte per `read()`
call (it must not consume the next command's input): the wrapper spelled out
on every line cost 150 system calls per command. Variables rather than a
shell function, so that the command runs at the top level (`return`,
`local`, `FUNCNAME` and the positional parameters behave as in a script).

Both run the command in a subshell, which keeps a `cd`, `export`, `exit` or
anything else a shell can change from leaking into the next command (only a
fork isolates a command from all of them: see benchmarks/README.md), with
stdin from /dev/null so that it does not eat the session's input, and both
parse it with `eval`, which confines a syntax error to that command.
`__mo_x` parses it in the subshell's own text: bash then runs the last
program of the command in place of the subshell, one fork per command, as a
`(...)` does. But a command's own `)` could close that subshell early and
run the rest in the session, so a command line with a `)` (or a here-document
or a final backslash, which would take the closing `)` in) gets `__mo_w`
instead: the subshell evals it, and bash forks again for a program. A list
of arguments is quoted, so it always gets `__mo_x`.

`<token><n>__` is a marker unique to the command: seen on stderr and on
stdout (with the exit code), it means every line of the command has arrived,
so the command's queues get its own output and nothing else. The stderr
marker goes first, so that its reader is usually done by the time the stdout
marker ends the command.

A finished command gives its session back to the idle pool; a session idle
for `IDLE_SECONDS` is closed (its stdin closed, so `bash` exits), and shutdown
stops the rest: sessions are children of the main thread.
"""

from __future__ import annotations

import os
import shlex
from itertools import count
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from mo_logs import logger

from mo_threads import _runtime
from mo_threads.lock import Lock
from mo_threads.processes import Process, check_name_and_params
from mo_threads.queues import Queue
from mo_threads._vocabulary import ThreadTimeout, check_count, check_till, check_timeout
from mo_threads.signals import Signal
from mo_threads.threads import MAIN_THREAD
from mo_threads.till import Till, then_unless_dropped

__all__ = ("Command",)

# seconds an unused session stays open
IDLE_SECONDS = 60.0

SessionKey = Tuple[Optional[str], Optional[Tuple[Tuple[str, str], ...]]]


def quote_command(params: Union[str, Sequence[Any]]) -> str:
    """A command line: a str is used as it is, a list has each argument shell-quoted."""
    if isinstance(params, str):
        return params
    if not params:
        raise ValueError("Command params is empty, expecting a command line or a list of arguments")
    return " ".join(shlex.quote(p if isinstance(p, str) else str(p)) for p in params)


class Command:
    """A command line run to completion, its output in `stdout` and `stderr` Queues of lines.

    With `shell=True` (the default) it runs in a `bash` session shared with
    earlier commands of the same `cwd` and `env`, in a subshell of it (a `cd`,
    `export` or `exit` does not reach the next command); a list of `params` is
    shell-quoted, a str is taken as a command line. With `shell=False` it runs
    as its own `Process` (`params` is the argument list). The queues hold this
    command's output only, at most `max_stdout` lines of stdout (older lines
    are dropped past that), and are closed when it ends. `timeout` (seconds,
    None for no limit) kills a command that runs longer.
    """

    def __init__(
        self,
        name: str,
        params: Union[str, Sequence[Any]],
        cwd: Any = None,
        env: Optional[Mapping[str, Any]] = None,
        debug: bool = False,
        shell: bool = True,
        timeout: Optional[float] = None,
        max_stdout: int = 1024,
    ) -> None:
        check_name_and_params("Command", name, params, "a command line (str) or a list of arguments")
        if timeout is not None:
            timeout = check_timeout(timeout, "Command " + repr(name) + " timeout")
        check_count(max_stdout, "Command " + repr(name) + " max_stdout", 1, wrong_type=ValueError)
        self.name = name
        self.debug = debug
        self.max_stdout = max_stdout
        self.returncode: Optional[int] = None
        self.stopped = Signal("stopped command " + name)
        self._stderr_tail: List[str] = []
        self._timed_out = False
        self._timer: Optional[Till] = None
        self.process: Optional[Process] = None
        self._session: Optional[_Session] = None
        if not shell:
            process = Process(name, params, cwd=cwd, env=env, debug=debug, timeout=None, startup_timeout=None)
            self.process = process
            self.pid = process.pid
            self.stdout = process.stdout
            self.stderr = process.stderr
            process.stopped.then(self._process_ended)
        else:
            self.command_line = quote_command(params)
            # no `)` of its own (each argument of a list is quoted): it can not close the
            # subshell the session puts it in, so bash may parse it there (see the notes above);
            # nor a line continuation or a here-document that would take that `)` in
            self._enclosable = not isinstance(params, str) or not (
                ")" in params or "<<" in params or params.endswith("\\")
            )
            self.stdout = Queue("stdout for command " + repr(name), silent=True)
            self.stderr = Queue("stderr for command " + repr(name), silent=True)
            session = SESSIONS.acquire(cwd, env, debug)
            self._session = session
            self.pid = session.pid
            session.run(self)
        self._timer = None
        if timeout is not None and not self.stopped:
            self._timer = Till(seconds=timeout)
            self._timer.then(self._on_timeout)
            if self.stopped:
                self._timer.remove_then(self._on_timeout)

    # --- public ----------------------------------------------------------------
    def join(self, raise_on_error: bool = False, till: Optional[Signal] = None) -> Command:
        """Wait for the command to end; returns this command.

        Raises `ThreadTimeout` when `till` fires first. With `raise_on_error`,
        raises `RuntimeError` with the exit code and the stderr lines on a
        non-zero exit.
        """
        check_till(till)
        if not self.stopped.wait(till=till):
            raise ThreadTimeout("Timeout on join of command " + repr(self.name))
        if self.process is not None:
            self.process.join(raise_on_error=False)
        if raise_on_error and self.returncode != 0:
            tail = self._stderr_tail if self.process is None else list(self.process._stderr_tail)
            raise RuntimeError(
                "Command "
                + repr(self.name)
                + " exited with code "
                + str(self.returncode)
                + (" (killed: it ran past its timeout)" if self._timed_out else "")
                + (", its stderr:\n" + "\n".join(tail) if tail else ", nothing on stderr")
            )
        return self

    def kill(self) -> Command:
        """Kill the command now (and the session running it). Never blocks."""
        if self.stopped:
            return self
        if self.process is not None:
            self.process.kill()
        elif self._session is not None:
            self._session.kill()
        return self

    stop = kill

    def __enter__(self) -> Command:
        return self

    def __exit__(self, exc_type: Any, *exc_info: Any) -> None:
        if exc_type is not None:
            self.kill()
        self.join()

    def __repr__(self) -> str:
        state = "running" if self.returncode is None else "exited " + str(self.returncode)
        return "<Command " + repr(self.name) + " " + state + ">"

    # --- fed by the session ------------------------------------------------------
    def _add_stdout(self, line: str) -> None:
        stdout = self.stdout
        if len(stdout) >= self.max_stdout:
            stdout.pop_one()
        stdout.add(line)

    def _add_stderr(self, line: str) -> None:
        tail = self._stderr_tail
        tail.append(line)
        if len(tail) > 30:
            del tail[0]
        self.stderr.add(line)

    def _end(self, returncode: Optional[int]) -> None:
        if self.stopped:
            return
        self.returncode = returncode
        self.stdout.close()
        self.stderr.close()
        if self.debug:
            logger.info("Command {name|quote} exited with {code}", name=self.name, code=returncode)
        self._forget_timer()
        self.stopped.go()

    def _forget_timer(self) -> None:
        timer = self._timer
        if timer is not None:
            self._timer = None
            timer.remove_then(self._on_timeout)  # a long timeout must not keep this command alive

    def _process_ended(self) -> None:
        process = self.process
        self.returncode = process.returncode  # type: ignore[union-attr]
        self._forget_timer()
        self.stopped.go()

    def _on_timeout(self) -> None:
        if self.stopped:
            return
        self._timed_out = True
        logger.warning("Command {name|quote} ran past its timeout and was killed", name=self.name)
        self.kill()


class _Session(Process):
    """A `bash` process running one `Command` at a time, leading its own process group (as every `Process`).

    Killing the session kills the group, so a command's children can not keep
    the pipes open.
    """

    def __init__(self, key: SessionKey, cwd: Any, env: Optional[Mapping[str, Any]], debug: bool) -> None:
        # set before Process starts the readers, which use them
        self.key = key
        # not made anew at a fork: a child never uses its parent's sessions (see _Sessions.after_fork)
        self.lock = Lock("bash session")
        self.current: Optional[Command] = None
        self.marker = ""
        self.stdout_done = False
        self.stderr_done = False
        self.idle_turn = 0
        self.code: Optional[int] = None
        self.finished = False
        self.idle_timer: Optional[Tuple[Till, Callable[[], None]]] = None
        self._token = "__mo_threads_end_" + os.urandom(8).hex() + "_"
        self._sequence = count()
        Process.__init__(
            self,
            "bash session in " + repr(key[0] or "."),
            ["bash", "--noprofile", "--norc"],
            cwd=cwd,
            env=env,
            debug=debug,
            timeout=None,
            startup_timeout=None,
            parent_thread=MAIN_THREAD,
        )
        # the wrapper's variables are unset where the command runs: it sees none of them
        forget = "unset __mo_c __mo_n __mo_w __mo_x __mo_r"
        end = (
            '__mo_r=$?; printf "%s\\n" '
            + self._token
            + '${__mo_n}__ >&2; printf "%s %d\\n" '
            + self._token
            + "${__mo_n}__ $__mo_r"
        )
        wrappers = (
            "__mo_w=" + shlex.quote('( eval "' + forget + '; $__mo_c" ) </dev/null; ' + end),
            # the command on a line of its own: a syntax error reports its line, not ours
            "__mo_x=" + shlex.quote('eval "(' + forget + '\n$__mo_c\n) </dev/null"; ' + end),
        )
        try:
            self._send("; ".join(wrappers))
        except (OSError, ValueError):
            pass  # bash is gone already: its end ends the command run() gives it

    def _send(self, line: str) -> None:
        """Write `line` to bash's stdin from the calling thread (no wake-up of the writer thread).

        One command at a time uses a session, so nothing else writes to the
        pipe but the writer thread when it closes it (idle or stopping): a
        write after that raises (ValueError or OSError), which `run` handles.
        """
        pipe = self._popen.stdin
        assert pipe is not None  # started with stdin=PIPE
        pipe.write(line.encode("utf8") + b"\n")
        pipe.flush()

    def run(self, command: Command) -> None:
        sequence = str(next(self._sequence))
        marker = self._token + sequence + "__"
        with self.lock:
            ended = self.finished
            if not ended:
                self.current = command
                self.marker = marker
                self.stdout_done = self.stderr_done = False
                self.idle_turn += 1
        self.drop_idle_timer()
        if ended:
            # bash ended between acquire() and now
            command._end(self.returncode)
            return
        if self.debug:
            logger.info("Command {name|quote} runs {line|quote} in bash {pid}", name=command.name, line=command.command_line, pid=self.pid)
        try:
            wrapper = "$__mo_x" if command._enclosable else "$__mo_w"
            self._send("__mo_c=" + shlex.quote(command.command_line) + " __mo_n=" + sequence + ';eval "' + wrapper + '"')
        except Exception as cause:
            # the session is gone (closed at the same moment): fail this command, not the caller
            logger.warning("Command {name|quote} could not be sent to its shell", name=command.name, cause=cause)
            self.kill()  # not given back to the pool: the next command gets a new session
            self._command_done(None, -1)

    def _on_stdout(self, line: str) -> None:
        self._on_line(line, "stdout")

    def _on_stderr(self, line: str) -> None:
        self._on_line(line, "stderr")

    def _on_line(self, line: str, stream: str) -> None:
        """Give a line of the session's `stream` to the current command, or end it at our marker."""
        command = self.current
        if command is None:
            logger.info("Output of bash session {pid} outside any command: {line}", pid=self.pid, line=line)
            return
        add = command._add_stdout if stream == "stdout" else command._add_stderr
        at = line.find(self.marker)
        if at < 0:
            add(line)
            return
        if at > 0:
            add(line[:at])  # the command's last line had no line ending
        code: Optional[int] = None
        if stream == "stdout":  # the exit code follows the marker on stdout only
            try:
                code = int(line[at + len(self.marker):].strip())
            except ValueError:
                pass
        self._command_done(stream, code)

    def _on_stdout_end(self) -> None:
        pass

    def _on_stderr_end(self) -> None:
        pass

    def _command_done(self, which: Optional[str], code: Optional[int]) -> None:
        with self.lock:
            command = self.current
            if command is None:
                return
            if which == "stdout":
                self.stdout_done = True
                self.code = code
            elif which == "stderr":
                self.stderr_done = True
            else:
                self.code = code
                self.stdout_done = self.stderr_done = True
            if not (self.stdout_done and self.stderr_done):
                return
            self.current = None
            code = self.code
        # back in the pool before the command ends: the thread that joins it and runs the next
        # command at once must find this session, not start another bash
        turn = SESSIONS.release(self)
        command._end(code)
        if turn is not None:
            self.arm_idle_timer(turn)  # after the end: the joining thread need not wait for it

    def _finish(self) -> None:
        # bash ended (killed, closed or shut down): end its command, forget the session
        SESSIONS.forget(self)
        with self.lock:
            self.finished = True
            command, self.current = self.current, None
        self.drop_idle_timer()
        if command is not None:
            command._end(self.returncode)
        Process._finish(self)
        # nobody joins a session: its end reached its command (the exit code), which is where a
        # failure belongs (a command that killed its shell), not in the shutdown's report
        if self.parent is not None:
            self.parent.remove_child(self)

    def _take_unreported_failure(self) -> Optional[BaseException]:
        return None  # see _finish: the command has it

    def arm_idle_timer(self, turn: int) -> None:
        """Close this session if it is still idle since `turn` in `IDLE_SECONDS`."""
        till = Till(seconds=IDLE_SECONDS)

        def close() -> None:
            self.close_if_idle(turn)

        with self.lock:
            if self.finished or self.idle_turn != turn:
                return  # gone, or busy again already
            old, self.idle_timer = self.idle_timer, (till, close)
        if old is not None:
            old[0].remove_then(old[1])
        then_unless_dropped(till, close, self.lock, lambda: self.idle_timer)

    def drop_idle_timer(self) -> None:
        """Forget the idle timer: the session is busy or gone, and the timer must not keep it alive."""
        with self.lock:
            old, self.idle_timer = self.idle_timer, None
        if old is not None:
            old[0].remove_then(old[1])

    def close_if_idle(self, turn: int) -> None:
        if SESSIONS.take_idle(self, turn):
            try:
                self.stdin.close()
            except Exception:
                self.stop()


class _Sessions:
    """The idle `bash` sessions, per (cwd, env)."""

    def __init__(self) -> None:
        self.lock = Lock("command sessions")  # made anew in a forked child (after_fork)
        self.idle: Dict[SessionKey, List[_Session]] = {}

    def after_fork(self) -> None:
        """In a forked child: a new lock (a thread that is gone may have held it), and no idle sessions.

        The parent's sessions are the parent's: their reader and writer threads
        do not exist in the child, so a command sent to one would never end.
        The child starts its own.
        """
        self.lock = Lock("command sessions")
        self.idle = {}

    def acquire(self, cwd: Any, env: Optional[Mapping[str, Any]], debug: bool) -> _Session:
        key: SessionKey = (
            None if cwd is None else str(getattr(cwd, "abspath", cwd)),
            None if env is None else tuple(sorted((str(k), str(v)) for k, v in env.items())),
        )
        with self.lock:
            sessions = self.idle.get(key)
            while sessions:
                session = sessions.pop()
                if not session.exited and not session.please_stop:
                    return session
        return _Session(key, cwd, env, debug)

    def release(self, session: _Session) -> Optional[int]:
        """Put `session` back in the pool; its idle turn, for `arm_idle_timer`, or None if it is gone."""
        if session.exited or session.please_stop:
            return None
        with self.lock:
            self.idle.setdefault(session.key, []).append(session)
            return session.idle_turn

    def take_idle(self, session: _Session, turn: int) -> bool:
        """Remove `session` from the pool if it is still idle since `turn`."""
        with self.lock:
            if session.idle_turn != turn:
                return False
            sessions = self.idle.get(session.key, [])
            if session not in sessions:
                return False
            sessions.remove(session)
            if not sessions:
                self.idle.pop(session.key, None)
            return True

    def forget(self, session: _Session) -> None:
        with self.lock:
            sessions = self.idle.get(session.key)
            if sessions and session in sessions:
                sessions.remove(session)
                if not sessions:
                    self.idle.pop(session.key, None)

    def close_all(self) -> None:
        """Close every idle session (shutdown stops them anyway; tests use this)."""
        with self.lock:
            sessions = [s for group in self.idle.values() for s in group]
            self.idle.clear()
        for session in sessions:
            session.stop()
        for session in sessions:
            session.join(raise_on_error=False)


SESSIONS = _Sessions()
_runtime.on_fork("commands", SESSIONS.after_fork)
_runtime.on_reset("commands", SESSIONS.close_all)
