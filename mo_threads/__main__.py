"""`python -m mo_threads`: print the version and run a short self-check.

The self-check starts a thread, waits on a Signal and a Till, and makes a Queue
round trip; it prints OK and exits 0, or exits 1 naming the step that failed.
"""

from __future__ import annotations

import sys

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


def main() -> int:
    """Print the version and the self-check result; return the exit code."""
    sys.stdout.write("mo-threads " + __version__ + "\n")
    failed = _self_check()
    if failed:
        sys.stdout.write("self-check FAILED at: " + failed + "\n")
        return 1
    sys.stdout.write("self-check OK\n")
    return 0


if __name__ == "__main__":
    code = main()
    MAIN_THREAD.stop()
    sys.exit(code)
