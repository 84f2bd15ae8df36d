"""A small tour of mo_threads: a tree of named threads that stops in order.

    python examples/demo.py          # runs 3 seconds, then stops the tree
    python examples/demo.py 10       # runs 10 seconds (Ctrl-C stops it sooner)

A "supervisor" thread starts three "ticker" children. Each ticker waits on
`please_stop | Till(seconds=...)`: it wakes up on its own beat, or at once when
asked to stop. After a few seconds (or on Ctrl-C / SIGTERM) the main thread
shuts down in order: the children are asked to stop first, newest first; the
supervisor ends only once its children have ended. Every step is printed with
the time it happened.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from mo_threads import MAIN_THREAD, Signal, Thread, Till, wait_for_shutdown_signal

START = time.monotonic()


def say(text: str) -> None:
    sys.stdout.write("%5.2fs  %s\n" % (time.monotonic() - START, text))
    sys.stdout.flush()


def announce_stop(thread: Any) -> None:
    """Print when `thread` is asked to stop (the callback runs in the thread asking)."""
    thread.please_stop.then(lambda: say(thread.name + ": asked to stop"))


def ticker(every: float, please_stop: Signal) -> int:
    me = Thread.current()
    ticks = 0
    while True:
        # wake on the beat, or at once when asked to stop
        (please_stop | Till(seconds=every)).wait()
        if please_stop:
            break
        ticks += 1
        say("%s: tick %d" % (me.name, ticks))
    say("%s: cleaning up after %d ticks" % (me.name, ticks))
    Till(seconds=0.1 * (4 - int(me.name[-1]))).wait()  # some last work, longest for the oldest
    say("%s: stopped" % me.name)
    return ticks


def supervisor(please_stop: Signal) -> int:
    children = []
    for i in range(3):
        child = Thread.run("ticker-%d" % (i + 1), ticker, 0.5 + 0.3 * i)
        announce_stop(child)
        children.append(child)
    say("supervisor: started " + ", ".join(c.name for c in children))
    please_stop.wait()
    # by now every child has been asked to stop too (children first)
    total = sum(child.join() for child in children)
    say("supervisor: my children ticked %d times in all; stopped" % total)
    return total


def print_tree(thread: Any, indent: str = "") -> None:
    say(indent + thread.name)
    for child in list(thread.children):
        print_tree(child, indent + "    ")


def main() -> int:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    boss = Thread.run("supervisor", supervisor)
    announce_stop(boss)
    Till(seconds=0.1).wait()
    say("the thread tree:")
    print_tree(MAIN_THREAD)
    say("main: stopping everything in %.1f seconds (Ctrl-C to stop now)" % seconds)
    # park until Ctrl-C, SIGTERM or the timer; then stop the tree in order
    began = time.monotonic()
    wait_for_shutdown_signal(please_stop=Till(seconds=seconds))
    why = "the timer" if time.monotonic() - began >= seconds else "a signal"
    say("main: stopped by %s; the supervisor counted %s ticks" % (why, boss.result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
