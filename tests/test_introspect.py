from __future__ import annotations

from mo_threads import __version__
from tests.helpers import run_python


class TestMain:
    def test_self_check_prints_version_and_ok(self) -> None:
        result = run_python(
            """
            import runpy
            runpy.run_module("mo_threads", run_name="__main__")
            """,
            timeout=30,
        )
        assert result.returncode == 0, result.stderr
        assert "mo-threads " + __version__ in result.stdout
        assert "self-check OK" in result.stdout


class TestDumpThreads:
    def test_dump_names_a_running_thread(self) -> None:
        import io

        from mo_threads import Thread, dump_threads

        def worker(please_stop) -> None:
            please_stop.wait()

        thread = Thread.run("dump-me worker", worker)
        try:
            buffer = io.StringIO()
            dump_threads(file=buffer)
            text = buffer.getvalue()
            assert "dump-me worker [running]" in text
            assert "please_stop.wait()" in text
        finally:
            thread.stop()
            thread.join()
