"""The package without the POSIX-only parts of the OS (issue 22, point 8).

Upstream runs on Windows and macOS; these machines are Linux only, so portability is tested by
absence: a child interpreter removes what Windows lacks (SIGUSR1, signal.pthread_kill,
os.killpg, os.setsid, the fork hooks, select.poll), refuses `signal.set_wakeup_fd` on anything
but a socket (as Windows does) and hides /proc, all BEFORE importing mo_threads. Then the core
must work: threads, a queue between two threads, a Process (run, and stopped), the thread dump,
and the shutdown on stop_main_thread(). The child also checks that each fallback was taken.
"""

from __future__ import annotations

import json

import pytest

from tests.helpers import program_lines, run_python

pytestmark = pytest.mark.timeout(120)

# What Windows does not have, removed before mo_threads is imported
NOT_EVERYWHERE = """
import builtins, io, os, select, signal, stat

for module, names in (
    (signal, ("SIGUSR1", "SIGUSR2", "pthread_kill")),
    (os, ("killpg", "setsid", "register_at_fork", "fork")),
    (select, ("poll",)),
):
    for name in names:
        if hasattr(module, name):
            delattr(module, name)

_set_wakeup_fd = signal.set_wakeup_fd


def set_wakeup_fd(fd, **options):
    # Windows takes a socket only: the pipe a POSIX program would use is refused
    if fd != -1 and not stat.S_ISSOCK(os.fstat(fd).st_mode):
        raise ValueError("the fd %d must be a socket here" % fd)
    return _set_wakeup_fd(fd, **options)


signal.set_wakeup_fd = set_wakeup_fd


def _no_proc(real):
    def refuse(path, *args, **kwargs):
        if isinstance(path, str) and path.startswith("/proc"):
            raise FileNotFoundError(2, "no /proc here", path)
        return real(path, *args, **kwargs)

    return refuse


builtins.open = io.open = _no_proc(builtins.open)
os.open, os.listdir, os.scandir = _no_proc(os.open), _no_proc(os.listdir), _no_proc(os.scandir)
"""

CORE = """
import io, json, signal, sys, threading
import mo_threads
from mo_threads import PLEASE_STOP, Process, Queue, Thread, Till, dump_on_signal, dump_threads, stop_main_thread
from mo_threads import _os_signals, processes

report = {}

def double(x, please_stop):
    return 2 * x

report["join"] = Thread.run("double", double, 21).join(till=Till(seconds=30))

queue = Queue("numbers")
def produce(please_stop):
    queue.extend([1, 2, 3])
    queue.close()
Thread.run("producer", produce).join(till=Till(seconds=30))
report["queue"] = list(queue)

def lines(stream):
    till, got = Till(seconds=30), []
    while True:
        line = stream.pop(till=till)
        if line is PLEASE_STOP or line is None:
            return got
        got.append(line)

echo = Process("echo", [sys.executable, "-c", "print('hello')"])
echo.join(till=Till(seconds=30))
report["process"] = [lines(echo.stdout), echo.returncode]

sleeper = Process("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"], timeout=None)
sleeper.stop()
sleeper.join(till=Till(seconds=30))
report["stopped"] = sleeper.returncode != 0

dump = io.StringIO()
dump_threads(dump)
report["dump"] = "Main Thread" in dump.getvalue()
try:
    dump_on_signal()
    report["dump_on_signal"] = "no error"
except ValueError as cause:
    report["dump_on_signal"] = "ValueError"

# the fallbacks taken: no process groups, no dump signal, no signal watcher (no socket here)
report["fallbacks"] = [processes.PROCESS_GROUPS, _os_signals.DUMP_SIGNAL, _os_signals.STATE.pipe]
# without /proc nobody can tell whether the main thread blocks a signal: "no" (nudge it anyway)
report["blocks_without_proc"] = _os_signals._blocks(threading.main_thread().native_id, signal.SIGINT)

seen = []
def loop(please_stop):
    while not please_stop:
        Till(seconds=0.01).wait()
    seen.append("please_stop")

Thread.run("loop", loop)
Till(seconds=0.1).wait()
print(json.dumps(report), flush=True)
stop_main_thread()
print(json.dumps({"loop": seen}), flush=True)
"""


def test_core_works_without_the_posix_only_parts():
    done = run_python(NOT_EVERYWHERE + CORE, timeout=90)
    assert done.returncode == 0, done.stdout + done.stderr
    printed = [json.loads(line) for line in program_lines(done.stdout) if line.startswith("{")]
    assert len(printed) == 2, done.stdout + done.stderr
    report, after = printed
    assert report["join"] == 42
    assert report["queue"] == [1, 2, 3]
    assert report["process"] == [["hello"], 0]
    assert report["stopped"] is True
    assert report["dump"] is True
    assert report["dump_on_signal"] == "ValueError"  # no SIGUSR1 and no signal named: a clear error
    assert report["fallbacks"] == [False, None, None]
    assert report["blocks_without_proc"] is None  # nobody can tell: the nudge then keeps its time window
    assert after == {"loop": ["please_stop"]}
    assert "Traceback" not in done.stderr, done.stderr


def test_the_prelude_really_removes_them():
    # the test above proves something only if the attributes are gone when mo_threads loads
    check = """
import os, select, signal
print(sorted(n for n in ("SIGUSR1", "pthread_kill") if hasattr(signal, n))
      + sorted(n for n in ("killpg", "setsid", "register_at_fork", "fork") if hasattr(os, n))
      + (["poll"] if hasattr(select, "poll") else []))
r, w = os.pipe()
try:
    signal.set_wakeup_fd(w)
    print("pipe taken")
except ValueError:
    print("pipe refused")
try:
    open("/proc/self/status")
    print("proc read")
except FileNotFoundError:
    print("no proc")
"""
    done = run_python(NOT_EVERYWHERE + check, timeout=60)
    assert done.returncode == 0, done.stderr
    assert program_lines(done.stdout) == ["[]", "pipe refused", "no proc"]
