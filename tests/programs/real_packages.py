"""mo-sqlite, jx-sqlite, mo-files and mo-logs used as their users use them, on the mo_threads installed.

    python tests/programs/real_packages.py FOLDER [THREADS [interrupt]]

The packages come from PyPI unchanged (tests/real_packages.txt says which releases); this
program is what a user of them writes. Each step prints one line on stdout; the program ends
by falling off its end, so the interpreter's exit stops the main thread, which joins what is
left and logs "All threads have shutdown" last. tests/test_real_packages.py runs it in a
child process with a hard timeout and checks the order of those lines. It runs as well on
upstream mo-threads 6.x (in a virtualenv of its own), to compare.

With `interrupt`, one worker sends SIGINT to the process half-way through the 100 threads'
transactions, as a user's Ctrl-C would: the program must still end, in order, in bounded time.
"""

import atexit
import os
import signal
import sys
import threading
import time

FOLDER = sys.argv[1]
THREADS = int(sys.argv[2]) if len(sys.argv) > 2 else 100
INTERRUPT = sys.argv[3:4] == ["interrupt"]
if INTERRUPT and signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    # started in the background by a shell without job control: Ctrl-C as in a terminal
    signal.signal(signal.SIGINT, signal.default_int_handler)
ROUNDS = 5  # transactions per worker thread
STARTED = time.monotonic()


def threads_left_at_exit():
    # atexit runs after threading's shutdown: mo_threads has stopped its threads by now
    left = sorted(t.name for t in threading.enumerate() if t is not threading.main_thread() and t.is_alive())
    print("threads alive at exit: %s" % (", ".join(left) or "none"), flush=True)


atexit.register(threads_left_at_exit)


def step(text):
    print("%6.2fs %s" % (time.monotonic() - STARTED, text), flush=True)


# ---- mo-logs: the threaded logger, as an application starts it --------------------------------
from mo_logs import logger  # noqa: E402

logger.start({"logs": [{"log_type": "console"}]})
from mo_logs.log_usingThread import StructuredLogger_usingThread  # noqa: E402

# mo-logs silently falls back to an unthreaded logger when mo_threads does not fit it
assert isinstance(logger.main_log, StructuredLogger_usingThread), type(logger.main_log)
log_thread = logger.main_log.thread
import mo_threads  # noqa: E402
from mo_threads import Thread, join_all_threads  # noqa: E402

step("mo_threads from " + os.path.dirname(os.path.abspath(mo_threads.__file__)))
logger.info("logger started with {name}", name=type(logger.main_log).__name__)

# ---- mo-sqlite: one Sqlite, queried from THREADS threads at once ------------------------------
from mo_sqlite import Sqlite, quote_value  # noqa: E402

db = Sqlite(filename=os.path.join(FOLDER, "scenario.sqlite"))
with db.transaction() as t:
    t.execute("CREATE TABLE counter (id INTEGER PRIMARY KEY, value INTEGER)")
    t.execute("INSERT INTO counter VALUES (1, 0)")
    t.execute("CREATE TABLE items (worker INTEGER, round INTEGER, seen INTEGER)")
step("sqlite opened, worker %r is a child of %s" % (db.worker.name, type(db).__name__))

start_line = threading.Barrier(THREADS)


def sqlite_worker(worker, please_stop):
    start_line.wait(timeout=30)  # all THREADS threads query at once
    for r in range(ROUNDS):
        if worker % 10 == 0 and r == 0:
            # a transaction that fails: the error reaches this thread and it rolls back
            try:
                with db.transaction() as t:
                    t.execute("INSERT INTO items VALUES (-1, -1, -1)")
                    t.query("SELECT no_such_column FROM counter")
            except Exception as cause:
                assert "no_such_column" in str(cause), cause
            else:
                raise AssertionError("a bad query did not raise")
        # contended write: every thread reads and bumps the same row
        with db.transaction() as t:
            seen = t.query("SELECT value FROM counter WHERE id=1", raw=True).data[0][0]
            t.execute("UPDATE counter SET value=value+1 WHERE id=1")
            t.execute(
                "INSERT INTO items VALUES (%s, %s, %s)" % (quote_value(worker), quote_value(r), quote_value(seen))
            )
        if INTERRUPT and worker == 0 and r == ROUNDS // 2:
            step("Ctrl-C")
            os.kill(os.getpid(), signal.SIGINT)
        # a query outside any transaction
        count = db.query("SELECT count(*) FROM items WHERE worker=" + quote_value(worker)).data[0][0]
        assert count == r + 1, (worker, r, count)
    return worker


workers = [Thread.run("sqlite user %d" % w, sqlite_worker, w) for w in range(THREADS)]
join_all_threads(workers)
step("%d threads joined" % THREADS)

total = db.query("SELECT value FROM counter WHERE id=1").data[0][0]
rows = db.query("SELECT count(*), count(DISTINCT seen) FROM items").data[0]
bad = db.query("SELECT count(*) FROM items WHERE worker=-1").data[0][0]
assert total == THREADS * ROUNDS, total
assert rows[0] == THREADS * ROUNDS and rows[1] == THREADS * ROUNDS, rows  # every read saw its own value
assert bad == 0, "a failed transaction was committed"
step("sqlite counted %d contended writes, failed transactions rolled back" % total)

worker_thread = db.worker
db.stop()  # commit, stop its worker thread, close the file
assert db.closed and db.worker is None and not worker_thread.is_alive()
with Sqlite(filename=os.path.join(FOLDER, "scenario.sqlite")) as again:  # reopen: the data was committed
    assert again.query("SELECT value FROM counter").data[0][0] == THREADS * ROUNDS
step("sqlite stopped and reopened")

# ---- jx-sqlite: a Container of facts, inserted and queried from threads -----------------------
from jx_sqlite import Container  # noqa: E402
from mo_dots import to_data  # noqa: E402
from mo_threads import register_thread  # noqa: E402

container = Container(filename=os.path.join(FOLDER, "jx.sqlite"))
people = container.get_or_create_facts("people")
people.insert([{"name": "person %d" % i, "age": i % 50, "team": "t%d" % (i % 4)} for i in range(200)])


def jx_reader(worker, please_stop):
    for _ in range(3):
        result = people.query(to_data({"select": "name", "where": {"eq": {"team": "t%d" % (worker % 4)}}, "limit": 100, "format": "list"}))
        assert len(result.data) == 50, len(result.data)
        grouped = people.query(to_data({"groupby": "team", "select": {"aggregate": "count"}, "format": "table"}))
        assert sorted(tuple(row) for row in grouped.data) == [("t0", 50), ("t1", 50), ("t2", 50), ("t3", 50)], grouped.data
    return count_people()


# jx-sqlite decorates its db-calling methods with @register_thread, as here (its own
# Facts.__len__ is such a method, but reads `result[0][0]` where it means `result.data[0][0]`)
@register_thread
def count_people():
    return container.db.query('SELECT count(*) FROM "people"').data[0][0]


readers = [Thread.run("jx reader %d" % w, jx_reader, w) for w in range(20)]
assert join_all_threads(readers) == [200] * 20  # the results, in order, as 6.x
in_plain_thread = []
plain = threading.Thread(target=lambda: in_plain_thread.append(count_people()), name="plain threading user")
plain.start()
plain.join()
assert in_plain_thread == [200], in_plain_thread
container.close()
step("jx-sqlite queried from 20 threads and a plain threading.Thread, closed")

# ---- mo-files: TempFile/TempDirectory delete on a released thread -----------------------------
from mo_files import TempDirectory, TempFile  # noqa: E402

with TempFile() as temp:
    temp.write("scratch")
    assert temp.read() == "scratch"
with TempDirectory() as folder:
    assert folder.exists
step("mo-files temp objects released their delete threads")

# ---- mo-logs again: stop the threaded logger explicitly, then start it once more --------------
logger.info("last line through the first threaded logger")
logger.stop()
assert not log_thread.is_alive(), "mo-logs' log thread outlived logger.stop()"
logger.start({"logs": [{"log_type": "console"}]})
assert isinstance(logger.main_log, StructuredLogger_usingThread), type(logger.main_log)
step("mo-logs stopped and restarted its log thread")
step("scenario done")
# no explicit stop: the interpreter's exit stops the main thread, which stops the log thread
