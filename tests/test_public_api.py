"""The public surface: `mo_threads.__all__` is complete, documented and free of private names."""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
import subprocess
import sys
from typing import Any, Dict

import pytest

import mo_threads

from tests.helpers import REPO

# values, not classes or functions: documented in README and their module, not by a docstring
CONSTANTS = {"__version__", "PLEASE_STOP", "THREAD_STOP", "DONE", "NEVER", "MAIN_THREAD"}


def _public_modules() -> Dict[str, Any]:
    modules = {}
    for info in pkgutil.iter_modules(mo_threads.__path__):
        if not info.name.startswith("_") and info.name != "python_worker":
            modules[info.name] = importlib.import_module("mo_threads." + info.name)
    return modules


class TestAll:
    def test_is_a_tuple_of_unique_strings(self) -> None:
        names = mo_threads.__all__
        assert isinstance(names, tuple)
        assert all(isinstance(name, str) for name in names)
        assert len(set(names)) == len(names)

    def test_every_name_exists(self) -> None:
        missing = [name for name in mo_threads.__all__ if not hasattr(mo_threads, name)]
        assert missing == []

    def test_nothing_private(self) -> None:
        private = [name for name in mo_threads.__all__ if name.startswith("_") and name != "__version__"]
        assert private == []

    def test_every_class_and_function_is_documented(self) -> None:
        undocumented = []
        for name in mo_threads.__all__:
            if name in CONSTANTS:
                continue
            value = getattr(mo_threads, name)
            if not (inspect.isclass(value) or callable(value)):
                undocumented.append(name + " (neither class nor function: add it to CONSTANTS)")
            elif not (inspect.getdoc(value) or "").strip():
                undocumented.append(name)
        assert undocumented == []

    def test_constants_are_what_they_say(self) -> None:
        assert isinstance(mo_threads.__version__, str) and mo_threads.__version__
        assert mo_threads.THREAD_STOP is mo_threads.PLEASE_STOP
        assert isinstance(mo_threads.DONE, mo_threads.Signal) and mo_threads.DONE
        assert isinstance(mo_threads.NEVER, mo_threads.Signal) and not mo_threads.NEVER
        assert isinstance(mo_threads.MAIN_THREAD, mo_threads.MainThread)

    def test_public_methods_are_documented(self) -> None:
        undocumented = []
        for name in mo_threads.__all__:
            value = getattr(mo_threads, name)
            if not inspect.isclass(value) or issubclass(value, BaseException):
                continue
            for attr, member in vars(value).items():
                if attr.startswith("_") or not (inspect.isfunction(member) or isinstance(member, (property, staticmethod, classmethod))):
                    continue
                if not (inspect.getdoc(getattr(value, attr, member)) or "").strip():
                    undocumented.append(name + "." + attr)
        assert undocumented == []

    def test_star_import_gives_exactly_all(self) -> None:
        namespace: Dict[str, Any] = {}
        exec("from mo_threads import *", namespace)
        namespace.pop("__builtins__", None)
        assert set(namespace) == set(mo_threads.__all__)


class TestModules:
    def test_module_all_names_exist_and_are_public(self) -> None:
        problems = []
        for module_name, module in _public_modules().items():
            names = getattr(module, "__all__", None)
            if names is None:
                problems.append(module_name + " has no __all__")
                continue
            for name in names:
                if not hasattr(module, name):
                    problems.append(module_name + "." + name + " missing")
                elif name.startswith("_"):
                    problems.append(module_name + "." + name + " is private")
        assert problems == []

    def test_aio_is_documented(self) -> None:
        from mo_threads import aio

        for name in aio.__all__:
            assert (inspect.getdoc(getattr(aio, name)) or "").strip(), name


class TestTyping:
    def test_py_typed_ships(self) -> None:
        assert os.path.isfile(os.path.join(os.path.dirname(mo_threads.__file__), "py.typed"))

    def test_typed_example_passes_mypy_strict(self) -> None:
        try:
            import mypy  # noqa: F401
        except ImportError:
            pytest.skip("mypy is not installed (pip install -e .[lint])")
        result = subprocess.run(
            [sys.executable, "-m", "mypy", "--strict", "--no-warn-unused-ignores", "--no-incremental", "--cache-dir", os.devnull, "examples/typed_usage.py"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=50,
        )
        assert result.returncode == 0, result.stdout + result.stderr

    def test_typed_example_runs(self) -> None:
        result = subprocess.run(
            [sys.executable, "examples/typed_usage.py"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=30,
            env=dict(os.environ, PYTHONPATH=REPO),
        )
        assert result.returncode == 0, result.stderr
        assert "'signal', 'hello', 'done'" in result.stdout
