"""Install the PyPI packages that use mo-threads 6.x beside this mo_threads, for tests/test_real_packages.py.

    python tests/install_real_packages.py        (`make test` and the nox test sessions run it)

mo-sqlite, jx-sqlite and jx-python pin an exact mo-threads 6.x (and an exact version of every
mo-* package they use), so `pip install mo-sqlite` would put upstream's mo-threads over ours.
They go in with --no-deps, at the releases in NO_DEPS, after `.[tests]` has installed mo-logs,
mo-dots, mo-future, mo-files, mo-times (and with them mo-json, mo-math, mo-kwargs, mo-imports);
their other dependencies, none of which needs mo-threads, go in as usual (WITH_DEPS). Then the
interpreter must still import this repository's mo_threads, and the packages must import; on a
Python where they do not, they are uninstalled again, said so, and the test skips there.
"""

from __future__ import annotations

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

# The newest releases of each (mo-sql: the one that mo-sqlite and jx-sqlite pin; the newer 4.679
# pins mo-logs 8.678, which our range excludes). mo-collections and mo-json-config are jx-python's.
NO_DEPS = [
    "mo-sqlite==2.673.25037",
    "jx-sqlite==5.673.25037",
    "jx-python==4.673.25037",
    "mo-sql==4.672.25036",
    "mo-collections==5.698.25331",
    "mo-json-config==5.703.26061",
]
WITH_DEPS = ["hjson>=3", "requests>=2,<3"]
IMPORTS = ["mo_sqlite", "jx_sqlite", "jx_python", "mo_json_config", "mo_collections"]
PIP = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]


def pip(*args: str) -> None:
    print("install_real_packages: pip install " + " ".join(args), flush=True)
    subprocess.check_call(PIP + list(args))


def installed_mo_threads() -> str:
    """The version of the mo-threads distribution installed here (ours is 7 and up)."""
    out = subprocess.run(
        [sys.executable, "-c", "import importlib.metadata as m; print(m.version('mo-threads'))"],
        stdout=subprocess.PIPE,
        universal_newlines=True,
        cwd=HERE,  # not REPO: the check is on what is installed, not on the source tree
    )
    return out.stdout.strip()


def import_failure() -> str:
    """'' when every package imports here, else the traceback (with REPO's mo_threads first on the path)."""
    code = "import " + ", ".join(IMPORTS)
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        universal_newlines=True,
        env=env,
        cwd=HERE,
    )
    return "" if out.returncode == 0 else out.stdout.strip()


def main() -> int:
    before = installed_mo_threads()
    pip("--no-deps", *NO_DEPS)
    pip(*WITH_DEPS)
    print(
        "install_real_packages: pip's list of unmet pins, if any, is expected: each mo-* release pins"
        " every other mo-* package (and mo-threads 6) at the version of its own day",
        flush=True,
    )
    after = installed_mo_threads()
    if after != before:
        print("install_real_packages: mo-threads changed from %s to %s" % (before, after), file=sys.stderr)
        return 1
    failure = import_failure()
    if failure and "mo_threads" in failure:
        # our fault, not the Python's: keep them, so that tests/test_real_packages.py shows it
        print("install_real_packages: they fail to import through mo_threads:\n" + failure, flush=True)
        return 0
    elif failure:
        names = [requirement.split("==")[0] for requirement in NO_DEPS]
        subprocess.check_call([sys.executable, "-m", "pip", "uninstall", "--quiet", "--yes", *names])
        print(
            "install_real_packages: they do not import on Python %s (%s); uninstalled again, "
            "so tests/test_real_packages.py skips here" % (sys.version.split()[0], failure.splitlines()[-1]),
            flush=True,
        )
        return 0
    print("install_real_packages: installed beside mo-threads %s" % after, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
