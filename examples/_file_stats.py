"""Per-file statistics for the index_tree demo: size, lines, sha1, most common words."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from typing import NamedTuple

__all__ = ("FileStats", "file_stats", "TOP_WORDS")

TOP_WORDS = 5
_WORD = re.compile(rb"[A-Za-z_][A-Za-z0-9_]{2,}")
_TAIL = re.compile(rb"[A-Za-z0-9_]+\Z")
_BLOCK = 64 * 1024


class FileStats(NamedTuple):
    """One row of the `files` table."""

    path: str
    size: int
    lines: int
    sha1: str
    top_words: str  # "word:count word:count ..." most common first
    worker: str


def file_stats(path: str, worker: str) -> FileStats:
    """Read `path` and describe it; raises OSError when it can not be read.

    The file is read in blocks, so no single C call (the regular expression, the
    hash) holds the GIL for long: the timer, the writer and the main thread keep
    running on time while a worker chews on a big file.
    """
    words: Counter = Counter()
    sha1 = hashlib.sha1()
    size = lines = 0
    last = b""
    carry = b""  # a word cut by the end of the previous block
    with open(path, "rb") as handle:
        while True:
            block = handle.read(_BLOCK)
            if not block:
                break
            sha1.update(block)
            size += len(block)
            lines += block.count(b"\n")
            last = block[-1:]
            text = carry + block
            tail = _TAIL.search(text)
            cut = tail.start() if tail else len(text)
            words.update(_WORD.findall(text, 0, cut))
            carry = text[cut:]
    words.update(_WORD.findall(carry))
    if size and last != b"\n":
        lines += 1  # a last line without its newline
    top_words = " ".join(word.decode("ascii") + ":" + str(count) for word, count in words.most_common(TOP_WORDS))
    return FileStats(path, size, lines, sha1.hexdigest(), top_words, worker)
