"""Per-file statistics for the index_tree demo: size, lines, sha1, most common words."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from typing import Any, NamedTuple, Optional

__all__ = ("FileStats", "file_stats", "TOP_WORDS")

TOP_WORDS = 5
_WORD = re.compile(rb"[A-Za-z_][A-Za-z0-9_]{2,}")
_WORD_CHARS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_"
_LONGEST_WORD = 256
_BLOCK = 64 * 1024


class FileStats(NamedTuple):
    """One row of the `files` table."""

    path: str
    size: int
    lines: int
    sha1: str
    top_words: str  # "word:count word:count ..." most common first
    worker: str


def file_stats(path: str, worker: str, stop: Any = False) -> Optional[FileStats]:
    """Read `path` and describe it; raises OSError when it can not be read.

    Returns None when `stop` (anything with a truth value, such as a Signal)
    turns true before the whole file is read: a big file is abandoned at once.

    The file is read in blocks, so no single C call (the regular expression, the
    hash) holds the GIL for long: the timer, the writer and the main thread keep
    running on time while a worker chews on a big file.
    """
    words: Counter = Counter()
    sha1 = hashlib.sha1()
    size = lines = 0
    last = b""
    carry = b""  # a word cut by the end of the previous block
    in_run = False  # inside a run of word characters too long to be a word (binary data)
    with open(path, "rb") as handle:
        while True:
            if stop:
                return None
            block = handle.read(_BLOCK)
            if not block:
                break
            sha1.update(block)
            size += len(block)
            lines += block.count(b"\n")
            last = block[-1:]
            if in_run:
                rest = block.lstrip(_WORD_CHARS)
                if not rest:
                    continue  # the whole block continues the run
                in_run = False
                block = rest
            text = carry + block
            cut = len(text.rstrip(_WORD_CHARS))  # a scan back from the end: linear, unlike a regex search for it
            words.update(_WORD.findall(text, 0, cut))
            carry = text[cut:]
            if len(carry) > _LONGEST_WORD:
                carry, in_run = b"", True
    words.update(_WORD.findall(carry))
    if size and last != b"\n":
        lines += 1  # a last line without its newline
    top_words = " ".join(word.decode("ascii") + ":" + str(count) for word, count in words.most_common(TOP_WORDS))
    return FileStats(path, size, lines, sha1.hexdigest(), top_words, worker)
