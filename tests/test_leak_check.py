"""The check after every test (tests/conftest.py, `check_nothing_left`) fails a test that leaves mo_threads things behind.

Each case runs a small test file under pytest in a child process, with this
suite's conftest as a plugin.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from tests.helpers import child_env, run_python

LEAKY_TESTS = '''
import pytest
from mo_threads import MAIN_THREAD, Thread, Till, stop_main_thread


def test_leaves_a_thread_running():
    Thread.run("leaky", lambda please_stop: please_stop.wait())


def test_leaves_a_failure_nobody_joined():
    Thread.run("failing", lambda please_stop: 1 / 0).stopped.wait()


def test_leaves_a_timer_with_callbacks():
    Till(seconds=600).then(lambda: None)


@pytest.mark.leaves_threads("on purpose")
def test_says_it_leaves_a_thread():
    Thread.run("on purpose", lambda please_stop: please_stop.wait())


def test_asks_a_thread_to_stop_without_joining_it():
    Thread.run("stopping", lambda please_stop: please_stop.wait()).stop()


def test_shuts_down():
    stop_main_thread()


def test_after_a_test_that_shut_down():
    assert not MAIN_THREAD.children  # every leftover of the tests above was cleaned up
    assert Thread.run("fresh", lambda please_stop: 42).join() == 42
'''


def test_leftovers_fail_the_test_that_left_them(tmp_path: Path) -> None:
    (tmp_path / "test_leaky.py").write_text(LEAKY_TESTS)
    code = """
    import sys, pytest
    sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", "-p", "tests.conftest", "-rA", sys.argv[1]]))
    """
    result = run_python(
        textwrap.dedent(code),
        str(tmp_path / "test_leaky.py"),
        timeout=60,
        env=child_env(MO_THREADS_TEST_SETTLE_SECONDS="0.5"),
        cwd=str(tmp_path),
    )
    out = result.stdout
    lines = out.splitlines()
    # each failure: "ERROR at teardown of <test>", then what it left
    reported = {
        line.split(" of ")[1].strip(" _"): lines[at + 1] for at, line in enumerate(lines) if "ERROR at teardown of" in line
    }
    assert reported == {
        "test_leaves_a_thread_running": "left behind after the test: thread 'leaky'",
        "test_leaves_a_failure_nobody_joined": "left behind after the test: child of the main thread 'failing'"
        " (failed, never joined)",
        "test_leaves_a_timer_with_callbacks": reported.get("test_leaves_a_timer_with_callbacks"),
    }, out
    assert "with callbacks" in reported["test_leaves_a_timer_with_callbacks"], out
    assert "7 passed, 3 errors" in out, out
