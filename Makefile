# Everything runs inside .venv, created on demand from pyproject.toml.
PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.installed-bench
DEV_STAMP := $(VENV)/.installed-dev
DOCS_STAMP := $(VENV)/.installed-docs
NOX_ARGS ?=
PYTEST_ARGS ?=
DEMO_ARGS ?=

.PHONY: .venv test test-all test-deps dist docs demo bench clean

# `make .venv` (re)installs whenever pyproject.toml or setup.py changed
.venv: $(STAMP)

$(STAMP): pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(VPY) -m pip install --quiet --disable-pip-version-check -e ".[tests]"
	touch $@

# mo-sqlite, jx-sqlite, jx-python from PyPI beside our mo_threads, for tests/test_real_packages.py:
# they pin upstream's mo-threads 6.x, so tests/install_real_packages.py puts them in with --no-deps
REAL_STAMP := $(VENV)/.installed-real
$(REAL_STAMP): $(STAMP) tests/install_real_packages.py
	$(VPY) tests/install_real_packages.py
	touch $@

# the dask extra, for tests/test_remote_dask.py (a real distributed.LocalCluster), on the
# Pythons Dask supports (3.10+); HAS_DASK says whether this venv's Python is one of them
DASK_STAMP := $(VENV)/.installed-dask
HAS_DASK = $$($(VPY) -c 'import sys; print(int(sys.version_info >= (3, 10)))')
$(DASK_STAMP): $(STAMP)
	if [ "$(HAS_DASK)" = 1 ]; then $(VPY) -m pip install --quiet --disable-pip-version-check -e ".[dask]"; fi
	touch $@

# MO_THREADS_REQUIRE_*: here those packages are installed, so their absence fails
test: $(REAL_STAMP) $(DASK_STAMP)
	MO_THREADS_REQUIRE_REAL_PACKAGES=1 MO_THREADS_REQUIRE_DASK=$(HAS_DASK) $(VPY) -m pytest $(PYTEST_ARGS)

# ruff over the code, tests, examples and benchmarks; mypy --strict over mo_threads and
# examples/typed_usage.py (both configured in pyproject.toml); an ignore needed on one Python
# version only is not an error on the others
LINT_STAMP := $(VENV)/.installed-lint
$(LINT_STAMP): $(STAMP)
	$(VPY) -m pip install --quiet --disable-pip-version-check -e ".[lint]"
	touch $@

.PHONY: lint
lint: $(LINT_STAMP)
	$(VENV)/bin/ruff check mo_threads tests examples benchmarks
	$(VENV)/bin/mypy --strict --no-warn-unused-ignores mo_threads examples/typed_usage.py

# the stress suite in stress/ (not part of `make test`): the issue's sizes times STRESS_SCALE,
# e.g. make stress STRESS_SCALE=0.1 for a quick run; each test prints what it held
STRESS_SCALE ?= 1
.PHONY: stress
stress: $(STAMP)
	STRESS_SCALE=$(STRESS_SCALE) $(VPY) -m pytest stress $(PYTEST_ARGS)

# DEMO_ARGS, e.g. make demo DEMO_ARGS="--root ~/src --workers 8 --seconds 5"
demo: $(STAMP)
	$(VPY) examples/index_tree.py $(DEMO_ARGS)

$(BENCH_STAMP): $(STAMP)
	$(VPY) -m pip install --quiet --disable-pip-version-check -e ".[bench]"
	touch $@

# BENCH_BASELINE: the commit whose mo_threads the "vs baseline" rows compare with (default: the
# last one before deadlock detection); BENCH_BASELINE= skips them. A tree that is not a git
# checkout (an sdist) skips them with a message. BENCH_ARGS, e.g. BENCH_ARGS="--quick --output /tmp/b"
BENCH_BASELINE ?= abc5e58
BENCH_ARGS ?=
bench: $(BENCH_STAMP)
	$(VPY) benchmarks/run.py --baseline="$(BENCH_BASELINE)" $(BENCH_ARGS)

# every CPython 3.8-3.13 found here (pyenv's; a missing one is SKIPPED), CPython 3.14 and 3.15
# (Debian's builds, unpacked by shared/tools/debian-python) and PyPy 3 (Debian's), which FAIL
# when they can not be had; then the dependency range's ends; see noxfile.py
# NOX_ARGS, e.g. make test-all NOX_ARGS="-s tests-3.12 -- -k queue"
$(DEV_STAMP): $(STAMP)
	$(VPY) -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $@

# Debian's pypy3 for tests-pypy3, installed with apt-get when it is missing (needs root)
.PHONY: pypy3
pypy3:
	@command -v pypy3 >/dev/null || apt-get install -y -q pypy3 >/dev/null \
		|| { apt-get update -q >/dev/null && apt-get install -y -q pypy3 >/dev/null; } \
		|| { echo "make pypy3: could not install Debian's pypy3 (apt-get, as root)" >&2; exit 1; }

test-all: $(DEV_STAMP) pypy3
	$(VENV)/bin/nox $(NOX_ARGS)

test-deps: $(DEV_STAMP)
	$(VENV)/bin/nox -s deps-oldest deps-newest $(NOX_ARGS)

# sdist + wheel into dist/, checked by twine
dist: $(DEV_STAMP)
	rm -rf dist
	$(VPY) -m build --outdir dist .
	$(VENV)/bin/twine check --strict dist/*

# the docs site into site/ (mkdocs.yml); warnings are errors
$(DOCS_STAMP): $(STAMP)
	$(VPY) -m pip install --quiet --disable-pip-version-check -e ".[docs]"
	touch $@

docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir site

clean:
	rm -rf $(VENV) build dist site .nox *.egg-info .pytest_cache .hypothesis demo.*
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
