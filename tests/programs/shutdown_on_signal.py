"""A child program parked in `wait_for_shutdown_signal`: it stops in order on SIGINT, SIGTERM or `exit` on stdin.

It prints `ready` once its worker thread runs, then, while shutting down, the
worker's cleanup and finally `main done`. tests/test_processes.py drives it.
"""

import sys
import time

from mo_threads import Thread, wait_for_shutdown_signal
from mo_threads._os_signals import STATE


def say(text):
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def worker(please_stop):
    # a signal must find the main thread parked in wait_for_shutdown_signal (before that,
    # SIGINT raises KeyboardInterrupt in it, by design): say ready once it is
    while not STATE.parked:
        time.sleep(0.01)
    say("ready")
    please_stop.wait()
    say("worker cleanup")


def main():
    Thread.run("worker", worker)
    wait_for_shutdown_signal(allow_exit=True)
    say("main done")


if __name__ == "__main__":
    main()
