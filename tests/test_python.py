from __future__ import annotations

import gc
import json
import subprocess
import sys
import weakref

import pytest

from mo_threads import Thread, Till
from mo_threads.python import WORKER, Python
from tests.helpers import child_env


@pytest.fixture
def worker():
    python = Python("test worker", {"answer": 42})
    try:
        yield python
    finally:
        python.stop()
        python.process.join(till=Till(seconds=30), raise_on_error=False)


class TestPython:
    def test_import_and_call(self, worker):
        worker.import_module("math", ["sqrt", "floor"])
        assert worker.sqrt(16) == 4.0
        assert worker.floor(2.5) == 2

    def test_import_everything(self, worker):
        worker.import_module("json")
        assert worker.dumps([1], indent=None) == "[1]"

    def test_get_and_set(self, worker):
        worker.set("x", {"a": [1, 2, None]})
        assert worker.get("x") == {"a": [1, 2, None]}
        assert worker.get("config") == {"answer": 42}

    def test_execute_script(self, worker):
        worker.set("numbers", [1, 2, 3])
        worker.execute_script("total = sum(numbers)\ndef double(v, times=2):\n    return v * times\n")
        assert worker.get("total") == 6
        assert worker.double(5) == 10
        assert worker.double(5, times=3) == 15

    def test_error_is_raised_with_the_worker_message(self, worker):
        with pytest.raises(ZeroDivisionError) as caught:
            worker.execute_script("1 / 0")
        assert "division by zero" in str(caught.value)
        assert "test worker" in str(caught.value)
        worker.execute_script("class Oops(Exception):\n    pass\ndef fail():\n    raise Oops('custom trouble')\n")
        with pytest.raises(RuntimeError) as caught:
            worker.fail()
        assert "Oops" in str(caught.value) and "custom trouble" in str(caught.value)
        # the worker lives on
        assert worker.get("config") == {"answer": 42}

    def test_unknown_names(self, worker):
        with pytest.raises(NameError):
            worker.not_defined_anywhere()
        with pytest.raises(NameError):
            worker.get("nothing")
        with pytest.raises(ModuleNotFoundError):
            worker.import_module("no_such_module_here")

    def test_result_and_arguments_must_be_json(self, worker):
        with pytest.raises(TypeError):
            worker.set("x", object())
        worker.execute_script("def thing():\n    return object()\n")
        with pytest.raises(TypeError) as caught:
            worker.thing()
        assert "JSON" in str(caught.value)

    def test_worker_log_and_prints_arrive_in_the_parent_log(self, worker, log):
        worker.execute_script("from mo_logs import logger\nlogger.info('from the worker {n}', n=7)\nprint('printed line')")
        assert "from the worker 7" in log.text()
        worker.execute_script("x = 1")  # stderr is its own pipe: give it a moment
        assert _wait_for(lambda: "printed line" in log.text())
        # printing did not disturb the protocol
        assert worker.get("x") == 1

    def test_concurrent_calls(self, worker):
        worker.execute_script("def echo(v):\n    return v\n")
        results = {}

        def call(i, please_stop):
            results[i] = [worker.echo(i * 100 + j) for j in range(20)]

        threads = [Thread.run("caller " + str(i), call, i) for i in range(5)]
        for thread in threads:
            thread.join(till=Till(seconds=30))
        assert results == {i: [i * 100 + j for j in range(20)] for i in range(5)}

    def test_stop_and_join(self):
        python = Python("short lived")
        python.set("x", 1)
        python.stop().join(till=Till(seconds=30))
        assert python.process.returncode == 0
        with pytest.raises(RuntimeError) as caught:
            python.get("x")
        assert "not running" in str(caught.value)

    def test_stop_join_leaves_nothing_alive(self):
        # issue 21, point 12: no timer keeps a joined worker (and its Process) for its grace period
        python = Python("made in a loop")
        python.set("x", 1)
        python.stop().join(till=Till(seconds=30))
        threads = [python.process._monitor_thread, python.process._writer, *python.process._readers]
        assert _wait_for(lambda: not any(t.is_alive() for t in threads))
        owner, process = weakref.ref(python), weakref.ref(python.process)
        threads.clear()
        del python
        gc.collect()
        assert owner() is None and process() is None

    def test_worker_death_fails_pending_and_later_calls(self):
        python = Python("dies")
        try:
            with pytest.raises(RuntimeError) as caught:
                python.execute_script("import os, sys\nsys.stderr.write('going down\\n')\nsys.stderr.flush()\nos._exit(3)")
            assert "exit code 3" in str(caught.value)
            assert "going down" in str(caught.value)
        finally:
            python.process.join(till=Till(seconds=30), raise_on_error=False)

    def test_worker_runs_as_a_script(self):
        requests = [
            {"config": None, "sys_path": []},
            {"id": 1, "execute": "x = 2\nprint('noise')"},
            {"id": 2, "get": "x"},
            {"id": 3, "call": "len", "args": [[1, 2, 3]]},
        ]
        result = subprocess.run(
            [sys.executable, WORKER],
            input="".join(json.dumps(r) + "\n" for r in requests),
            capture_output=True,
            text=True,
            timeout=60,
            env=child_env(),
        )
        answers = [json.loads(line) for line in result.stdout.splitlines()]
        assert answers == [{"id": 1, "out": None}, {"id": 2, "out": 2}, {"id": 3, "out": 3}]
        assert "noise" in result.stderr
        assert result.returncode == 0


def _wait_for(predicate, seconds: float = 10) -> bool:
    till = Till(seconds=seconds)
    while not predicate():
        if till:
            return bool(predicate())
        Till(seconds=0.01).wait()
    return True
