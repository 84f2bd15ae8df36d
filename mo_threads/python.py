"""`Python`: a worker interpreter in a child process, driven by JSON lines.

The worker is `python_worker.py`, started with `sys.executable` and the
parent's `sys.path`. Each request is one JSON line on the worker's stdin and
gets one JSON line back on its stdout, matched by id, so several threads may
call at once (the worker answers in order). The worker's log messages and
anything it prints to stderr arrive in the parent's log.
"""

from __future__ import annotations

import builtins
import json
import os
import sys
from itertools import count
from typing import Any, Callable, Dict, List, Optional

from mo_logs import logger

from mo_threads._vocabulary import check_name
from mo_threads.lock import Lock
from mo_threads.processes import Process
from mo_threads.signals import Signal

__all__ = ("Python",)

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "python_worker.py")


class _Reply:
    __slots__ = ("done", "value", "error")

    def __init__(self) -> None:
        self.done = Signal()
        self.value: Any = None
        self.error: Optional[Dict[str, Any]] = None


class _WorkerProcess(Process):
    """The worker's process: stdout lines are answers and log lines, stderr lines go to the log."""

    def __init__(self, owner: Python, name: str, debug: bool) -> None:
        self.owner = owner
        Process.__init__(
            self,
            name,
            [sys.executable, "-u", WORKER],
            debug=debug,
            timeout=None,
            startup_timeout=None,
        )

    def _on_stdout(self, line: str) -> None:
        try:
            message = json.loads(line)
        except ValueError:
            logger.info("Python worker {name|quote} said: {line}", name=self.name, line=line)
            return
        if "log" in message:
            logger.info("Python worker {name|quote}: {text}", name=self.name, text=message["log"])
            return
        self.owner._answer(message)

    def _on_stderr(self, line: str) -> None:
        self._stderr_tail.append(line)
        logger.info("Python worker {name|quote} stderr: {line}", name=self.name, line=line)

    def _on_stderr_end(self) -> None:
        self.stderr.close()

    def _finish(self) -> None:
        self.owner._worker_ended()
        Process._finish(self)


class Python:
    """A Python interpreter in a child process.

        worker = Python("calc", {"any": "config"})
        worker.import_module("math", ["sqrt"])
        worker.sqrt(16)          # 4.0: any other attribute calls that function in the worker
        worker.stop().join()

    Arguments and results travel as JSON. Each call blocks until the worker
    answers. An exception in the worker is raised here, as the same built-in
    type when it is one (else `RuntimeError`), with the worker's message and
    traceback. When the worker is gone, calls raise `RuntimeError`. `config` is
    available in the worker as the variable `config`.
    """

    def __init__(self, name: str, config: Any = None, debug: bool = False) -> None:
        check_name(name, "Python name")
        self.name = name
        # the worker's own: not made anew at a fork (its reader threads are the parent's; see _runtime)
        self._lock = Lock("python worker " + name)
        self._pending: Dict[int, _Reply] = {}
        self._ids = count(1)
        self._ended = False
        try:
            hello = json.dumps({"config": config, "sys_path": [p for p in sys.path if isinstance(p, str)]})
        except (TypeError, ValueError) as cause:
            raise TypeError("Python " + repr(name) + " config must be JSON: " + str(cause)) from None
        self.process = _WorkerProcess(self, name, debug)
        self.process.stdin.add(hello)

    # --- requests -----------------------------------------------------------------
    def import_module(self, module: str, var_names: Optional[List[str]] = None) -> None:
        """`from module import var_names` in the worker (`import *` when var_names is None)."""
        check_name(module, "module")
        if isinstance(var_names, str):
            var_names = [var_names]
        self._request({"import": module, "vars": None if var_names is None else list(var_names)})

    def execute_script(self, script: str) -> None:
        """Run Python source in the worker's namespace."""
        check_name(script, "script")
        self._request({"execute": script})

    def get(self, name: str) -> Any:
        """The value of a variable in the worker (as JSON); raises `NameError` when it is not defined."""
        return self._request({"get": name})

    def set(self, name: str, value: Any) -> None:
        """Set a variable in the worker's namespace to `value` (sent as JSON)."""
        self._request({"set": name, "value": value})

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_") or name in ("process", "name"):
            # not set yet (a failed __init__): never turn these into calls
            raise AttributeError(name)

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._request({"call": name, "args": args, "kwargs": kwargs})

        call.__name__ = name
        return call

    # --- lifetime --------------------------------------------------------------
    def stop(self) -> Python:
        """Ask the worker to exit (end-of-file on its stdin); it is terminated if still running `grace_period` seconds later. Never blocks."""
        process = self.process
        try:
            process.stdin.close()
        except Exception:
            pass
        # stopped (SIGTERM, then SIGKILL) if it has not exited within its grace period
        process._after_grace_period(process.stop)
        return self

    def join(self, till: Optional[Signal] = None) -> Python:
        """Wait for the worker to exit; raises as `Process.join` does."""
        self.process.join(till=till)
        return self

    def __enter__(self) -> Python:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()
        self.join()

    def __repr__(self) -> str:
        return "<Python " + repr(self.name) + " pid " + str(self.process.pid) + ">"

    # --- internals -------------------------------------------------------------
    def _request(self, request: Dict[str, Any]) -> Any:
        reply = _Reply()
        with self._lock:
            if self._ended:
                raise RuntimeError(self._gone_message())
            ident = next(self._ids)
            self._pending[ident] = reply
        request["id"] = ident
        try:
            line = json.dumps(request)
        except (TypeError, ValueError) as cause:
            with self._lock:
                self._pending.pop(ident, None)
            raise TypeError("Python worker " + repr(self.name) + ": arguments must be JSON: " + str(cause)) from None
        try:
            self.process.stdin.add(line)
        except Exception:
            with self._lock:
                self._pending.pop(ident, None)
            raise RuntimeError(self._gone_message()) from None
        reply.done.wait()
        error = reply.error
        if error is not None:
            raise _rebuild(self.name, error)
        return reply.value

    def _answer(self, message: Dict[str, Any]) -> None:
        with self._lock:
            reply = self._pending.pop(message.get("id"), None)  # type: ignore[arg-type]
        if reply is None:
            logger.warning("Python worker {name|quote} sent an answer nobody asked for: {message}", name=self.name, message=json.dumps(message))
            return
        if "error" in message:
            reply.error = message["error"]
        else:
            reply.value = message.get("out")
        reply.done.go()

    def _worker_ended(self) -> None:
        with self._lock:
            self._ended = True
            pending, self._pending = self._pending, {}
        for reply in pending.values():
            reply.error = {"type": "RuntimeError", "message": self._gone_message(), "trace": ""}
            reply.done.go()

    def _gone_message(self) -> str:
        process = self.process
        tail = list(process._stderr_tail)
        return (
            "Python worker "
            + repr(self.name)
            + " is not running (exit code "
            + str(process.returncode)
            + ")"
            + (", its last stderr lines:\n" + "\n".join(tail) if tail else "")
        )


def _rebuild(name: str, error: Dict[str, Any]) -> BaseException:
    """The worker's exception, as the same built-in type when it is one."""
    message = str(error.get("message", ""))
    trace = str(error.get("trace") or "").rstrip()
    text = message + " (in Python worker " + repr(name) + ")" + ("\nworker traceback:\n" + trace if trace else "")
    kind = getattr(builtins, str(error.get("type")), None)
    if isinstance(kind, type) and issubclass(kind, Exception):
        try:
            return kind(text)
        except Exception:
            pass
    return RuntimeError(str(error.get("type")) + ": " + text)
