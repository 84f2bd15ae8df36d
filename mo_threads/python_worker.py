"""The worker side of `mo_threads.python.Python`: a Python interpreter driven by JSON lines.

Run as a script (`python path/to/python_worker.py`), as a module
(`python -m mo_threads.python_worker`), or call `main()` (also named `start()`,
as in 6.x). It reads one JSON object per line on
stdin and answers each with one JSON line on stdout:

    first line       {"config": <any>, "sys_path": [...]}   (no answer)
    {"id": 1, "import": "mod", "vars": ["a", "b"] or null}   from mod import a, b  (null: import *)
    {"id": 2, "execute": "x = 1"}                             exec in the worker's namespace
    {"id": 3, "get": "x"}                                     the value of x
    {"id": 4, "set": "x", "value": 2}
    {"id": 5, "call": "f", "args": [...], "kwargs": {...}}    f(*args, **kwargs)
    {"id": 6, "exit": true}                                   answer, then exit
    answer           {"id": 1, "out": <value>}  or  {"id": 1, "error": {"type", "message", "trace"}}
    log line         {"log": "<text>"}                         a mo_logs message of the worker

Anything the worker's code prints goes to stderr: stdout carries the protocol
only. End-of-file on stdin ends the worker.
"""

from __future__ import annotations

import builtins
import importlib
import json
import os
import sys
import threading
import traceback
from typing import Any, Callable, Dict, TextIO

__all__ = ("main", "start")


def _jsonable(value: Any) -> Any:
    """`json.dumps(default=)`: mappings become objects, other iterables lists."""
    if hasattr(value, "items"):
        return {str(k): v for k, v in value.items()}
    if hasattr(value, "__iter__") and not isinstance(value, (str, bytes)):
        return list(value)
    raise TypeError("Object of type " + type(value).__name__ + " is not JSON serializable")


class _Channel:
    """The protocol side of stdout: one JSON object per line, whole lines only."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.lock = threading.Lock()

    def send(self, message: Dict[str, Any]) -> None:
        try:
            text = json.dumps(message, default=_jsonable)
        except (TypeError, ValueError) as cause:
            if "id" not in message:
                raise
            text = json.dumps({"id": message["id"], "error": _describe(cause, "the result is not JSON: ")})
        with self.lock:
            self.stream.write(text + "\n")
            self.stream.flush()


class _LogToChannel:
    """A mo_logs structured logger that sends each message to the parent."""

    def __init__(self, channel: _Channel, expand: Callable[[str, Any], str]) -> None:
        self.channel = channel
        self.expand = expand

    def write(self, template: str, params: Any) -> None:
        try:
            text = self.expand(template, params)
        except Exception as cause:
            text = template + " (could not expand: " + repr(cause) + ")"
        self.channel.send({"log": text})

    def stop(self) -> None:
        pass


def _describe(error: BaseException, prefix: str = "") -> Dict[str, str]:
    return {
        "type": type(error).__name__,
        "message": prefix + str(error),
        "trace": "".join(traceback.format_exception(type(error), error, error.__traceback__)),
    }


def _capture_logs(channel: _Channel) -> None:
    try:
        from mo_logs import logger
        from mo_logs.strings import expand_template
    except ImportError:
        return
    logger.main_log = _LogToChannel(channel, expand_template)


def handle(request: Dict[str, Any], namespace: Dict[str, Any]) -> Any:
    """Carry out one request in `namespace`; return the answer's value."""
    if "import" in request:
        module = importlib.import_module(request["import"])
        names = request.get("vars")
        if names is None:
            names = getattr(module, "__all__", None)
            if names is None:
                names = [n for n in vars(module) if not n.startswith("_")]
        for name in names:
            namespace[name] = getattr(module, name)
        return None
    if "execute" in request:
        exec(compile(request["execute"], "<script>", "exec"), namespace)
        return None
    if "get" in request:
        name = request["get"]
        if name not in namespace:
            raise NameError("name " + repr(name) + " is not defined in the worker")
        return namespace[name]
    if "set" in request:
        namespace[request["set"]] = request.get("value")
        return None
    if "call" in request:
        name = request["call"]
        if name in namespace:
            function = namespace[name]
        elif hasattr(builtins, name):
            function = getattr(builtins, name)  # as Python resolves names: builtins last
        else:
            raise NameError("name " + repr(name) + " is not defined in the worker (import or define it first)")
        if not callable(function):
            raise TypeError(repr(name) + " is a " + type(function).__name__ + ", not a function")
        return function(*(request.get("args") or ()), **(request.get("kwargs") or {}))
    raise ValueError("unknown request: " + json.dumps(sorted(request)))


def main() -> None:
    """Serve requests from stdin until end-of-file or an exit request."""
    here = os.path.dirname(os.path.abspath(__file__))
    if sys.path and os.path.abspath(sys.path[0] or ".") == here:
        # run as a script: our own directory must not shadow top-level modules
        del sys.path[0]
    # keep the real stdout for the protocol; send everything else printed to stderr
    channel = _Channel(os.fdopen(os.dup(1), "w", encoding="utf8"))
    os.dup2(2, 1)
    stdin = sys.stdin

    first = stdin.readline()
    if not first:
        return
    hello = json.loads(first)
    parent_path = [p for p in hello.get("sys_path") or () if isinstance(p, str)]
    sys.path[:] = parent_path + [p for p in sys.path if p not in parent_path]
    namespace: Dict[str, Any] = {"__name__": "__worker__", "__builtins__": builtins, "config": hello.get("config")}
    _capture_logs(channel)

    for line in stdin:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
        except ValueError as cause:
            channel.send({"id": None, "error": _describe(cause, "not a JSON request: ")})
            continue
        ident = request.get("id")
        if request.get("exit"):
            channel.send({"id": ident, "out": None})
            return
        try:
            value = handle(request, namespace)
        except Exception as cause:
            channel.send({"id": ident, "error": _describe(cause)})
        else:
            channel.send({"id": ident, "out": value})


# the name mo-threads 6.x gave the worker's entry point
start = main


if __name__ == "__main__":
    main()
