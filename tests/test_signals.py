"""The Signal contract (DESIGN.md "Signals and time", issue 2), point by point."""

from __future__ import annotations

import functools
import gc
import operator
import threading
import time
from typing import Any, List

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mo_logs import logger as mo_logger

from mo_threads import DONE, NEVER, Signal
from mo_threads import signals as signals_module
from tests.helpers import cpython_only, run_python


class _CapturedLog:
    """Stands in for `mo_logs.logger.main_log`: keeps what the logger writes."""

    def __init__(self) -> None:
        self.items: List[Any] = []

    def write(self, template: str, params: Any) -> None:
        self.items.append((template, params))

    def stop(self) -> None:
        pass


@pytest.fixture
def captured_log(monkeypatch):
    log = _CapturedLog()
    monkeypatch.setattr(mo_logger, "main_log", log)
    return log


def _start(target, *args) -> threading.Thread:
    thread = threading.Thread(target=target, args=args, daemon=True)
    thread.start()
    return thread


class TestSignalState:
    def test_starts_false_and_go_makes_it_true(self):
        sig = Signal("s")
        assert not sig
        assert bool(sig) is False
        sig.go()
        assert sig
        assert bool(sig) is True

    def test_irreversible(self):
        sig = Signal()
        sig.go()
        sig.go()  # a second go does nothing
        assert sig
        assert sig.wait() is True
        assert sig.wait(timeout=0) is True

    def test_wait_returns_true_when_already_done(self):
        sig = Signal()
        sig.go()
        started = time.time()
        assert sig.wait() is True
        assert sig.wait(till=NEVER) is True
        assert sig.wait(till=DONE) is True  # already fired wins over a fired till
        assert time.time() - started < 5

    def test_wait_blocks_until_go_from_another_thread(self):
        sig = Signal()
        result = []

        def waiter():
            result.append(sig.wait())

        thread = _start(waiter)
        time.sleep(0.05)
        assert not result  # still blocked
        sig.go()
        thread.join(10)
        assert result == [True]

    def test_wait_till_returns_false_when_till_fires(self):
        sig = Signal()
        till = Signal("till")
        result = []

        def waiter():
            result.append(sig.wait(till=till))

        thread = _start(waiter)
        time.sleep(0.05)
        assert not result
        till.go()
        thread.join(10)
        assert result == [False]
        assert not sig

    def test_wait_till_already_fired_returns_false_at_once(self):
        assert Signal().wait(till=DONE) is False

    def test_wait_timeout_returns_false(self):
        sig = Signal()
        started = time.time()
        assert sig.wait(timeout=0.05) is False
        assert time.time() - started >= 0.04
        assert sig.wait(timeout=0) is False

    def test_wait_timeout_returns_true_when_fired_in_time(self):
        sig = Signal()
        timer = threading.Timer(0.02, sig.go)
        timer.start()
        try:
            assert sig.wait(timeout=10) is True
        finally:
            timer.join()

    def test_infinite_and_huge_timeouts_mean_for_ever(self):
        for timeout in (float("inf"), 1e12):
            sig = Signal()
            timer = threading.Timer(0.02, sig.go)
            timer.start()
            assert sig.wait(timeout=timeout) is True
            timer.join()

    def test_wait_leaves_no_waiter_behind(self):
        sig = Signal()
        till = Signal()
        assert sig.wait(timeout=0.01) is False
        assert not sig._waiters
        threading.Timer(0.01, till.go).start()
        assert sig.wait(till=till) is False
        assert not sig._waiters and not till._waiters

    def test_an_exception_while_joining_till_leaves_no_waiter_behind(self):
        class RaisingTill(Signal):
            """A `till` whose registration is interrupted, as by a Ctrl-C at that instant."""

            __slots__ = ()

            def _add_waiter(self, waiter):
                raise KeyboardInterrupt("at the registration")

        sig = Signal("never fired")
        with pytest.raises(KeyboardInterrupt, match="at the registration"):
            sig.wait(till=RaisingTill("till"))
        assert not sig._waiters

    def test_a_waiter_leaving_while_go_wakes_the_line_misses_nobody(self):
        # go() wakes the line one waiter at a time while others leave it (their till fired)
        for _ in range(50):
            sig, till = Signal("crowd"), Signal("till")
            woke = []
            leaving = [_start(lambda: woke.append(("leaver", sig.wait(till=till)))) for _ in range(10)]
            staying = [_start(lambda: woke.append(("stayer", sig.wait(timeout=30)))) for _ in range(10)]
            time.sleep(0.01)
            _start(till.go)
            sig.go()
            for thread in leaving + staying:
                thread.join(30)
            assert sorted(woke).count(("stayer", True)) == 10
            assert not sig._waiters and not till._waiters

    def test_never_wait_forever_is_refused(self):
        with pytest.raises(RuntimeError, match="NEVER"):
            NEVER.wait()
        with pytest.raises(RuntimeError, match="NEVER"):
            NEVER.wait(till=NEVER)
        assert Signal().wait(till=NEVER, timeout=0.01) is False
        assert not NEVER._waiters
        assert NEVER.wait(timeout=0.01) is False
        assert NEVER.wait(till=DONE) is False

    def test_never_can_not_fire(self):
        assert NEVER.go() is NEVER  # does nothing, as in mo-threads 6.x
        assert not NEVER

    def test_done_is_done(self):
        assert DONE
        assert DONE.wait() is True


class TestSignalName:
    def test_name_and_repr(self):
        sig = Signal("please stop")
        assert sig.name == "please stop"
        assert "please stop" in repr(sig)
        assert "pending" in repr(sig)
        sig.go()
        assert "done" in repr(sig)

    def test_unnamed_has_a_readable_name(self):
        sig = Signal()
        assert isinstance(sig.name, str) and sig.name
        assert sig.name in repr(sig)

    def test_combination_names_its_sources(self):
        a, b = Signal("a"), Signal("b")
        assert (a | b).name == "(a | b)"
        assert (a & b).name == "(a & b)"
        assert "(a | b)" in repr(a | b)

    def test_name_must_be_a_str(self):
        with pytest.raises(TypeError, match="name"):
            Signal(1)
        with pytest.raises(TypeError, match="name"):
            Signal(b"bytes")

    def test_constants_named(self):
        assert DONE.name == "DONE"
        assert NEVER.name == "NEVER"


class TestThen:
    def test_runs_once_on_the_thread_calling_go(self):
        sig = Signal()
        calls = []
        sig.then(lambda: calls.append(threading.get_ident()))
        assert calls == []
        go_thread = []

        def fire():
            go_thread.append(threading.get_ident())
            sig.go()

        thread = _start(fire)
        thread.join(10)
        assert calls == go_thread  # once, and on the firing thread
        assert calls[0] != threading.get_ident()
        sig.go()
        assert len(calls) == 1

    def test_callbacks_run_in_order_added(self):
        sig = Signal()
        order = []
        for i in range(5):
            sig.then(lambda i=i: order.append(i))
        sig.go()
        assert order == [0, 1, 2, 3, 4]

    def test_then_after_go_runs_immediately_on_caller(self):
        sig = Signal()
        sig.go()
        calls = []
        result = sig.then(lambda: calls.append(threading.get_ident()))
        assert calls == [threading.get_ident()]
        assert result is sig  # chainable

    def test_then_returns_the_signal(self):
        sig = Signal()
        assert sig.then(lambda: None) is sig

    def test_remove_then(self):
        sig = Signal()
        calls = []

        def job():
            calls.append(1)

        sig.then(job)
        assert sig.remove_then(job) is True
        assert sig.remove_then(job) is False
        sig.go()
        assert calls == []

    def test_remove_then_removes_only_one(self):
        sig = Signal()
        calls = []

        def job():
            calls.append(1)

        sig.then(job)
        sig.then(job)
        assert sig.remove_then(job) is True
        sig.go()
        assert calls == [1]

    def test_remove_then_on_unknown_or_done(self):
        sig = Signal()
        assert sig.remove_then(lambda: None) is False
        sig.go()
        assert sig.remove_then(lambda: None) is False

    def test_failing_callback_goes_to_error(self):
        sig = Signal()
        errors = []
        later = []
        boom = ValueError("boom")

        def fail():
            raise boom

        sig.then(fail, error=errors.append)
        sig.then(lambda: later.append(1))
        sig.go()  # does not raise
        assert errors == [boom]
        assert later == [1]  # the other callbacks still ran

    def test_failing_callback_after_go_goes_to_error(self):
        sig = Signal()
        sig.go()
        errors = []
        sig.then(lambda: 1 / 0, error=errors.append)
        assert len(errors) == 1 and isinstance(errors[0], ZeroDivisionError)

    def test_failing_callback_logged_as_warning_by_default(self, captured_log):
        sig = Signal("noisy")

        def broken_callback():
            raise ValueError("the callback broke")

        sig.then(broken_callback)
        sig.go()  # does not raise
        assert len(captured_log.items) == 1
        template, params = captured_log.items[0]
        assert str(params.severity).lower() == "warning"
        text = str(params.cause) + str(params.get("cause_text"))
        assert "the callback broke" in text

    def test_failing_error_handler_is_logged(self, captured_log):
        sig = Signal()

        def bad_handler(cause):
            raise RuntimeError("the handler broke too")

        sig.then(lambda: 1 / 0, error=bad_handler)
        sig.go()
        assert len(captured_log.items) == 1
        template, params = captured_log.items[0]
        assert "the handler broke too" in str(params.cause) + str(params.get("cause_text"))

    def test_no_log_when_error_handler_given(self, captured_log):
        sig = Signal()
        sig.then(lambda: 1 / 0, error=lambda e: None)
        sig.go()
        assert captured_log.items == []

    def test_then_refuses_non_callable(self):
        sig = Signal("s")
        with pytest.raises(TypeError):
            sig.then(3)
        with pytest.raises(TypeError):
            sig.then(lambda: None, error="not callable")
        with pytest.raises(TypeError):
            NEVER.then(None)
        sig.go()
        with pytest.raises(TypeError):
            sig.then("x")  # refused even when it would run at once


class TestCombinations:
    def test_identity_laws(self):
        a = Signal("a")
        assert (a | False) is a
        assert (a | None) is a
        assert (a | True) is DONE
        assert (a & False) is NEVER
        assert (a & True) is a
        # the same from the other side
        assert (False | a) is a
        assert (True | a) is DONE
        assert (False & a) is NEVER
        assert (True & a) is a

    def test_laws_with_done_and_never(self):
        a = Signal("a")
        assert (a | DONE) is DONE
        assert (DONE | a) is DONE
        assert (a | NEVER) is a
        assert (NEVER | a) is a
        assert (a & DONE) is a
        assert (DONE & a) is a
        assert (a & NEVER) is NEVER
        assert (NEVER & a) is NEVER
        assert (a | a) is a
        assert (a & a) is a
        assert (NEVER | NEVER) is NEVER
        assert (DONE & DONE) is DONE

    def test_or_fires_when_either_fires(self):
        for which in (0, 1):
            a, b = Signal("a"), Signal("b")
            either = a | b
            assert not either
            (a, b)[which].go()
            assert either
            assert either.wait(timeout=0) is True

    def test_and_fires_when_both_fired(self):
        for first in (0, 1):
            a, b = Signal("a"), Signal("b")
            both = a & b
            (a, b)[first].go()
            assert not both
            (a, b)[1 - first].go()
            assert both

    def test_combination_with_fired_source(self):
        a, b = Signal(), Signal()
        a.go()
        assert (a | b) is DONE
        assert (a & b) is b

    def test_combination_wakes_a_waiter(self):
        a, b = Signal("a"), Signal("b")
        result = []
        thread = _start(lambda: result.append((a | b).wait()))
        time.sleep(0.02)
        b.go()
        thread.join(10)
        assert result == [True]

    def test_combination_then_runs_on_firing_thread(self):
        a, b = Signal("a"), Signal("b")
        either = a | b
        calls = []
        either.then(lambda: calls.append(threading.get_ident()))
        fired_by = []

        def fire():
            fired_by.append(threading.get_ident())
            a.go()

        _start(fire).join(10)
        assert calls == fired_by

    def test_dropped_combination_with_then_still_fires(self):
        # nobody keeps the combination, but it has a callback: it must still run
        a, b = Signal("a"), Signal("b")
        calls = []
        (a | b).then(lambda: calls.append("or"))
        (a & b).then(lambda: calls.append("and"))
        gc.collect()
        a.go()
        assert calls == ["or"]
        b.go()
        assert calls == ["or", "and"]

    def test_fired_combination_releases_its_other_source(self):
        # a combination that fired (and is still referenced) leaves nothing on the source that did not fire
        main = Signal("main")
        kept = []
        for _ in range(100):
            other = Signal()
            either = main | other
            either.then(lambda: None)
            other.go()
            kept.append(either)
        assert all(kept)
        assert len(main._jobs or ()) < 5

    def test_fired_combination_stops_holding_its_parts(self):
        # the outer combination had a callback, so its parts were held; once it fired
        # an unfired part must not stay registered on a long-lived signal
        main = Signal("main")
        for _ in range(100):
            x = Signal()
            (x | (main & Signal())).then(lambda: None)
            x.go()
        gc.collect()
        assert len(main._jobs or ()) < 5

    def test_part_held_by_two_combinations(self):
        # a part shared by two held combinations stays held until both fired
        a, b, c = Signal("a"), Signal("b"), Signal("c")
        shared = a & b
        calls = []
        (shared | c).then(lambda: calls.append("c"))
        # only `shared` can fire this one, and only a and b can fire `shared`
        (shared | Signal("dropped")).then(lambda: calls.append("d"))
        del shared
        c.go()
        gc.collect()
        assert calls == ["c"]
        a.go()
        b.go()
        assert calls == ["c", "d"]

    def test_removed_callback_lets_go_of_the_combination(self):
        main = Signal("main")

        def job():
            pass

        for _ in range(100):
            combo = main | Signal()
            combo.then(job)
            combo.then(job)
            assert combo.remove_then(job)
            assert combo.remove_then(job)
            del combo
        gc.collect()
        assert len(main._jobs or ()) < 5

    def test_deep_chains_fire_without_recursion(self):
        # reduce(or_, signals): firing the deepest source must not recurse once per level
        depth = 3000
        sources = [Signal("s" + str(i)) for i in range(depth)]
        either = functools.reduce(operator.or_, sources)
        calls = []
        either.then(lambda: calls.append(threading.get_ident()))  # holds the whole chain
        assert "..." in either.name  # a readable name, not 3000 levels of it
        repr(either)
        sources[0].go()
        assert either and calls == [threading.get_ident()]
        others = [Signal("t" + str(i)) for i in range(depth)]
        every = functools.reduce(operator.and_, others)
        for source in reversed(others):
            source.go()
        assert every

    def test_dropped_deep_chain_with_callback_fires(self):
        sources = [Signal("s" + str(i)) for i in range(2000)]
        calls = []
        functools.reduce(operator.or_, sources).then(lambda: calls.append(1))
        gc.collect()
        sources[0].go()
        assert calls == [1]

    def test_bad_operand(self):
        a = Signal("a")
        with pytest.raises(TypeError):
            a | 3
        with pytest.raises(TypeError):
            a & "x"
        with pytest.raises(TypeError):
            3 | a
        with pytest.raises(TypeError):
            a | 0


_LEAVES = st.one_of(st.integers(0, 3), st.sampled_from(["True", "False", "DONE", "NEVER"]))
_EXPRESSIONS = st.recursive(
    _LEAVES, lambda inner: st.tuples(st.sampled_from(["|", "&"]), inner, inner), max_leaves=8
)


def _build(expr, signals):
    if isinstance(expr, tuple):
        op, left, right = expr
        a, b = _build(left, signals), _build(right, signals)
        return (a | b) if op == "|" else (a & b)
    if isinstance(expr, int):
        return signals[expr]
    return {"True": True, "False": False, "DONE": DONE, "NEVER": NEVER}[expr]


def _truth(expr, fired):
    if isinstance(expr, tuple):
        op, left, right = expr
        a, b = _truth(left, fired), _truth(right, fired)
        return (a or b) if op == "|" else (a and b)
    if isinstance(expr, int):
        return expr in fired
    return expr in ("True", "DONE")


class TestCombinationAlgebra:
    @settings(max_examples=300, deadline=None)
    @given(_EXPRESSIONS, st.permutations(range(4)))
    def test_combination_is_true_exactly_when_its_formula_is(self, expr, order):
        signals = [Signal("s" + str(i)) for i in range(4)]
        combined = _build(expr, signals)
        fired = set()
        assert bool(combined) == _truth(expr, fired)
        for i in order:
            signals[i].go()
            fired.add(i)
            assert bool(combined) == _truth(expr, fired), (expr, fired)

    @settings(max_examples=200, deadline=None)
    @given(_EXPRESSIONS, st.permutations(range(4)))
    def test_dropped_combination_calls_back_once_when_its_formula_turns_true(self, expr, order):
        signals = [Signal("s" + str(i)) for i in range(4)]
        combined = _build(expr, signals)
        if not isinstance(combined, Signal):
            return  # plain bools: nothing to call back
        calls = []
        combined.then(lambda: calls.append(1))
        del combined
        gc.collect()
        fired = set()
        assert len(calls) == int(_truth(expr, fired))
        for i in order:
            signals[i].go()
            fired.add(i)
            assert len(calls) == int(_truth(expr, fired)), (expr, fired)
        # nothing is left registered on the sources once everything fired
        assert all(not s._jobs for s in signals)


class TestMemory:
    @cpython_only("a dropped combination leaves main's callbacks when it is freed: at once by reference counting")
    def test_dropped_combinations_leave_no_callbacks(self):
        main = Signal("main")
        for _ in range(100_000):
            main | Signal()
        assert len(main._jobs or ()) < 5
        for _ in range(1000):
            combo = main & Signal()
            del combo
        assert len(main._jobs or ()) < 5
        assert main.remove_then(lambda: None) is False

    @cpython_only("tracemalloc")
    def test_memory_stays_flat(self):
        import tracemalloc  # not at the top: PyPy has none, and the module's other tests run there

        main = Signal("main")

        def churn(n):
            for _ in range(n):
                combo = main | Signal()
                combo.wait(timeout=0)

        churn(1000)
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            churn(100_000)
            gc.collect()
            after = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
        # 100,000 leaked combinations would be megabytes; allow a little slack
        assert after - before < 100_000, after - before
        assert len(main._jobs or ()) < 5

    @cpython_only("gc.set_threshold, which PyPy's collector does not have")
    def test_collection_inside_the_state_lock_does_not_deadlock(self):
        # cyclic garbage holding combinations of a live signal, collected by a garbage
        # collection that starts inside Signal's state lock (any allocation there can
        # start one): dropping the combination's callback must not wait on that lock
        result = run_python(
            """
            import gc, sys, threading, time
            from mo_threads import Signal

            live = Signal("live")

            class Holder:
                pass

            gc.set_threshold(50)
            stop = []

            def garbage():
                while not stop:
                    holder = Holder()
                    holder.me = holder  # only the cyclic collector frees it
                    holder.combo = live | Signal()
                    del holder

            thread = threading.Thread(target=garbage, daemon=True)
            thread.start()
            started = time.time()
            while time.time() - started < 1.5:
                sig = Signal()
                for _ in range(10):
                    sig.then(print)
            stop.append(True)
            thread.join(10)
            gc.collect()
            live | Signal()  # lets deferred clean-ups finish
            print("callbacks left", len(live._jobs))
            """,
            timeout=20,
        )
        assert result.returncode == 0, result.stderr
        left = int(result.stdout.split("callbacks left")[1])
        assert left < 5, result.stdout

    def test_idle_signal_is_small(self):
        assert not hasattr(Signal(), "__dict__")


class TestConcurrency:
    def test_hundred_waiters_all_wake(self):
        sig = Signal("crowd")
        woke = []
        ready = threading.Semaphore(0)

        def waiter():
            ready.release()
            woke.append(sig.wait(timeout=30))

        threads = [_start(waiter) for _ in range(100)]
        for _ in threads:
            ready.acquire()
        time.sleep(0.05)
        assert woke == []
        sig.go()
        for thread in threads:
            thread.join(30)
        assert woke == [True] * 100
        assert not sig._waiters

    def test_hundred_waiters_with_till(self):
        sig = Signal("crowd")
        till = Signal("till")
        woke = []

        def waiter():
            woke.append(sig.wait(till=till))

        threads = [_start(waiter) for _ in range(100)]
        time.sleep(0.05)
        till.go()
        for thread in threads:
            thread.join(30)
        assert woke == [False] * 100
        assert not till._waiters and not sig._waiters

    def test_concurrent_go_runs_each_callback_once(self):
        for _ in range(20):
            sig = Signal()
            counts = [0] * 50
            for i in range(50):

                def job(i=i):
                    counts[i] += 1

                sig.then(job)
            start = threading.Barrier(16)

            def fire():
                start.wait()
                sig.go()

            threads = [_start(fire) for _ in range(16)]
            for thread in threads:
                thread.join(10)
            assert counts == [1] * 50

    def test_then_racing_go_runs_exactly_once(self):
        # callbacks added while another thread fires: each runs once, whichever side wins
        for _ in range(50):
            sig = Signal()
            counts = [0] * 200
            start = threading.Barrier(2)

            def add():
                start.wait()
                for i in range(200):

                    def job(i=i):
                        counts[i] += 1

                    sig.then(job)

            adder = _start(add)
            start.wait()
            sig.go()
            adder.join(10)
            assert counts == [1] * 200

    def test_concurrent_combinations_and_go(self):
        main = Signal("main")
        combos = []
        start = threading.Barrier(9)

        def make():
            start.wait()
            local = [main | Signal() for _ in range(500)]
            combos.extend(local)

        threads = [_start(make) for _ in range(8)]
        start.wait()
        main.go()
        for thread in threads:
            thread.join(10)
        assert len(combos) == 4000
        assert all(combos)


class TestBadInput:
    def test_wait_till_must_be_a_signal(self):
        with pytest.raises(TypeError, match="till"):
            Signal().wait(till=5)
        with pytest.raises(TypeError, match="till"):
            Signal().wait(5)

    def test_wait_till_checked_even_when_done(self):
        # a bad argument is an error at the call, not only when the wait would block
        with pytest.raises(TypeError):
            DONE.wait(till=5)

    def test_wait_timeout_must_be_valid(self):
        with pytest.raises(ValueError):
            Signal().wait(timeout=-1)
        with pytest.raises(ValueError):
            Signal().wait(timeout=float("nan"))
        with pytest.raises(TypeError):
            Signal().wait(timeout="1")
        with pytest.raises(ValueError):
            DONE.wait(timeout=-1)

    def test_combine_with_non_signal(self):
        with pytest.raises(TypeError, match="int"):
            Signal() | 3

    def test_then_non_callable(self):
        with pytest.raises(TypeError, match="callable"):
            Signal().then(None)

    def test_check_timeout_helper(self):
        assert signals_module.check_timeout(1) == 1.0
        with pytest.raises(TypeError):
            signals_module.check_timeout(True)
