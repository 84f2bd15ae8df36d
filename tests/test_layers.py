"""The layering of mo_threads (shared/DESIGN.md: each module imports only from the layers below it).

Read from the source with `ast`, so that a late import or an upward import
fails here, in a test named for it, rather than as an import-order accident:

- no `import` inside a function or method (except the documented lazy imports below);
- the kernel (`_vocabulary`, `_runtime`, `_clock`, `_parking`) imports nothing of ours but lower kernel layers;
- nobody imports `mo_threads.threads` for a sentinel or an exception: the shared vocabulary
  (`PLEASE_STOP`, every exception, the argument checks) is imported from `_vocabulary` only;
- the import graph of mo_threads' modules has no cycle.

Then the vocabulary itself: one object whichever public path it is imported
from, a `__module__` that names that public path, and pickles that come back.
"""

from __future__ import annotations

import ast
import importlib
import os
import pickle
import queue as stdlib_queue
import threading
from typing import Dict, List, Set, Tuple

import pytest

import mo_threads
from mo_threads import _vocabulary
from mo_threads.lock import Lock
from mo_threads.queues import Queue

PACKAGE = os.path.dirname(os.path.abspath(mo_threads.__file__))
MODULES = sorted(name[:-3] for name in os.listdir(PACKAGE) if name.endswith(".py"))

# (module, function): why its import statement sits inside the function
LAZY_IMPORTS: Dict[Tuple[str, str], str] = {
    ("python_worker", "_capture_logs"): (
        "runs in the worker interpreter of Python(), where mo-logs is optional: "
        "the worker forwards mo-logs' output only when mo-logs is importable there"
    ),
}

# (module, function): why it imports by name at run time (importlib / __import__)
DYNAMIC_IMPORTS: Dict[Tuple[str, str], str] = {
    ("python_worker", "handle"): "imports the module a Python() request names: the worker's job",
}

# The kernel, bottom first: each may import only the kernel layers before it.
# `_runtime` sits right above the vocabulary: it is the registry every owner of global state
# registers its after-fork step and test reset with, at import (the "registry set by the higher
# layer" of DESIGN.md), so it imports none of them.
KERNEL: Tuple[str, ...] = ("_vocabulary", "_runtime", "_clock", "_parking")

# Modules that have no business with the thread tree: they must not import mo_threads.threads at all.
WITHOUT_THREADS: Tuple[str, ...] = KERNEL + (
    "_blocking",
    "_queue_core",
    "_queue_stdlib",  # the queue.Queue methods of Queue, a mixin below the queue core
    "_registry",
    "_waits",
    "_watchdog",
    "_os_signals",
    "_restart",
    "_thread_options",  # the start options Thread shares with groups and supervise
    "signals",
    "till",
    "lock",
    "futures",
    "channels",
    "sync",
    "waiting",
    "busy_lock",
    "metrics",
    "queues",  # re-exports ThreadedQueue from _threaded_queue, the one queue module that imports threads.py
)

# Modules that do import mo_threads.threads, and the one reason each has.
WITH_THREADS: Dict[str, str] = {
    "__init__": "the public API re-exports Thread, MainThread, ...",
    "_introspect": "dumps the thread tree from MAIN_THREAD",
    "aio": "run_in_thread() starts a Thread",
    "commands": "a Command's sessions are children of MAIN_THREAD",
    "groups": "a ThreadGroup is a node of the thread tree and starts Threads",
    "pools": "a ThreadPool's workers are Threads",
    "_threaded_queue": "ThreadedQueue runs its worker in a Thread",
    "processes": "a Process is a node of the thread tree, with reader Threads",
    "profiles": "profiles every thread and writes at the main thread's shutdown",
    "remote": "follow() starts a Thread that stands for the remote work",
    "repeat": "a Repeat runs in a Thread",
    "supervise": "supervise() starts a Thread with restart options",
}

VOCABULARY: Set[str] = set(_vocabulary.__all__)


def _tree(module: str) -> ast.Module:
    with open(os.path.join(PACKAGE, module + ".py"), encoding="utf8") as source:
        return ast.parse(source.read(), module + ".py")


def _ours(module: str, node: ast.AST) -> List[Tuple[str, List[str]]]:
    """(module of ours imported, names taken from it) for one import statement."""
    found: List[Tuple[str, List[str]]] = []
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name == "mo_threads" or alias.name.startswith("mo_threads."):
                found.append((alias.name.split(".")[1] if "." in alias.name else "__init__", []))
    elif isinstance(node, ast.ImportFrom):
        if node.level:
            raise AssertionError(module + ": relative import; write `from mo_threads.x import ...`")
        target = node.module or ""
        names = [alias.name for alias in node.names]
        if target == "mo_threads":
            for name in names:
                if name in MODULES:
                    found.append((name, []))  # from mo_threads import _runtime: the submodule
                else:
                    found.append(("__init__", [name]))
        elif target.startswith("mo_threads."):
            found.append((target.split(".")[1], names))
    return found


def _module_level_imports(module: str) -> List[Tuple[str, List[str]]]:
    """What `module` imports of ours when it is imported (statements outside any function)."""
    found: List[Tuple[str, List[str]]] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                found.extend(_ours(module, child))
            visit(child)

    visit(_tree(module))
    return found


def _functions(tree: ast.AST) -> List[ast.AST]:
    return [node for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))]


def _name(function: ast.AST) -> str:
    return getattr(function, "name", "<lambda>")


class TestNoLateImports:
    def test_no_import_inside_a_function(self) -> None:
        late = []
        for module in MODULES:
            for function in _functions(_tree(module)):
                for node in ast.walk(function):
                    if isinstance(node, (ast.Import, ast.ImportFrom)) and (module, _name(function)) not in LAZY_IMPORTS:
                        late.append(module + "." + _name(function) + " line " + str(node.lineno))
        assert late == [], "imports inside functions (move them to the top, or list them in LAZY_IMPORTS with the reason)"

    def test_no_import_by_name_at_run_time(self) -> None:
        dynamic = []
        for module in MODULES:
            tree = _tree(module)
            inside: Set[ast.AST] = set()
            for function in _functions(tree):
                for node in ast.walk(function):
                    inside.add(node)
                    if _is_dynamic_import(node) and (module, _name(function)) not in DYNAMIC_IMPORTS:
                        dynamic.append(module + "." + _name(function) + " line " + str(getattr(node, "lineno", "?")))
            for node in ast.walk(tree):  # module level: `x = __import__("time").monotonic` and the like
                if _is_dynamic_import(node) and node not in inside:
                    dynamic.append(module + " line " + str(getattr(node, "lineno", "?")))
        assert dynamic == []

    def test_every_listed_exception_exists(self) -> None:
        # a stale entry would hide a new late import in a function of the same name
        for table in (LAZY_IMPORTS, DYNAMIC_IMPORTS):
            for module, function in table:
                assert function in {_name(f) for f in _functions(_tree(module))}, (module, function)


def _is_dynamic_import(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    if isinstance(func, ast.Name):
        return func.id in ("__import__", "import_module")
    return isinstance(func, ast.Attribute) and func.attr in ("__import__", "import_module")


class TestKernel:
    def test_the_kernel_imports_only_lower_kernel_layers(self) -> None:
        problems = []
        for depth, module in enumerate(KERNEL):
            allowed = set(KERNEL[:depth])
            for imported, _ in _module_level_imports(module):
                if imported not in allowed:
                    problems.append(module + " imports " + imported + " (may import only " + repr(sorted(allowed)) + ")")
        assert problems == []

    def test_the_vocabulary_imports_no_other_package(self) -> None:
        roots = set()
        for node in ast.walk(_tree("_vocabulary")):
            if isinstance(node, ast.Import):
                roots.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                roots.add((node.module or "").split(".")[0])
        assert roots <= {"__future__", "math", "queue", "sys", "threading", "typing"}, roots

    def test_every_module_is_placed(self) -> None:
        # a new module must say whether it may import threads.py
        assert sorted(set(MODULES) - set(WITHOUT_THREADS) - set(WITH_THREADS)) == [
            "__main__",
            "_main_thread",  # the thread tree (with threads): the main thread and the shutdown
            "_thread_tree",  # the thread tree (with threads): BaseThread, its node
            "_version",
            "profile_utils",
            "python",
            "python_worker",
            "testing",
            "threads",
        ]
        assert not set(WITHOUT_THREADS) & set(WITH_THREADS)


class TestVocabularyComesFromBelow:
    def test_lower_modules_do_not_import_threads(self) -> None:
        problems = []
        for module in WITHOUT_THREADS:
            for imported, names in _module_level_imports(module):
                if imported == "threads":
                    problems.append(module + " imports mo_threads.threads " + repr(names))
        assert problems == []

    def test_modules_that_import_threads_say_why(self) -> None:
        importing = {m for m in MODULES if any(imported == "threads" for imported, _ in _module_level_imports(m))}
        assert importing == set(WITH_THREADS)

    def test_the_vocabulary_is_imported_from_the_vocabulary_module_only(self) -> None:
        # a sentinel, an exception or a check imported from threads.py, queues.py, signals.py, ...
        # pulls that module (and its layer) in for a word
        problems = []
        for module in MODULES:
            for imported, names in _module_level_imports(module):
                if imported == "_vocabulary":
                    continue
                for name in sorted(set(names) & VOCABULARY):
                    problems.append(module + " imports " + name + " from " + imported)
        assert problems == []

    def test_no_import_cycle(self) -> None:
        graph = {m: {imported for imported, _ in _module_level_imports(m)} for m in MODULES}
        graph["__main__"].discard("__init__")  # python -m mo_threads: the package is imported first
        done: Set[str] = set()
        path: List[str] = []

        def visit(module: str) -> None:
            if module in done:
                return
            assert module not in path, "import cycle: " + " -> ".join(path[path.index(module):] + [module])
            path.append(module)
            for imported in sorted(graph.get(module, ())):
                if imported != "__init__":  # importing any submodule runs __init__ first: not an edge of the layering
                    visit(imported)
            path.pop()
            done.add(module)

        for module in MODULES:
            visit(module)


# --- the vocabulary -----------------------------------------------------------------------
# name -> the public modules that re-export it, first its home (its __module__)
HOMES: Dict[str, Tuple[str, ...]] = {
    "PLEASE_STOP": ("mo_threads.threads", "mo_threads"),
    "THREAD_STOP": ("mo_threads.threads", "mo_threads"),
    "ThreadTimeout": ("mo_threads.threads", "mo_threads"),
    "THREAD_TIMEOUT": ("mo_threads.threads", "mo_threads"),
    "QueueClosed": ("mo_threads.queues",),
    "QueueFull": ("mo_threads.queues",),
    "QueueEmpty": ("mo_threads.queues",),
    "ChannelClosed": ("mo_threads.channels", "mo_threads"),
    "DeadlockError": ("mo_threads",),
    "AllFailed": ("mo_threads.futures", "mo_threads"),
    "ThreadGroupError": ("mo_threads.groups", "mo_threads"),
    "BrokenBarrierError": ("threading", "mo_threads.sync", "mo_threads"),
    "BarrierTimeout": ("mo_threads.sync",),
}
EXCEPTIONS = sorted(
    name
    for name in _vocabulary.__all__
    if isinstance(getattr(_vocabulary, name), type) and issubclass(getattr(_vocabulary, name), BaseException)
)


def example_error(name: str) -> BaseException:
    """An instance of the vocabulary's exception `name`, with the arguments its class takes."""
    cls = getattr(_vocabulary, name)
    if name in ("AllFailed", "ThreadGroupError"):
        return cls("two failed", [ValueError("a"), KeyError("b")])  # type: ignore[no-any-return]
    if name == "DeadlockError":
        return cls("Deadlock: a waits on b", [("a", "Lock 'x'"), ("b", "Lock 'y'")])  # type: ignore[no-any-return]
    return cls("message")  # type: ignore[no-any-return]


class TestVocabulary:
    def test_every_exception_has_a_home(self) -> None:
        assert EXCEPTIONS == sorted(n for n in HOMES if n not in ("PLEASE_STOP", "THREAD_STOP"))

    @pytest.mark.parametrize("name", sorted(HOMES))
    def test_one_object_from_every_public_path(self, name: str) -> None:
        value = getattr(_vocabulary, name)
        for module in HOMES[name]:
            assert getattr(importlib.import_module(module), name) is value, module
            namespace: Dict[str, object] = {}
            exec("from " + module + " import " + name, namespace)
            assert namespace[name] is value

    @pytest.mark.parametrize("name", sorted(EXCEPTIONS))
    def test_module_names_the_public_home(self, name: str) -> None:
        cls = getattr(_vocabulary, name)
        assert cls.__module__ == HOMES[name][0]
        assert getattr(importlib.import_module(cls.__module__), cls.__qualname__) is cls
        assert repr(cls).startswith("<class '" + HOMES[name][0] + ".")

    @pytest.mark.parametrize("name", sorted(EXCEPTIONS))
    def test_exceptions_pickle(self, name: str) -> None:
        cls = getattr(_vocabulary, name)
        error = example_error(name)
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is cls and str(copy) == str(error)
        if name == "DeadlockError":
            assert copy.cycle == error.cycle

    def test_please_stop_pickles_to_itself(self) -> None:
        assert pickle.loads(pickle.dumps(mo_threads.PLEASE_STOP)) is mo_threads.PLEASE_STOP
        assert b"mo_threads.threads" in pickle.dumps(mo_threads.PLEASE_STOP, protocol=2)
        assert repr(mo_threads.PLEASE_STOP) == "PLEASE_STOP"

    def test_catching_through_the_old_paths(self) -> None:
        import mo_threads.queues
        import mo_threads.threads

        full = Queue("full", max=1, silent=True)
        full.add(1)
        with pytest.raises(mo_threads.queues.QueueFull):
            full.add(2, timeout=0.01)
        try:
            full.add(2, timeout=0.01)
        except mo_threads.threads.THREAD_TIMEOUT:
            pass
        try:
            full.put(2, timeout=0.01)
        except stdlib_queue.Full:
            pass
        full.close()
        with pytest.raises(mo_threads.queues.QueueClosed):
            full.add(3)
        assert mo_threads.threads.ThreadTimeout is mo_threads.ThreadTimeout is mo_threads.THREAD_TIMEOUT
        assert issubclass(mo_threads.ChannelClosed, mo_threads.queues.QueueClosed)
        assert mo_threads.BrokenBarrierError is threading.BrokenBarrierError

    def test_lock_acquiring_raises_thread_timeout(self) -> None:
        # the raise that used a late import of threads.py
        lock = Lock("held elsewhere")
        held, release = threading.Event(), threading.Event()

        def hold() -> None:
            with lock:
                held.set()
                release.wait(10)

        holder = threading.Thread(target=hold)
        holder.start()
        try:
            assert held.wait(10)
            with pytest.raises(mo_threads.ThreadTimeout, match="held elsewhere"):
                with lock.acquiring(timeout=0.01):
                    pass
        finally:
            release.set()
            holder.join(10)

    def test_signal_is_what_a_till_must_be(self) -> None:
        assert issubclass(mo_threads.Signal, _vocabulary.SignalBase)
        assert _vocabulary.SignalBase.__slots__ == ()
        _vocabulary.check_till(None)
        _vocabulary.check_till(mo_threads.Till(seconds=0))
        with pytest.raises(TypeError, match="till must be a Signal.*not float"):
            _vocabulary.check_till(1.5)


class TestChecks:
    def test_check_count(self) -> None:
        check = _vocabulary.check_count
        assert check(3, "n", 1) == 3 and check(0, "n") == 0 and check(None, "n", 1, none="unbounded") is None
        with pytest.raises(TypeError, match=r"^n must be an int, not bool$"):
            check(True, "n")
        with pytest.raises(TypeError, match=r"^n must be an int or None \(no limit\), not str$"):
            check("3", "n", none="no limit")
        with pytest.raises(ValueError, match=r"^n must be an int, not float$"):
            check(2.0, "n", wrong_type=ValueError)
        with pytest.raises(ValueError, match=r"^n must be at least 1, not 0$"):
            check(0, "n", 1)
        with pytest.raises(ValueError, match=r"^p must be from 0 to 2, not 3$"):
            check(3, "p", 0, 2)
        with pytest.raises(TypeError):
            check(None, "n")  # None only where it means something

    def test_check_name(self) -> None:
        assert _vocabulary.check_name("x", "Lock name") == "x"
        with pytest.raises(TypeError, match=r"^Lock name must be a str, not int$"):
            _vocabulary.check_name(3, "Lock name")

    def test_check_timeout_and_number(self) -> None:
        assert _vocabulary.check_timeout(1) == 1.0
        for bad, error, words in (
            (True, TypeError, "timeout must be a number of seconds, not bool"),
            ("1", TypeError, "not str"),
            (float("nan"), ValueError, "not NaN"),
            (-1, ValueError, "non-negative"),
        ):
            with pytest.raises(error, match=words):
                _vocabulary.check_timeout(bad)
        with pytest.raises(ValueError, match="between 0 and 1 seconds"):
            _vocabulary.check_timeout(2, "threshold", maximum=1)
        with pytest.raises(ValueError, match="between 0 and 1 seconds"):
            _vocabulary.check_timeout(float("nan"), "threshold", maximum=1)
        assert _vocabulary.check_number(-2, "x") == -2.0
        with pytest.raises(TypeError, match="x must be a number, not bool"):
            _vocabulary.check_number(False, "x")
        with pytest.raises(ValueError, match="x must be a number, not NaN"):
            _vocabulary.check_number(float("nan"), "x")
        assert _vocabulary.check_wait(None, 2) == 2.0 and _vocabulary.check_wait(None, None) is None
