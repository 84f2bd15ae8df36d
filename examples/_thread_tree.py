"""Remember the thread tree while it runs, and when each thread stopped, to print it afterwards.

A thread leaves its parent's `children` list once it ends, so the tree can not be
read after the shutdown: `TreeRecorder.watch()` copies it while the threads run
(call it again to pick up threads started since) and hangs a callback on every
thread's `stopped` Signal to note the time it fired.
"""

from __future__ import annotations

import time
from typing import Any, Dict, List, Optional

from mo_threads import MAIN_THREAD, Lock

__all__ = ("TreeRecorder",)


class _Node:
    __slots__ = ("name", "children", "stopped_at", "order")

    def __init__(self, name: str) -> None:
        self.name = name
        self.children: List[_Node] = []
        self.stopped_at: Optional[float] = None
        self.order = 0


class TreeRecorder:
    """A copy of the thread tree under `root`, with the time each thread stopped."""

    __slots__ = ("root_thread", "root", "nodes", "lock", "stopped_count", "stop_requested_at")

    def __init__(self, root: Any = MAIN_THREAD) -> None:
        self.lock = Lock("thread tree recorder")
        self.nodes: Dict[int, _Node] = {}
        self.stopped_count = 0
        self.stop_requested_at: Optional[float] = None
        self.root_thread = root
        self.root = self._node(root)

    def watch(self) -> None:
        """Copy the threads running now into the tree (threads seen before are kept)."""
        self._walk(self.root_thread)

    def track(self, thread: Any) -> None:
        """Add `thread` (under its parent) even if it has ended already and left the tree."""
        if id(thread) in self.nodes:
            return
        parent = getattr(thread, "parent", None)
        if parent is not None and parent is not self.root_thread:
            self.track(parent)
        parent_node = self.nodes.get(id(parent), self.root)
        parent_node.children.append(self._node(thread))

    def mark_stop_requested(self) -> None:
        """Time zero of the report: when the program was asked to stop (first call wins)."""
        if self.stop_requested_at is None:
            self.stop_requested_at = time.perf_counter()

    def _walk(self, thread: Any) -> None:
        parent = self._node(thread)
        with thread.child_locker:
            children = list(thread.children)
        for child in children:
            if id(child) not in self.nodes:
                parent.children.append(self._node(child))
            self._walk(child)

    def _node(self, thread: Any) -> _Node:
        key = id(thread)
        node = self.nodes.get(key)
        if node is None:
            node = self.nodes[key] = _Node(thread.name)
            thread.stopped.then(lambda: self._stopped(node))
        return node

    def _stopped(self, node: _Node) -> None:
        now = time.perf_counter()
        with self.lock:
            self.stopped_count += 1
            node.order = self.stopped_count
            node.stopped_at = now

    def lines(self) -> List[str]:
        """The tree as text, one thread a line, with when it stopped relative to the stop request."""
        zero = self.stop_requested_at
        rows: List[List[str]] = []

        def visit(node: _Node, prefix: str, child_prefix: str) -> None:
            if node.stopped_at is None:
                when = "still running"
            elif zero is None:
                when = "stopped #" + str(node.order)
            else:
                when = "stopped #%d at %+9.1f ms" % (node.order, (node.stopped_at - zero) * 1000)
            rows.append([prefix + node.name, when])
            for i, child in enumerate(node.children):
                last = i == len(node.children) - 1
                visit(child, child_prefix + ("└── " if last else "├── "), child_prefix + ("    " if last else "│   "))

        visit(self.root, "", "")
        width = max(len(name) for name, _ in rows) + 2
        return [name.ljust(width, " ") + when for name, when in rows]
