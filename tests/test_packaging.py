"""The built wheel, installed into a fresh virtualenv, works there (not from the source tree).

The wheel is built from a copy of the files that make the package (so a stale `build/` in
the work tree can not leak into it), installed with its dependencies into a new venv, and
used by a program run in isolated mode (`-I`) from an empty directory.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import venv
import zipfile
from pathlib import Path

import pytest

from tests.helpers import program_lines

REPO = Path(__file__).resolve().parent.parent
PACKAGE_FILES = ["pyproject.toml", "setup.py", "README.md", "LICENSE"]
NETWORK_TROUBLE = ("NewConnectionError", "Temporary failure in name resolution", "Network is unreachable")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def _run(args, **kwargs) -> subprocess.CompletedProcess:
    kwargs.setdefault("timeout", 500)
    return subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, **kwargs)


def _clean_env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON") and k != "VIRTUAL_ENV"}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    source = tmp_path_factory.mktemp("source")
    for name in PACKAGE_FILES:
        shutil.copy2(str(REPO / name), str(source / name))
    shutil.copytree(
        str(REPO / "mo_threads"), str(source / "mo_threads"), ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    out = tmp_path_factory.mktemp("wheel")
    done = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(source)], env=_clean_env())
    if done.returncode and any(t in done.stdout for t in NETWORK_TROUBLE):
        pytest.skip("building the wheel needs setuptools from the package index, which is out of reach:\n" + done.stdout)
    assert done.returncode == 0, "building the wheel failed:\n" + done.stdout
    wheels = list(out.glob("mo_threads-*.whl"))
    assert len(wheels) == 1, "expected one mo_threads wheel, got " + repr(os.listdir(str(out)))
    return wheels[0]


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """The python of a fresh venv with the wheel (and its dependencies) installed."""
    home = tmp_path_factory.mktemp("venv")
    # no pip inside: this test's own pip installs into it (`pip --python`), which is quicker and
    # works where the interpreter has no ensurepip (Debian's pypy3)
    venv.EnvBuilder(with_pip=False, symlinks=os.name != "nt").create(str(home))
    python = home / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    install = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", str(wheel)]
    done = _run(install, env=_clean_env(), cwd=str(home))
    if done.returncode and "no such option: --python" in done.stdout:  # pip before 22.3
        _run([str(python), "-m", "ensurepip", "-q"], env=_clean_env(), cwd=str(home))
        done = _run([str(python), "-m", "pip", "install", "-q", str(wheel)], env=_clean_env(), cwd=str(home))
    if done.returncode and any(t in done.stdout for t in NETWORK_TROUBLE):
        pytest.skip("installing the wheel's dependencies needs the package index, which is out of reach:\n" + done.stdout)
    assert done.returncode == 0, "installing the wheel failed:\n" + done.stdout
    return python


class TestWheel:
    def test_wheel_ships_the_package_data(self, wheel):
        names = set(zipfile.ZipFile(str(wheel)).namelist())
        assert "mo_threads/py.typed" in names
        assert "mo_threads/__init__.py" in names
        modules = {"mo_threads/" + p.name for p in (REPO / "mo_threads").glob("*.py")}
        assert modules <= names, "missing from the wheel: " + repr(sorted(modules - names))
        assert not any(n.startswith("tests/") for n in names), "the tests must not ship"

    def test_wheel_ships_the_worker_script(self, wheel):
        if not (REPO / "mo_threads" / "python_worker.py").exists():
            pytest.skip("mo_threads/python_worker.py is not in the source tree yet")
        assert "mo_threads/python_worker.py" in zipfile.ZipFile(str(wheel)).namelist()

    def test_wheel_metadata(self, wheel):
        with zipfile.ZipFile(str(wheel)) as archive:
            metadata = next(archive.read(n).decode("utf8") for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        version = {}
        exec((REPO / "mo_threads" / "_version.py").read_text(), version)
        assert "\nName: mo-threads\n" in metadata
        assert "\nVersion: " + version["__version__"] + "\n" in metadata
        assert "Requires-Dist: mo-logs" in metadata
        assert "Requires-Python: >=3.8" in metadata


class TestInstalledWheel:
    def test_used_from_the_venv_not_the_source_tree(self, installed, tmp_path):
        program = textwrap.dedent(
            """
            import json, os, sys, sysconfig
            from importlib.metadata import version
            import mo_threads
            from mo_threads import PLEASE_STOP, Queue, Thread, Till

            def double(x, please_stop):
                return 2 * x

            thread = Thread.run("double", double, 21)
            answer = thread.join(till=Till(seconds=30))

            queue = Queue("numbers")
            def produce(please_stop):
                queue.extend([1, 2, 3])
                queue.close()
            Thread.run("producer", produce).join()
            items = list(queue)

            package = os.path.dirname(mo_threads.__file__)
            print(json.dumps({
                "file": mo_threads.__file__,
                "site": sysconfig.get_paths()["purelib"],
                "answer": answer,
                "items": items,
                "stop": queue.pop() is PLEASE_STOP,
                "version": mo_threads.__version__,
                "metadata_version": version("mo-threads"),
                "py_typed": os.path.exists(os.path.join(package, "py.typed")),
            }))
            """
        )
        done = _run([str(installed), "-I", "-c", program], env=_clean_env(), cwd=str(tmp_path), timeout=120)
        assert done.returncode == 0, done.stdout
        report = json.loads(program_lines(done.stdout)[-1])
        assert os.path.realpath(report["file"]).startswith(os.path.realpath(report["site"]))
        assert os.path.realpath(report["file"]) != os.path.realpath(str(REPO / "mo_threads" / "__init__.py"))
        assert report["answer"] == 42
        assert report["items"] == [1, 2, 3]
        assert report["stop"] is True
        assert report["version"] == report["metadata_version"]
        assert report["py_typed"] is True

    def test_python_worker_runs_from_the_venv(self, installed, tmp_path):
        if not (REPO / "mo_threads" / "python_worker.py").exists():
            pytest.skip("mo_threads/python_worker.py is not in the source tree yet")
        program = textwrap.dedent(
            """
            import json
            from mo_threads import Python

            worker = Python("calculator", {})
            worker.import_module("math", ["sqrt"])
            root = worker.sqrt(16)
            worker.stop().join()
            print(json.dumps({"root": root}))
            """
        )
        done = _run([str(installed), "-I", "-c", program], env=_clean_env(), cwd=str(tmp_path), timeout=120)
        assert done.returncode == 0, done.stdout
        assert json.loads(program_lines(done.stdout)[-1]) == {"root": 4.0}
