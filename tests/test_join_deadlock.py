"""Tests for joins in the wait-for graph: a join that closes a cycle raises DeadlockError."""

from __future__ import annotations

import threading
import time
from typing import Any, Dict

from mo_threads import DeadlockError, Lock, RegisterThread, Signal, Thread, Till, current_thread
from mo_threads import _blocking
from mo_threads.threads import ThreadTimeout
from tests.helpers import wait_true


def joining(thread: Thread) -> bool:
    """Whether `thread` is parked in a join (not still leaving an earlier wait)."""
    found = _blocking.blocked_on(thread.ident)  # type: ignore[arg-type]
    return found is not None and found[0] == "join"


def joined_by_each_other(bounded_first: bool) -> Dict[str, Any]:
    """Threads 'alpha' and 'beta' join each other; return what each join did."""
    threads: Dict[str, Thread] = {}
    outcome: Dict[str, Any] = {}
    ready = Signal("both made")

    def alpha(please_stop: Signal) -> None:
        ready.wait(till=Till(seconds=20))
        till = Till(seconds=1) if bounded_first else None
        try:
            threads["beta"].join(till=till)
            outcome["alpha"] = "returned"
        except BaseException as error:
            outcome["alpha"] = error

    def beta(please_stop: Signal) -> None:
        ready.wait(till=Till(seconds=20))
        # let alpha park in its join first: then beta's join is the one closing the cycle
        assert wait_true(lambda: joining(threads["alpha"]))
        try:
            threads["alpha"].join()
            outcome["beta"] = "returned"
        except BaseException as error:
            outcome["beta"] = error

    threads["alpha"] = Thread.run("alpha", alpha)
    threads["beta"] = Thread.run("beta", beta)
    ready.go()
    for thread in threads.values():
        thread.join(till=Till(seconds=30))
    return outcome


class TestJoinDeadlock:
    def test_join_each_other_raises(self) -> None:
        outcome = joined_by_each_other(bounded_first=False)
        error = outcome["beta"]
        assert isinstance(error, DeadlockError)
        message = str(error)
        assert "'alpha'" in message and "'beta'" in message and "join" in message
        assert [who for who, _ in error.cycle] == ["beta", "alpha"]
        assert outcome["alpha"] == "returned"  # beta ended instead of hanging, so alpha's join returned

    def test_join_and_lock_cycle_raises(self) -> None:
        # alpha holds a Lock and joins beta; beta wants the Lock: beta's wait closes the cycle
        lock = Lock("ledger")
        holding = Signal("alpha holds the lock")
        outcome: Dict[str, Any] = {}
        threads: Dict[str, Thread] = {}

        def beta(please_stop: Signal) -> None:
            holding.wait(till=Till(seconds=20))
            assert wait_true(lambda: joining(threads["alpha"]))
            try:
                with lock:
                    outcome["beta"] = "locked"
            except DeadlockError as error:
                outcome["beta"] = error

        def alpha(please_stop: Signal) -> None:
            with lock:
                holding.go()
                threads["beta"].join()
            outcome["alpha"] = "returned"

        threads["beta"] = Thread("beta", beta)
        threads["alpha"] = Thread("alpha", alpha)
        threads["beta"].start()
        threads["alpha"].start()
        threads["alpha"].join(till=Till(seconds=30))
        error = outcome["beta"]
        assert isinstance(error, DeadlockError), error
        message = str(error)
        assert "'ledger'" in message and "'alpha'" in message
        # alpha's join parks on beta's `stopped` Signal: the message may name either
        assert "join 'beta'" in message or "'stopped beta'" in message
        assert outcome["alpha"] == "returned"

    def test_bounded_join_does_not_raise(self) -> None:
        outcome = joined_by_each_other(bounded_first=True)
        assert isinstance(outcome["alpha"], ThreadTimeout)  # gave up on its till
        assert outcome["beta"] == "returned"  # waited until alpha ended

    def test_join_of_a_finished_thread_records_nothing(self) -> None:
        thread = Thread.run("quick", lambda please_stop: 1)
        thread.join(till=Till(seconds=20))
        before = _blocking.statistics()["primitives"].get("join 'quick'", {"waits": 0})["waits"]
        assert thread.join() == 1  # the fast path: stopped already
        after = _blocking.statistics()["primitives"].get("join 'quick'", {"waits": 0})["waits"]
        assert after == before

    def test_stopped_signal_is_owned_by_its_thread(self) -> None:
        idents: Dict[str, Any] = {}

        def work(please_stop: Signal) -> None:
            me = threads[0]
            idents["owner"] = _blocking._completion_owners.get(me.stopped)
            please_stop.wait(till=Till(seconds=20))

        threads = []
        threads.append(Thread("owned", work))
        threads[0].start()
        wait_true(lambda: "owner" in idents)
        assert idents["owner"] == threads[0].ident
        threads[0].stop()
        threads[0].join(till=Till(seconds=20))
        assert threads[0].stopped not in _blocking._completion_owners

    def test_thread_names_in_messages(self) -> None:
        seen: Dict[str, Any] = {}

        def work(please_stop: Signal) -> None:
            import _thread

            seen["name"] = _blocking.thread_name(_thread.get_ident())

        Thread.run("named worker", work).join(till=Till(seconds=20))
        assert seen["name"] == "named worker"

    def test_registered_thread_joined_by_the_thread_it_joins(self) -> None:
        # a foreign thread, registered, joins a mo_threads thread that joins it back
        outcome: Dict[str, Any] = {}
        registered: Dict[str, Any] = {}

        def worker(please_stop: Signal) -> None:
            assert wait_true(lambda: "alien" in registered)
            try:
                registered["alien"].join()
                outcome["worker"] = "returned"
            except DeadlockError as error:
                outcome["worker"] = error

        def foreign() -> None:
            with RegisterThread(name="foreign") as me:
                thread = Thread.run("worker", worker)
                registered["worker"] = thread
                registered["alien"] = me
                try:
                    thread.join()
                    outcome["foreign"] = "returned"
                except BaseException as error:
                    outcome["foreign"] = error

        other = threading.Thread(target=foreign)
        other.start()
        other.join(30)
        assert not other.is_alive()
        # whichever joined last closed the cycle and got the error; the other carried on
        errors = [v for v in outcome.values() if isinstance(v, DeadlockError)]
        wrapped = [v for v in outcome.values() if isinstance(getattr(v, "__cause__", None), DeadlockError)]
        assert len(errors) + len(wrapped) == 1, outcome
        message = str(errors[0] if errors else wrapped[0].__cause__)
        assert "'foreign'" in message and "'worker'" in message



class TestJoinAnAncestor:
    """A thread ends only after its children: a descendant joining it without `till` would wait for ever."""

    def joined_from_below(self, depth: int, till: Any = None) -> Dict[str, Any]:
        """A chain of `depth` threads below 'top'; the lowest joins 'top'; return what it got and how fast."""
        outcome: Dict[str, Any] = {}
        top_made = Signal("top made")
        holder: Dict[str, Thread] = {}

        def lowest(please_stop: Signal) -> None:
            top_made.wait(till=Till(seconds=20))
            began = time.monotonic()
            try:
                holder["top"].join(till=till)
                outcome["join"] = "returned"
            except BaseException as error:
                outcome["join"] = error
            outcome["seconds"] = time.monotonic() - began

        def middle(level: int, please_stop: Signal) -> None:
            if level == depth:
                Thread.run("lowest", lowest)
            else:
                Thread.run("level " + str(level + 1), middle, level + 1)
            please_stop.wait(till=Till(seconds=20))

        holder["top"] = Thread.run("top", middle, 1)
        top_made.go()
        assert wait_true(lambda: "seconds" in outcome, timeout=15), "the join of 'top' from below hangs"
        holder["top"].stop().join(till=Till(seconds=20))
        return outcome

    def test_child_joining_its_parent_raises_at_once(self) -> None:
        outcome = self.joined_from_below(depth=1)
        error = outcome["join"]
        assert isinstance(error, DeadlockError), error
        assert outcome["seconds"] < 5
        message = str(error)
        assert "'lowest'" in message and "'top'" in message and "join" in message
        assert [who for who, _ in error.cycle] == ["lowest", "top"]

    def test_descendant_joining_an_ancestor_raises(self) -> None:
        outcome = self.joined_from_below(depth=3)
        error = outcome["join"]
        assert isinstance(error, DeadlockError), error
        assert [who for who, _ in error.cycle] == ["lowest", "top", "level 2", "level 3"]

    def test_join_with_till_is_not_refused(self) -> None:
        outcome = self.joined_from_below(depth=1, till=Till(seconds=0.2))
        assert isinstance(outcome["join"], ThreadTimeout)

    def test_parent_ending_while_child_joins_it(self) -> None:
        # the parent's target returned: it is joining its children when the child joins it
        outcome: Dict[str, Any] = {}
        holder: Dict[str, Thread] = {}

        def child(please_stop: Signal) -> None:
            please_stop.wait(till=Till(seconds=20))  # fires as the parent's end stops its children
            try:
                holder["parent"].join()
                outcome["child"] = "returned"
            except BaseException as error:
                outcome["child"] = error

        made = Signal("parent made")

        def work(please_stop: Signal) -> None:
            Thread.run("child", child)
            made.wait(till=Till(seconds=20))  # then return: the end stops the child

        holder["parent"] = Thread.run("parent", work)
        made.go()
        assert wait_true(lambda: "child" in outcome, timeout=15), "the child's join of its parent hangs"
        holder["parent"].join(till=Till(seconds=20))
        assert isinstance(outcome["child"], DeadlockError), outcome

    def test_a_detached_child_may_join_its_parent(self) -> None:
        # a child removed from the tree before it starts is not waited for: no cycle
        outcome: Dict[str, Any] = {}
        made = Signal("parent made")

        def child(please_stop: Signal) -> None:
            made.wait(till=Till(seconds=20))
            outcome["child"] = parent.join()

        def work(please_stop: Signal) -> str:
            detached = Thread("detached child", child)
            current_thread().remove_child(detached)
            outcome["thread"] = detached.start()
            return "done"

        parent = Thread.run("parent", work)
        made.go()
        assert parent.join(till=Till(seconds=20)) == "done"
        outcome["thread"].join(till=Till(seconds=20))
        assert outcome["child"] == "done"
