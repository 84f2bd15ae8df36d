"""The slow end of the index_tree pipeline: rows into a SQLite file, one transaction per batch."""

from __future__ import annotations

import os
import sqlite3
import threading
from typing import Any, Iterable, Optional, Sequence, Tuple

__all__ = ("SqliteSink", "reconcile_counts")

_SCHEMA = """
CREATE TABLE files (
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    lines INTEGER NOT NULL,
    sha1 TEXT NOT NULL,
    top_words TEXT NOT NULL,
    worker TEXT NOT NULL
)
"""
_INSERT = "INSERT INTO files (path, size, lines, sha1, top_words, worker) VALUES (?, ?, ?, ?, ?, ?)"


def _remove_database(path: str) -> None:
    for suffix in ("", "-journal", "-wal", "-shm"):
        try:
            os.remove(path + suffix)
        except FileNotFoundError:
            pass


class SqliteSink:
    """A sink with `extend(rows)`: one executemany and one commit per batch.

    The database file is recreated by the constructor. The connection opens on
    the first `extend`, in the thread that writes (a ThreadedQueue's worker), and
    is only ever used by one thread at a time (a lock guards it). `written` counts
    the rows committed. Adding the queue's stop marker (anything that is not a
    row, through `add`) is ignored: `close()` ends the connection.
    """

    __slots__ = ("path", "written", "batches", "_connection", "_lock")

    def __init__(self, path: str) -> None:
        self.path = path
        self.written = 0
        self.batches = 0
        self._connection: Optional[sqlite3.Connection] = None
        self._lock = threading.Lock()
        _remove_database(path)
        connection = sqlite3.connect(path)
        try:
            connection.execute(_SCHEMA)
            connection.commit()
        finally:
            connection.close()

    def extend(self, rows: Iterable[Sequence[Any]]) -> None:
        """Insert `rows` in one transaction; on failure nothing of the batch is kept and it raises."""
        batch = [tuple(row) for row in rows if isinstance(row, tuple)]
        if not batch:
            return
        with self._lock:
            connection = self._connection
            if connection is None:
                # check_same_thread=False: close() runs in the main thread once the writer is done
                connection = self._connection = sqlite3.connect(self.path, check_same_thread=False)
                # a commit per batch without an fsync per commit: the write-ahead log keeps it safe
                # (fetchall: the PRAGMA answers a row; read, its statement ends now, not when the
                # cursor is collected, which on PyPy is later and makes the commit below fail)
                connection.execute("PRAGMA journal_mode=WAL").fetchall()
                connection.execute("PRAGMA synchronous=NORMAL").fetchall()
            try:
                connection.executemany(_INSERT, batch)
                connection.commit()
            except BaseException:
                connection.rollback()
                raise
            self.written += len(batch)
            self.batches += 1

    def add(self, row: Any) -> None:
        """Insert one row; anything that is not a row (the stop marker) is ignored."""
        self.extend([row])

    def close(self) -> None:
        """Close the connection (later `extend`s open a new one)."""
        with self._lock:
            connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()


def reconcile_counts(path: str) -> Tuple[int, int]:
    """Ask the database, on a fresh connection: (COUNT(*), COUNT(DISTINCT path))."""
    connection = sqlite3.connect(path)
    try:
        rows, distinct = connection.execute("SELECT COUNT(*), COUNT(DISTINCT path) FROM files").fetchone()
        return int(rows), int(distinct)
    finally:
        connection.close()
