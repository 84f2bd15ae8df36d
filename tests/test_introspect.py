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
