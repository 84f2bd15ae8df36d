"""Per-file statistics for the index_tree demo: size, lines, sha1, most common words."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from typing import NamedTuple

__all__ = ("FileStats", "file_stats", "TOP_WORDS")

TOP_WORDS = 5
_WORD = re.compile(rb"[A-Za-z_][A-Za-z0-9_]{2,}")


class FileStats(NamedTuple):
    """One row of the `files` table."""

    path: str
    size: int
    lines: int
    sha1: str
    top_words: str  # "word:count word:count ..." most common first
    worker: str


def file_stats(path: str, worker: str) -> FileStats:
    """Read `path` whole and describe it; raises OSError when it can not be read."""
    with open(path, "rb") as handle:
        data = handle.read()
    lines = data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
    common = Counter(_WORD.findall(data)).most_common(TOP_WORDS)
    top_words = " ".join(word.decode("ascii") + ":" + str(count) for word, count in common)
    return FileStats(path, len(data), lines, hashlib.sha1(data).hexdigest(), top_words, worker)
