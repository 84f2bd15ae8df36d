"""`mo_threads.remote`: work running elsewhere (here a `concurrent.futures` pool) as a thread of the tree.

The same with a real Dask cluster: tests/test_remote_dask.py.
"""

from __future__ import annotations

import concurrent.futures as cf
import threading
from typing import Any, Iterator

import pytest

from mo_threads import Signal, ThreadGroup, ThreadGroupError
from mo_threads.remote import follow, wait_remote

TIMEOUT = 30


@pytest.fixture
def executor() -> Iterator[cf.ThreadPoolExecutor]:
    with cf.ThreadPoolExecutor(1) as pool:
        yield pool


def _blocker(executor: cf.ThreadPoolExecutor) -> threading.Event:
    """Occupy the executor's only worker until the returned event is set."""
    release = threading.Event()
    executor.submit(release.wait, TIMEOUT)
    return release


class TestFollow:
    def test_join_returns_the_result(self, executor: cf.ThreadPoolExecutor) -> None:
        thread = follow("pow", executor.submit(pow, 2, 10))
        assert thread.join(timeout=TIMEOUT) == 1024

    def test_join_raises_the_failure(self, executor: cf.ThreadPoolExecutor) -> None:
        thread = follow("div", executor.submit(lambda: 1 / 0))
        with pytest.raises(Exception, match='Thread "div" failed') as caught:
            thread.join(timeout=TIMEOUT)
        assert isinstance(caught.value.__cause__, ZeroDivisionError)  # the remote failure, as for any thread

    def test_stopping_the_thread_cancels_pending_work(self, executor: cf.ThreadPoolExecutor) -> None:
        release = _blocker(executor)
        ran = []
        pending = executor.submit(ran.append, "ran")
        thread = follow("pending", pending)
        try:
            assert thread.stop().join(timeout=TIMEOUT) is None  # stopped as asked: no failure
            assert pending.cancelled()
        finally:
            release.set()
        executor.shutdown(wait=True)
        assert ran == []

    def test_work_that_can_not_be_cancelled_holds_the_thread_until_it_ends(self, executor: cf.ThreadPoolExecutor) -> None:
        started, release = threading.Event(), threading.Event()

        def work() -> str:
            started.set()
            release.wait(TIMEOUT)
            return "finished"

        future = executor.submit(work)
        assert started.wait(TIMEOUT)
        thread = follow("running", future)
        thread.stop()
        assert not thread.stopped.wait(timeout=0.2)  # a running job is not cancelled: nothing left unseen
        release.set()
        assert thread.join(timeout=TIMEOUT) == "finished"  # it finished anyway: its result is kept

    def test_cancelled_by_someone_else_is_a_failure(self, executor: cf.ThreadPoolExecutor) -> None:
        release = _blocker(executor)
        try:
            pending = executor.submit(pow, 2, 2)
            thread = follow("cancelled elsewhere", pending)
            assert pending.cancel()
            with pytest.raises(Exception, match="failed") as caught:
                thread.join(timeout=TIMEOUT)
            assert isinstance(caught.value.__cause__, cf.CancelledError)
        finally:
            release.set()

    def test_a_group_stops_its_remote_members(self, executor: cf.ThreadPoolExecutor) -> None:
        release = _blocker(executor)
        pending = executor.submit(pow, 2, 2)
        try:
            with pytest.raises(ThreadGroupError) as caught:
                with ThreadGroup("remote") as group:
                    group.run("remote", wait_remote, pending)
                    group.run("fails", _fail)
            assert [type(e) for e in caught.value.exceptions] == [ValueError]
            assert pending.cancelled()
        finally:
            release.set()


def _fail(please_stop: Signal) -> None:
    raise ValueError("a member failed")


class TestBadInput:
    @pytest.mark.parametrize("not_a_future", [None, 42, "future", object()])
    def test_not_a_future_is_refused_before_starting(self, not_a_future: Any) -> None:
        before = threading.active_count()
        with pytest.raises(TypeError, match="expected a future"):
            follow("bad", not_a_future)
        assert threading.active_count() == before

    def test_name_must_be_a_str(self, executor: cf.ThreadPoolExecutor) -> None:
        with pytest.raises(TypeError, match="name"):
            follow(42, executor.submit(int))  # type: ignore[arg-type]
