"""`mo_threads.remote` against a real Dask cluster (`distributed.LocalCluster`, in-process workers).

Needs the `dask` extra (`pip install mo-threads[dask]`); skipped without it,
except where MO_THREADS_REQUIRE_DASK=1 says the extra was installed (make test
and CI set it on the Pythons Dask supports): there a missing Dask fails.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Iterator, List

import pytest

if os.environ.get("MO_THREADS_REQUIRE_DASK") == "1":
    import distributed
else:
    distributed = pytest.importorskip("distributed")

from mo_threads import Signal, ThreadGroup, ThreadGroupError
from mo_threads.remote import follow, wait_remote
from tests.helpers import program_lines, run_python

TIMEOUT = 60

# the workers run in this process: a task can record that it ran, and wait on a threading.Event
RAN: List[str] = []
GATES = {}


def _record(label: str) -> str:
    RAN.append(label)
    return label


def _hold(gate: str) -> None:
    GATES[gate].wait(TIMEOUT)


def _fail() -> None:
    raise ValueError("failed on a worker")


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    cluster = distributed.LocalCluster(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=None)
    with distributed.Client(cluster) as dask_client:
        yield dask_client
    cluster.close()


@pytest.fixture
def busy(client: Any) -> Iterator[None]:
    """The worker's only thread busy for the test: what is submitted meanwhile stays pending."""
    gate = threading.Event()
    GATES["busy"] = gate
    blocker = client.submit(_hold, "busy", pure=False)
    yield
    gate.set()
    blocker.result(timeout=TIMEOUT)


def test_the_result_comes_back_through_join(client: Any) -> None:
    assert follow("remote pow", client.submit(pow, 2, 10, pure=False)).join(timeout=TIMEOUT) == 1024


def test_the_failure_comes_back_through_join(client: Any) -> None:
    thread = follow("remote failure", client.submit(_fail, pure=False))
    with pytest.raises(Exception, match='Thread "remote failure" failed') as caught:
        thread.join(timeout=TIMEOUT)
    assert isinstance(caught.value.__cause__, ValueError)
    assert "failed on a worker" in str(caught.value.__cause__)


def test_stopping_the_thread_cancels_the_remote_work(client: Any, busy: None) -> None:
    future = client.submit(_record, "stopped thread", pure=False)
    thread = follow("remote", future)
    assert thread.stop().join(timeout=TIMEOUT) is None
    assert future.status == "cancelled"
    assert "stopped thread" not in RAN


def test_stopping_the_group_cancels_the_remote_work(client: Any, busy: None) -> None:
    future = client.submit(_record, "stopped group", pure=False)

    def fail(please_stop: Signal) -> None:
        raise ValueError("a member failed")

    with pytest.raises(ThreadGroupError):
        with ThreadGroup("remote") as group:
            group.run("remote", wait_remote, future)
            group.run("fails", fail)
    assert future.status == "cancelled"
    assert "stopped group" not in RAN


def test_program_shutdown_cancels_the_remote_work() -> None:
    result = run_python(
        """
        import time
        import distributed
        from mo_threads import stop_main_thread
        from mo_threads.remote import follow

        cluster = distributed.LocalCluster(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=None)
        client = distributed.Client(cluster)
        blocker = client.submit(time.sleep, 2, pure=False)  # the worker's only thread: the next task waits
        future = client.submit(print, "the pending task ran", pure=False)
        thread = follow("remote", future)
        stop_main_thread()
        print("status", future.status)
        blocker.result()
        client.close()
        cluster.close()
        """,
        timeout=TIMEOUT,
    )
    assert result.returncode == 0, result.stderr
    assert program_lines(result.stdout) == ["status cancelled"], result.stdout


@pytest.mark.parametrize("name", ["AllFailed", "ThreadGroupError", "DeadlockError", "ThreadTimeout", "BarrierTimeout"])
def test_our_exceptions_pickle_once_distributed_is_loaded(name: str) -> None:
    # distributed installs tblib's pickling of every exception class: a failure sent from a worker
    # (a ThreadGroupError of a task that ran a group, say) must still come back whole
    import pickle

    from tests.test_layers import example_error

    error = example_error(name)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error) and str(copy) == str(error)
