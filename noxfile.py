"""Nox sessions: the test suite on every Python we support, and on the dependency range's ends.

    make test-all             tests-*, deps-oldest (installs nox into .venv and Debian's pypy3 first)
    make test-deps            deps-oldest and deps-newest
    .venv/bin/nox -l          list the sessions
    .venv/bin/nox -s tests-3.12 -- -k queue     one interpreter, extra pytest arguments

Sessions:

    tests-3.8 ... tests-3.13
        `.[tests]` installed into a fresh virtualenv of that interpreter, then the whole suite.
        An interpreter that is not on this machine is SKIPPED, said so at the start and in
        nox's summary at the end; it never counts as a pass. CPython comes from pyenv
        ($PYENV_ROOT/versions/3.X.Y) or from `python3.X` on PATH.
    tests-3.14, tests-3.15
        the same on Debian's build of that CPython, which `debian-python 3.X` (the workplace's
        shared/tools, or $MO_THREADS_DEBIAN_PYTHON) unpacks into a cache folder
        (~/.cache/mo-threads-pythons) on first use. When it can not be had, the session FAILS.
    tests-pypy3
        the same on `pypy3` from PATH (Debian: `apt-get install pypy3 pypy3-venv`, which
        `make test-all` does when it is missing). When it is missing, the session FAILS.
    deps-oldest
        the oldest Python found, with every `mo-*` dependency pinned to the lower bound of
        its range in pyproject.toml.
    deps-newest
        the newest Python found, with every dependency upgraded to the newest that resolves.

mo-logs pins exact versions of mo-dots and mo-future, so the lower bounds of those two must
be the versions that the oldest allowed mo-logs pins: deps-oldest fails to resolve otherwise.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import signal
import subprocess
import sys
from typing import Callable, Dict, List, Optional, Tuple

import nox

ROOT = os.path.dirname(os.path.abspath(__file__))
# the workplace's tool that unpacks Debian's build of a CPython this machine's pyenv lacks;
# CI's clone has shared/ beside it too
DEBIAN_PYTHON_SCRIPT = os.path.join(os.path.dirname(ROOT), "shared", "tools", "debian-python")

# A job started in the background by a shell without job control (`cmd &` in a script, nohup)
# begins with SIGINT ignored, and an ignored signal stays ignored in every process it starts:
# the suite's Ctrl-C tests would see their children ignore SIGINT. Give the sessions the
# default disposition back (a handler, unlike SIG_IGN, does not pass through exec).
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
CPYTHONS = ["3.8", "3.9", "3.10", "3.11", "3.12", "3.13"]  # pyenv's; SKIPPED when missing
DEBIAN_CPYTHONS = ["3.14", "3.15"]  # Debian's builds through debian-python; FAILED when missing
PYPY = "pypy3"  # FAILED when missing
PYTEST = ["-m", "pytest", "-q", "-p", "no:cacheprovider"]

# deps-newest is left out here: every tests-3.X session resolves the newest versions too (each
# prints an "installed:" line), so it would repeat tests-3.13; `make test-deps` runs it.
nox.options.sessions = ["tests"] + ["tests-" + v for v in DEBIAN_CPYTHONS] + ["tests-" + PYPY, "deps-oldest"]
nox.options.error_on_missing_interpreters = False  # reported as SKIPPED instead (see _report)
nox.options.reuse_venv = "yes"  # `pip install` still runs and upgrades what changed
try:
    nox.options.download_python = "never"  # only interpreters that are on this machine
except AttributeError:  # a nox that never downloads
    pass


def _works(python: str, check: str = "import ensurepip, venv") -> Optional[str]:
    """Return the real executable behind `python`, or None when it does not run (a pyenv shim
    of a version that is not selected, a broken link) or fails `check` (by default: can it
    make a venv? Debian's python3.X without python3.X-venv can not)."""
    try:
        out = subprocess.run(
            [python, "-c", check + "; import sys; print(sys.executable)"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            universal_newlines=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return (out.stdout.strip() or None) if out.returncode == 0 else None


def _version_key(path: str) -> List[int]:
    name = path.split(os.sep + "versions" + os.sep)[-1].split(os.sep)[0]
    return [int(n) for n in re.findall(r"\d+", name)]


def _find_cpython(version: str) -> Optional[str]:
    """The newest patch release of CPython `version` here: pyenv's first, then PATH."""
    pyenv_root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    pattern = os.path.join(pyenv_root, "versions", version + ".*", "bin", "python" + version)
    found = [
        p for p in glob.glob(pattern) if re.search(r"versions.%s\.\d+%s" % (re.escape(version), re.escape(os.sep)), p)
    ]
    for candidate in sorted(found, key=_version_key, reverse=True):
        real = _works(candidate)
        if real:
            return real
    on_path = shutil.which("python" + version)
    return _works(on_path) if on_path else None


def _debian_python(version: str) -> Tuple[Optional[str], str]:
    """Debian's CPython `version`, unpacked by the debian-python script: (its path, "") or (None, why not).

    The script keeps it in a cache folder: the first call downloads (a few seconds), later
    ones only check that it runs."""
    script = os.environ.get("MO_THREADS_DEBIAN_PYTHON") or DEBIAN_PYTHON_SCRIPT
    if not os.path.isfile(script):
        return None, "no debian-python script at %s (set MO_THREADS_DEBIAN_PYTHON to its path)" % script
    try:
        done = subprocess.run(
            ["bash", script, version],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            universal_newlines=True,
            timeout=600,
        )
    except (OSError, subprocess.SubprocessError) as cause:
        return None, "%s %s: %s" % (script, version, cause)
    lines = done.stdout.strip().splitlines()
    # virtualenv (the session's backend) seeds pip itself: Debian's build has no ensurepip
    real = _works(lines[-1], check="import venv") if done.returncode == 0 and lines else None
    if real is None:
        return None, "%s %s failed (exit %s): %s" % (script, version, done.returncode, done.stderr.strip()[-500:])
    return real, ""


def _find_interpreters() -> Tuple[Dict[str, Optional[str]], Dict[str, str]]:
    """Every interpreter's real path (None: not here), and why each required one is missing."""
    found: Dict[str, Optional[str]] = {v: _find_cpython(v) for v in CPYTHONS}
    missing: Dict[str, str] = {}
    for version in DEBIAN_CPYTHONS:
        found[version], why = _debian_python(version)
        if why:
            missing[version] = why
    pypy = shutil.which(PYPY)
    found[PYPY] = _works(pypy, check="pass") if pypy else None  # virtualenv seeds its venv
    if found[PYPY] is None:
        missing[PYPY] = "no working pypy3 on PATH (Debian: apt-get install pypy3 pypy3-venv; make test-all does)"
    return found, missing


def _expose(found: Dict[str, Optional[str]]) -> None:
    """Put a `python3.X` launcher for each CPython found first on PATH, where nox looks.

    Launchers (not symlinks) keep each interpreter's own sys.executable, and a directory of
    only these names does not change what plain `python3` means for anything else."""
    bin_dir = os.path.join(ROOT, ".nox", "_interpreters")
    os.makedirs(bin_dir, exist_ok=True)
    for version, real in found.items():
        if real is None or version == PYPY:
            continue
        launcher = os.path.join(bin_dir, "python" + version)
        with open(launcher, "w") as f:
            f.write('#!/bin/sh\nexec "%s" "$@"\n' % real)
        os.chmod(launcher, 0o755)
    os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


def _report(found: Dict[str, Optional[str]], missing: Dict[str, str]) -> None:
    for version, real in found.items():
        if real:
            line = "nox > interpreter %-6s %s" % (version, real)
        elif version in missing:
            line = "nox > MISSING: tests-%s will FAIL: %s" % (version, missing[version])
        else:
            line = "nox > SKIPPED: tests-%s: no CPython %s here (pyenv install %s)" % (version, version, version)
        print(line, file=sys.stderr, flush=True)


FOUND, MISSING = _find_interpreters()
_expose(FOUND)
_report(FOUND, MISSING)
_AVAILABLE = [v for v in CPYTHONS if FOUND[v]]
OLDEST = _AVAILABLE[0] if _AVAILABLE else CPYTHONS[0]
NEWEST = _AVAILABLE[-1] if _AVAILABLE else CPYTHONS[-1]


# Releases of mo-* packages that pin the oldest allowed mo-logs (8.665.25029), installed by
# deps-oldest in place of the tests extra's mo-* packages. mo-json comes with mo-files in the
# other sessions; mo-logs' `{x|json}` template formatter needs it.
OLDEST_COMPANIONS = {"mo-times": "5.665.25029", "mo-json": "6.665.25029"}


def _lower_bounds() -> Dict[str, str]:
    """`name -> version` for every `name>=version` in pyproject.toml's dependencies."""
    with open(os.path.join(ROOT, "pyproject.toml")) as f:
        text = f.read()
    block = re.search(r"^dependencies\s*=\s*\[(.*?)\]", text, re.S | re.M)
    if not block:
        raise RuntimeError("pyproject.toml has no dependencies list")
    return dict(re.findall(r'"([A-Za-z0-9_.\-]+)\s*>=\s*([0-9][0-9.]*)', block.group(1)))


def _extra(name: str) -> List[str]:
    """The requirements of the optional-dependencies extra `name` in pyproject.toml."""
    with open(os.path.join(ROOT, "pyproject.toml")) as f:
        text = f.read()
    line = re.search(r"^%s\s*=\s*\[(.*?)\]" % re.escape(name), text, re.S | re.M)
    if not line:
        raise RuntimeError("pyproject.toml has no extra " + repr(name))
    return re.findall(r'"([^"]+)"', line.group(1))


def _show_versions(session: nox.Session) -> None:
    session.run(
        "python",
        "-c",
        "import importlib.metadata as m, sys; "
        "print('installed:', sys.version.split()[0], "
        "', '.join(n + ' ' + m.version(n) for n in ('mo-logs', 'mo-dots', 'mo-future', 'mo-threads')))",
    )


def _real_packages(session: nox.Session) -> None:
    """mo-sqlite, jx-sqlite and jx-python beside ours (--no-deps: they pin upstream's mo-threads 6.x),
    for tests/test_real_packages.py; where they do not import, it uninstalls them and the test skips."""
    session.run("python", "tests/install_real_packages.py")


# the dask extra (tests/test_remote_dask.py, a real distributed.LocalCluster) on the pyenv
# CPythons Dask supports; there its absence fails the test instead of skipping it
DASK_PYTHONS = ("3.10", "3.11", "3.12", "3.13")


def _tests(session: nox.Session) -> None:
    with_dask = session.python in DASK_PYTHONS
    session.install(".[tests,dask]" if with_dask else ".[tests]")
    _real_packages(session)
    _show_versions(session)
    session.run("python", *PYTEST, *session.posargs, env={"MO_THREADS_REQUIRE_DASK": "1" if with_dask else "0"})


@nox.session(python=CPYTHONS, venv_backend="venv")  # the stdlib venv of each: virtualenv 21 can not seed 3.8
def tests(session: nox.Session) -> None:
    """The whole test suite on one CPython."""
    _tests(session)


def _required(version: str, backend: str) -> Callable[[nox.Session], None]:
    """Register tests-`version`: the suite on an interpreter that must be here.

    Where it is missing the session runs without a venv only to fail, saying why (a skip
    would read as nothing to do). virtualenv seeds pip itself: Debian's builds of CPython
    3.14/3.15 and its pypy3 may have no ensurepip."""

    def session_body(session: nox.Session) -> None:
        if version in MISSING:
            session.error("no interpreter for tests-%s: %s" % (version, MISSING[version]))
        _tests(session)

    session_body.__doc__ = "The whole test suite on %s (FAILS when it can not be had)." % (
        "PyPy 3" if version == PYPY else "CPython " + version
    )
    python = version if version not in MISSING else False
    return nox.session(name="tests-" + version, python=python, venv_backend=backend)(session_body)  # type: ignore[no-any-return]


for _version in DEBIAN_CPYTHONS + [PYPY]:
    _required(_version, "virtualenv")


@nox.session(name="deps-oldest", python=OLDEST, venv_backend="venv")
def deps_oldest(session: nox.Session) -> None:
    """The suite on the oldest Python with every dependency at its lower bound."""
    pins = _lower_bounds()
    constraints = os.path.join(session.create_tmp(), "oldest.txt")
    with open(constraints, "w") as f:
        f.write("".join("%s==%s\n" % (name, version) for name, version in sorted(pins.items())))
    session.log("pinned: " + ", ".join("%s==%s" % p for p in sorted(pins.items())))
    # The tests extra's mo-* packages (optional integrations) pin an exact mo-logs each; left
    # as ranges, pip backtracks through years of releases. Use the release made for the oldest
    # mo-logs where there is one (OLDEST_COMPANIONS), and leave the others out: their tests skip.
    tools = [name + "==" + version for name, version in sorted(OLDEST_COMPANIONS.items())]
    left_out = []
    for requirement in _extra("tests"):
        name = re.split(r"[<>=!~ \[;]", requirement, 1)[0]
        if not name.lower().startswith("mo-"):
            tools.append(requirement)
        elif name not in OLDEST_COMPANIONS:
            left_out.append(name)
    if left_out:
        session.log("left out (their tests skip): " + ", ".join(left_out))
    session.install("-c", constraints, ".", *tools)
    # mo-sqlite and jx-sqlite are left out too (tests/test_real_packages.py skips): their code is
    # of mo-logs 8.672's day, not the oldest allowed one
    _show_versions(session)
    session.run("python", *PYTEST, *session.posargs)


@nox.session(name="deps-newest", python=NEWEST, venv_backend="venv")
def deps_newest(session: nox.Session) -> None:
    """The suite on the newest Python with every dependency at the newest version that resolves."""
    session.install("--upgrade", "--upgrade-strategy", "eager", ".[tests]")
    _real_packages(session)
    _show_versions(session)
    session.run("python", *PYTEST, *session.posargs)
