"""A one-line progress bar on stderr for the index_tree demo, redrawn by a `Repeat` thread."""

from __future__ import annotations

import sys
import time
from typing import Any, Callable, Optional, TextIO

from mo_threads import Repeat

__all__ = ("ProgressBar",)

_WIDTH = 24


def _clock(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    return "%d:%02d" % (seconds // 60, seconds % 60) if seconds < 3600 else "%d:%02d:%02d" % (
        seconds // 3600,
        seconds // 60 % 60,
        seconds % 60,
    )


class ProgressBar:
    """Redraw `files done, rate, ETA` a few times a second, with `\\r`, on `stream`.

    `counts()` returns (done, queued, walking): walking is True while more files
    may still be queued, so the total (and the ETA) is not known yet.
    """

    __slots__ = ("counts", "stream", "every", "started", "repeat", "width")

    def __init__(self, counts: Callable[[], Any], stream: Optional[TextIO] = None, every: float = 0.2) -> None:
        self.counts = counts
        self.stream = stream or sys.stderr
        self.every = every
        self.started = time.perf_counter()
        self.repeat: Optional[Repeat] = None
        self.width = 0

    def start(self) -> ProgressBar:
        self.started = time.perf_counter()
        self.repeat = Repeat(self.progress_bar, every=self.every, start=True)
        return self

    def progress_bar(self) -> None:
        """Draw the line once (what the Repeat thread calls)."""
        done, queued, walking = self.counts()
        elapsed = max(time.perf_counter() - self.started, 1e-6)
        rate = done / elapsed
        if walking:
            bar = "[" + "?" * _WIDTH + "]"
            total = "%d queued so far" % queued
            eta = "ETA  (walking)"
        else:
            fraction = done / queued if queued else 1.0
            filled = int(fraction * _WIDTH)
            bar = "[" + "#" * filled + "." * (_WIDTH - filled) + "] %3d%%" % int(fraction * 100)
            total = "of %d" % queued
            eta = "ETA %s" % (_clock((queued - done) / rate) if rate > 0 else "?")
        line = "%s %d files %s  %.0f files/s  %s  elapsed %s" % (bar, done, total, rate, eta, _clock(elapsed))
        pad = max(self.width - len(line), 0)
        self.width = len(line)
        self.stream.write("\r" + line + " " * pad)
        self.stream.flush()

    def stop(self) -> None:
        """Stop redrawing (waits for the Repeat thread), draw a last time and end the line."""
        repeat, self.repeat = self.repeat, None
        if repeat is None:
            return
        repeat.stop()
        self.progress_bar()
        self.stream.write("\n")
        self.stream.flush()
