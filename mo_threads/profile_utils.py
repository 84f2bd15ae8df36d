"""Tables as tab-separated text: the profile format of `mo_threads.profiles`.

    from mo_threads.profile_utils import stats2tab
    from mo_threads.profiles import CProfiler

    with CProfiler() as block:
        work()
    print(stats2tab(block.stats))

`stats2tab` turns a `pstats.Stats` into the table `write_profiles()` writes (a
header row of `COLUMNS`, then one row per function, slowest total first);
`list2tab` turns any list of dicts into a table (a header of the keys, then
one row of JSON values per dict). They keep the names mo-threads 6.x gave them.

Standard library only: `profiles` builds on this module.
"""

from __future__ import annotations

import json
import pstats
from typing import Any, Dict, Iterable, List, Mapping, Optional

__all__ = ("COLUMNS", "stats2tab", "list2tab")

# the header of a profile table: calls, seconds in the function itself, seconds
# including what it called, and where the function is
COLUMNS = ("calls", "self_time", "total_time", "file", "line", "name")


def stats2tab(stats: Optional[pstats.Stats], separator: str = "\t") -> str:
    """The profile table of `stats`, as text: a header row, then one row per function.

    Columns are `COLUMNS`: number of calls, self time and total time (seconds),
    file, line and function name; rows are ordered by total time, slowest
    first. Every row ends with a newline. `None` (a `CProfiler` block that ran
    nothing) gives the header alone. Separators and newlines inside file and
    function names become spaces, so every row has the same number of cells.
    """
    lines = [separator.join(COLUMNS)]
    entries: Dict[Any, Any] = {} if stats is None else stats.stats  # type: ignore[attr-defined]
    for (file, line, name), (_, calls, self_time, total_time, _) in sorted(
        entries.items(), key=lambda item: -item[1][3]
    ):
        lines.append(
            separator.join((
                str(calls),
                "%.6f" % self_time,
                "%.6f" % total_time,
                _cell("" if file == "~" else file.replace("\\", "/"), separator),
                str(line),
                _cell(name, separator),
            ))
        )
    return "\n".join(lines) + "\n"


def list2tab(rows: Iterable[Mapping[str, Any]], separator: str = "\t") -> str:
    """A table of dicts, as text: a header of their keys, then one row of JSON values per dict.

    Columns are the keys in the order they first appear; a dict without a key
    has `null` in that column. Values are written as JSON (`str()` for what JSON
    can not express), so text keeps its quotes and its tabs and newlines are
    escaped. Every row ends with a newline.
    """
    rows = list(rows)
    keys: List[str] = []
    seen = set()
    for row in rows:
        for key in row:
            if key not in seen:
                seen.add(key)
                keys.append(key)
    lines = [separator.join(_cell(str(key), separator) for key in keys)]
    for row in rows:
        lines.append(separator.join(json.dumps(row.get(key), default=str) for key in keys))
    return "\n".join(lines) + "\n"


def _cell(text: str, separator: str) -> str:
    return text.replace(separator, " ").replace("\n", " ").replace("\t", " ")
