"""The built wheel, installed into a fresh virtualenv, works there (not from the source tree);
the metadata says what PyPI and pip show; the sdist holds what `make test` and `make demo` use.

The wheel is built from a copy of the files that make the package (so a stale `build/` in
the work tree can not leak into it), installed with its dependencies into a new venv, and
used by a program run in isolated mode (`-I`) from an empty directory. The sdist is built
from a copy of the files git tracks.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tarfile
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
        metadata = _wheel_metadata(wheel)
        version = {}
        exec((REPO / "mo_threads" / "_version.py").read_text(), version)
        assert "\nName: mo-threads\n" in metadata
        assert "\nVersion: " + version["__version__"] + "\n" in metadata
        assert "Requires-Dist: mo-logs" in metadata
        assert "Requires-Python: >=3.8" in metadata


def _wheel_metadata(wheel: Path) -> str:
    with zipfile.ZipFile(str(wheel)) as archive:
        return next(archive.read(n).decode("utf8") for n in archive.namelist() if n.endswith(".dist-info/METADATA"))


def test_the_sdist_leaves_out_what_the_grafted_folders_make_for_themselves() -> None:
    """What `make bench` extracts or installs under benchmarks/ (git-ignored there) is pruned from
    the sdist: `graft` takes every file on disk, ignored or not, when the sdist is built from a
    working tree."""
    manifest = (REPO / "MANIFEST.in").read_text().splitlines()
    grafted = [line.split()[1] for line in manifest if line.startswith("graft ")]
    pruned = {line.split()[1] for line in manifest if line.startswith("prune ")}
    for folder in grafted:
        ignore = REPO / folder / ".gitignore"
        if not ignore.exists():
            continue
        for line in ignore.read_text().splitlines():
            if line and not line.startswith("#") and line.endswith("/"):
                assert folder + "/" + line.strip("/") in pruned, folder + "/" + line + " is not pruned in MANIFEST.in"


# Files git tracks that are about this repository, not the package: left out of the sdist
NOT_IN_SDIST = re.compile(r"^(\.ci/|\.travis\.yml$|(.*/)?\.gitignore$)")


@pytest.fixture(scope="module")
def sdist(tmp_path_factory) -> Path:
    """The sdist, built (by `build`, as `make dist` does) from a copy of the files git tracks."""
    listed = _run(["git", "ls-files", "-z"], cwd=str(REPO), timeout=60)
    if listed.returncode or "pyproject.toml" not in listed.stdout.split("\0"):
        pytest.skip("not a git checkout (an unpacked sdist?): nothing to build the sdist from")
    source = tmp_path_factory.mktemp("sdist-source")
    for name in filter(None, listed.stdout.split("\0")):
        if (REPO / name).is_file():  # a file deleted in the work tree but not yet in git
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(str(REPO / name), str(source / name))
    out = tmp_path_factory.mktemp("sdist")
    done = _run([sys.executable, "-m", "build", "--sdist", "--outdir", str(out), str(source)], env=_clean_env())
    if done.returncode and any(t in done.stdout for t in NETWORK_TROUBLE):
        pytest.skip("building the sdist needs setuptools from the package index, which is out of reach:\n" + done.stdout)
    assert done.returncode == 0, "building the sdist failed:\n" + done.stdout
    built = list(out.glob("mo_threads-*.tar.gz"))
    assert len(built) == 1, "expected one mo_threads sdist, got " + repr(os.listdir(str(out)))
    return built[0]


class TestMetadata:
    """What PyPI's page and `pip show` read (issue 22, point 7)."""

    def test_project_urls(self, wheel):
        urls = dict(re.findall(r"^Project-URL: ([^,]+), (\S+)$", _wheel_metadata(wheel), re.M))
        assert set(urls) == {"Homepage", "Documentation", "Source", "Changelog", "Issues"}
        assert all(url.startswith("https://") for url in urls.values()), urls

    def test_license_that_old_pip_shows(self, wheel):
        # pip 23's `pip show` reads the License field only (not PEP 639's License-Expression)
        metadata = _wheel_metadata(wheel)
        assert "\nLicense: MPL-2.0\n" in metadata
        assert "\nClassifier: License :: OSI Approved :: Mozilla Public License 2.0 (MPL 2.0)\n" in metadata

    def test_version_succeeds_upstream_6x(self, wheel):
        version = re.search(r"^Version: (\S+)$", _wheel_metadata(wheel), re.M).group(1)
        assert int(version.split(".")[0]) == 7, "7.x succeeds upstream's 6.x: " + version

    def test_python_classifiers_match_make_test_all(self, wheel):
        listed = set(re.findall(r"^Classifier: Programming Language :: Python :: (3\.\d+)$", _wheel_metadata(wheel), re.M))
        assert listed == {"3.%d" % minor for minor in range(8, 16)}


class TestSdist:
    """An unpacked sdist runs `make test` and `make demo` (issue 22, point 7)."""

    def test_holds_every_tracked_file_but_the_ci_ones(self, sdist):
        listed = _run(["git", "ls-files"], cwd=str(REPO), timeout=60).stdout.split()
        wanted = {name for name in listed if not NOT_IN_SDIST.match(name) and (REPO / name).is_file()}
        with tarfile.open(str(sdist)) as archive:
            shipped = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
        assert not wanted - shipped, "missing from the sdist: " + repr(sorted(wanted - shipped))
        assert not any("__pycache__" in name or name.endswith(".pyc") for name in shipped)

    def test_make_targets_resolve_in_the_unpacked_sdist(self, sdist, tmp_path):
        make = shutil.which("make")
        if make is None:
            pytest.skip("no make here")
        with tarfile.open(str(sdist)) as archive:
            archive.extractall(str(tmp_path))
        (unpacked,) = tmp_path.iterdir()
        # dry runs: every file the recipes need is there (make stops on a missing prerequisite)
        for target in ("test", "demo"):
            done = _run([make, "-n", target], cwd=str(unpacked), timeout=60)
            assert done.returncode == 0, "make -n %s in the sdist:\n%s" % (target, done.stdout)
            assert "examples/index_tree.py" in done.stdout or target == "test"


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
