"""`python -m mo_threads`: print the version, run a short self-check, say how to dump threads.

The self-check starts a thread, waits on a Signal and a Till, and makes a Queue
round trip; it prints OK and exits 0, or exits 1 naming the step that failed.
Then it prints how to see inside a running program: `dump_threads()`, the
SIGUSR1 dump (where the platform has it), `statistics()`. `--help` prints the
usage and does nothing else; an unknown argument is refused (exit status 2).
"""

from __future__ import annotations

import argparse
import signal
import sys
from typing import List, Optional

from mo_threads import MAIN_THREAD, Queue, Signal, Thread, Till, __version__


def _self_check() -> str:
    """Run the self-check; return "" on success, else the name of the failed step."""
    done = Signal("self-check done")
    queue: Queue[int] = Queue("self-check queue")

    def worker(please_stop: Signal) -> None:
        queue.add(42)
        done.go()

    thread = Thread.run("self-check worker", worker)
    if not done.wait(till=Till(seconds=10)):
        return "thread/signal"
    thread.join()
    if queue.pop(till=Till(seconds=10)) != 42:
        return "queue round trip"
    if not Till(seconds=0.01).wait(till=Till(seconds=10)):
        return "till"
    return ""


def _how_to_dump() -> str:
    lines = [
        "",
        "See inside a running program:",
        "  mo_threads.dump_threads()       print the thread tree to stderr: each thread's state",
        "                                  (running, waiting, stopping, stopped), what it waits on",
        "                                  and for how long, and its stack",
    ]
    if hasattr(signal, "SIGUSR1"):
        lines += [
            "  kill -USR1 <pid>                the same dump, on stderr, from outside; the program goes on",
            "                                  (on once a Thread is made, unless the program handles",
            "                                  SIGUSR1 itself; mo_threads.dump_on_signal() to set it up)",
        ]
    else:
        lines += ["  (no SIGUSR1 here: mo_threads.dump_on_signal(signum) dumps on another signal)"]
    lines += [
        "  mo_threads.statistics()         time blocked and number of waits, per thread and per",
        "                                  named primitive",
        "",
    ]
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    return argparse.ArgumentParser(
        prog="python -m mo_threads",
        description="Print the version of mo-threads, run a short self-check (a thread, a Signal,\n"
        "a Till and a Queue round trip: exit status 0, or 1 naming the failed step), and say\n"
        "how to see inside a running program.",
        epilog=_how_to_dump(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def main(argv: Optional[List[str]] = None) -> int:
    """Print the version and the self-check result; return the exit code.

    `argv` (default: the command line's) takes only `--help`, which exits after the usage.
    """
    _parser().parse_args(argv)  # --help prints and raises SystemExit(0); a wrong argument SystemExit(2)
    sys.stdout.write("mo-threads " + __version__ + "\n")
    failed = _self_check()
    if failed:
        sys.stdout.write("self-check FAILED at: " + failed + "\n")
        return 1
    sys.stdout.write("self-check OK\n")
    sys.stdout.write(_how_to_dump())
    return 0


if __name__ == "__main__":
    code = main()
    MAIN_THREAD.stop()
    sys.exit(code)
