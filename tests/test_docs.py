"""The README and the docs site: every code block runs as shown, every public name has an API entry.

Code blocks. Every ```python block of README.md and docs/**/*.md is a complete program: it is
run as a child process, in an empty directory, with a hard timeout, and must exit with status 0.
An HTML comment on the line just before the fence changes that (it shows neither on PyPI nor on
the docs site):

- `<!-- fragment -->`: a piece of a program (it uses names it does not define); not run.
- `<!-- run: sigint -->`: a service that runs until Ctrl-C; it gets a SIGINT once it has printed
  its first line, and must then exit with status 0.
- `<!-- output -->` before a ```text block: every line of it must be among the lines that the
  last python block before it printed (stdout and stderr), so the output a page shows is true.

Blocks in other languages (bash, text, console, pycon) are not run. The programs run where
mo-files and mo-times (test dependencies, not the package's) can not be imported, as after a
plain `pip install mo-threads`.

API entries. Each name of `mo_threads.__all__` is an entry of the API reference: a `::: ...`
directive (mkdocstrings) of docs/api/ that names it, or a documented class or function of a
public module whose page renders the module. When mkdocs is installed (`make docs`), the site is
also built, and each name must have its anchor in the generated API pages.
"""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Set

import pytest

import mo_threads

from tests.helpers import REPO, child_env, finish, send, start_python

DOCS = Path(REPO) / "docs"
PAGES = [Path(REPO) / "README.md"] + sorted(DOCS.rglob("*.md"))

FENCE = re.compile(r"^(```+|~~~+)\s*([\w+-]*)")
DIRECTIVE = re.compile(r"^<!--\s*(fragment|run:\s*sigint|output)\s*-->\s*$")
RUN_TIMEOUT = 30.0  # a hang fails the block; each one normally ends in a second or two


class Block(NamedTuple):
    page: Path
    line: int  # of the opening fence, 1-based
    language: str
    code: str
    directive: str  # "", "fragment", "sigint" or "output"
    output: Optional["Block"]  # the <!-- output --> block that follows, if any

    @property
    def id(self) -> str:
        return "%s:%d" % (self.page.relative_to(REPO), self.line)


def read_blocks(page: Path) -> List[Block]:
    """The fenced code blocks of `page`, each with the directive just before it."""
    lines = page.read_text(encoding="utf8").splitlines()
    blocks: List[Block] = []
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        fence, language = opening.group(1), opening.group(2).lower()
        marker = DIRECTIVE.match(lines[i - 1].strip()) if i else None
        directive = marker.group(1).replace(" ", "").replace("run:", "") if marker else ""
        end = i + 1
        while end < len(lines) and not lines[end].strip().startswith(fence):
            end += 1
        blocks.append(Block(page, i + 1, language, "\n".join(lines[i + 1 : end]) + "\n", directive, None))
        i = end + 1
    # an output block belongs to the last python block before it
    joined: List[Block] = []
    for block in blocks:
        if block.directive == "output":
            programs = [n for n, previous in enumerate(joined) if previous.language in ("python", "py")]
            assert programs, "%s: <!-- output --> follows no python block" % block.id
            assert joined[programs[-1]].output is None, "%s: a second output block for one program" % block.id
            joined[programs[-1]] = joined[programs[-1]]._replace(output=block)
        else:
            joined.append(block)
    return joined


ALL_BLOCKS = [block for page in PAGES for block in read_blocks(page)]
PROGRAMS = [block for block in ALL_BLOCKS if block.language in ("python", "py") and block.directive != "fragment"]


def test_every_page_has_its_blocks_found() -> None:
    """The reader sees the README's and the guide's blocks (a broken reader would pass everything)."""
    readme = [block for block in PROGRAMS if block.page.name == "README.md"]
    assert len(readme) >= 5
    assert len(PROGRAMS) >= 30


def test_no_directive_is_misspelled() -> None:
    """A comment that looks like a directive but is not one would silently run (or skip) a block."""
    wrong = []
    for page in PAGES:
        for number, line in enumerate(page.read_text(encoding="utf8").splitlines(), 1):
            text = line.strip()
            if re.match(r"^<!--\s*(fragment|run|output)\b", text) and not DIRECTIVE.match(text):
                wrong.append("%s:%d: %s" % (page.relative_to(REPO), number, text))
    assert wrong == []


# in the test environment, not in a plain `pip install mo-threads`: a block must not need them
NOT_INSTALLED = ("mo_files", "mo_times")


@pytest.fixture(scope="module")
def plain_install_env(tmp_path_factory) -> Dict[str, str]:
    """The child's environment, where importing a package of NOT_INSTALLED fails as it would."""
    shadow = tmp_path_factory.mktemp("not_installed")
    for name in NOT_INSTALLED:
        (shadow / name).mkdir()
        (shadow / name / "__init__.py").write_text(
            "raise ImportError('%s is not installed by pip install mo-threads')\n" % name, encoding="utf8"
        )
    env = child_env()
    env["PYTHONPATH"] = str(shadow) + os.pathsep + env["PYTHONPATH"]
    return env


@pytest.mark.parametrize("block", PROGRAMS, ids=[block.id for block in PROGRAMS])
def test_code_block_runs(block: Block, tmp_path: Path, plain_install_env: Dict[str, str]) -> None:
    proc = start_python(block.code, cwd=str(tmp_path), env=plain_install_env)
    if block.directive == "sigint":
        # a service: once it has started (its first line), Ctrl-C must end it cleanly
        killer = threading.Timer(RUN_TIMEOUT, proc.kill)  # readline has no timeout of its own
        killer.start()
        try:
            first = proc.stdout.readline() if proc.stdout else ""
        finally:
            killer.cancel()
        assert first, "%s: the service printed nothing before ending" % block.id
        time.sleep(0.3)
        send(proc, signal.SIGINT)
        done = finish(proc, timeout=RUN_TIMEOUT)
        done.stdout = first + done.stdout
    else:
        done = finish(proc, timeout=RUN_TIMEOUT)
    printed = done.stdout + done.stderr
    assert done.returncode == 0, "%s exited with %s:\n%s" % (block.id, done.returncode, printed)
    if block.output is not None:
        seen = {line.strip() for line in printed.splitlines()}
        expected = [line.strip() for line in block.output.code.splitlines() if line.strip()]
        missing = [line for line in expected if line not in seen]
        assert missing == [], "%s: the output shown is not what it prints; missing %r; printed:\n%s" % (
            block.id,
            missing,
            printed,
        )


# --- the API reference ------------------------------------------------------------------------

API = DOCS / "api"
API_DIRECTIVE = re.compile(r"^:::\s*([\w.]+)\s*$", re.M)


def _directives() -> Dict[str, str]:
    """Every `::: path` of docs/api/, mapped to the text of its options (the lines after it)."""
    found: Dict[str, str] = {}
    for page in API.glob("*.md"):
        text = page.read_text(encoding="utf8")
        for match in API_DIRECTIVE.finditer(text):
            options = text[match.end() : match.end() + 400].split("\n\n")[0]
            found[match.group(1)] = options
    return found


def _rendered_by_module_page(name: str, directives: Dict[str, str]) -> bool:
    """True when `name` is a documented class or function shown by its module's page."""
    value = getattr(mo_threads, name)
    if not (inspect.isclass(value) or inspect.isfunction(value)) or not inspect.getdoc(value):
        return False
    for module_name, options in directives.items():
        if module_name == "mo_threads" or not module_name.startswith("mo_threads."):
            continue
        if "members: false" in options:
            continue
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        if getattr(module, name, None) is value and name in getattr(module, "__all__", [name]):
            return True
    return False


def test_every_public_name_has_an_api_entry() -> None:
    directives = _directives()
    entries = {path.rsplit(".", 1)[-1] for path in directives}
    missing = [
        name for name in mo_threads.__all__ if name not in entries and not _rendered_by_module_page(name, directives)
    ]
    assert missing == [], "no entry in docs/api/ for: " + ", ".join(missing)


def test_every_public_module_has_a_page_in_the_api_index() -> None:
    index = (API / "index.md").read_text(encoding="utf8")
    pages = {page.stem for page in API.glob("*.md") if page.stem != "index"}
    public = {info.name for info in pkgutil.iter_modules(mo_threads.__path__) if not info.name.startswith("_")}
    public.discard("python_worker")  # the worker interpreter's program, not an API
    assert sorted(public - pages) == [], "public modules without a page in docs/api/"
    missing = [module for module in sorted(pages) if "(%s.md)" % module not in index]
    assert missing == [], "docs/api/index.md does not list: " + ", ".join(missing)


# --- the README as PyPI shows it ----------------------------------------------------------------

README = Path(REPO) / "README.md"
LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_the_readme_is_a_front_page() -> None:
    """Short enough to read on PyPI, and starting with what a pip user needs."""
    text = README.read_text(encoding="utf8")
    assert len(text.splitlines()) <= 250
    assert "pip install mo-threads" in text
    assert text.index("pip install mo-threads") < text.index("make test")


def test_the_readme_links_are_absolute() -> None:
    """PyPI shows the README without the repository around it: a relative link is a broken one."""
    relative = [link for link in LINK.findall(README.read_text(encoding="utf8")) if not link.startswith("https://")]
    assert relative == []


def _built_ids(site: Path) -> Set[str]:
    ids: Set[str] = set()
    for page in (site / "api").rglob("*.html"):
        ids.update(re.findall(r'id="(mo_threads[\w.]*)"', page.read_text(encoding="utf8")))
    return ids


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_built_site_has_an_anchor_for_every_public_name(tmp_path: Path) -> None:
    pytest.importorskip("mkdocstrings", reason="the docs tools are not installed (make docs installs them)")
    mkdocs = shutil.which("mkdocs", path=os.path.dirname(sys.executable)) or shutil.which("mkdocs")
    if mkdocs is None:
        pytest.skip("no mkdocs command")
    site = tmp_path / "site"
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    done = subprocess.run(
        [mkdocs, "build", "--strict", "--quiet", "--site-dir", str(site)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        universal_newlines=True,
        timeout=240,
    )
    assert done.returncode == 0, "mkdocs build --strict failed:\n" + done.stdout
    ids = _built_ids(site)
    names = {anchor.rsplit(".", 1)[-1] for anchor in ids}
    missing = [name for name in mo_threads.__all__ if name not in names]
    assert missing == [], "the API pages have no anchor for: " + ", ".join(missing)
