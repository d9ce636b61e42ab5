"""QueryPool: queries answered by query processes, equal to the answers in process;
a process that dies or hangs is replaced and its query gets a clear error."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from metricslib.collector.model import Matcher, make_labels
from metricslib.collector.promql.engine import Engine
from metricslib.collector.promql.gate import QueryGate
from metricslib.collector.querypool.pool import QueryPool, QueryProcessFailure
from metricslib.collector.querypool.worker import PlanMessage, WorkerSettings
from metricslib.collector.storage import Store, open_storage
from metricslib.collector.storage.plan import SelectPlan
from metricslib.collector.web.api.v1 import PrometheusAPI, Request
from metricslib.errors import QueryProcessError, QueryTimeoutError


def _no_selectors(text: str) -> Sequence[Matcher]:
    raise AssertionError("not used by query routes")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_storage(tmp_path / "data", background=False, retention_ms=10**15, head_chunk_samples=30)
    app = s.appender()
    for i in range(40):
        labels = make_labels({"__name__": "req_total", "job": f"j{i % 3}", "i": str(i)})
        for t in range(0, 600_000, 10_000):
            app.append(labels, t, float(t // 1000 * (i + 1)))
    for i in range(5):
        app.append(make_labels({"__name__": "temp", "room": str(i)}), 590_000, 20.0 + i)
    app.commit()
    s.flush(cut_all=True)  # most samples in chunks on disk, the rest in the head
    app = s.appender()
    for i in range(40):
        labels = make_labels({"__name__": "req_total", "job": f"j{i % 3}", "i": str(i)})
        app.append(labels, 600_000, float(600 * (i + 1)))
    app.commit()
    yield s
    s.close()


@pytest.fixture
def pool(store: Store) -> Iterator[QueryPool]:
    p = QueryPool(1, WorkerSettings(str(store.db.dir), max_samples=5000), store.querier, grace_s=1.0,
                  clock=lambda: 600.0)
    p.start()
    yield p
    p.close()


def api(store: Store, pool: QueryPool | None) -> PrometheusAPI:
    def engine(timeout_ms: int | None) -> Engine:
        return Engine(store.querier(), timeout_s=120 if timeout_ms is None else timeout_ms / 1000, max_samples=5000)

    return PrometheusAPI(engine_factory=engine, querier_factory=store.querier, parse_selector=_no_selectors,
                         clock=lambda: 600.0, query_handler=None if pool is None else pool.handle)


QUERIES = [
    ("/api/v1/query", {"query": "sum(rate(req_total[5m])) by (job)", "time": "600"}),
    ("/api/v1/query", {"query": "req_total[1m]", "time": "600"}),
    ("/api/v1/query", {"query": "topk(3, req_total)", "time": "450.5"}),
    ("/api/v1/query", {"query": 'label_replace(temp, "x", "$1", "room", "(.*)") * 2', "time": "600"}),
    ("/api/v1/query", {"query": "absent(nothing)", "time": "600"}),
    ("/api/v1/query", {"query": "temp"}),  # "now" is the collector's clock
    ("/api/v1/query_range", {"query": "rate(req_total[1m])", "start": "100", "end": "600", "step": "30"}),
    ("/api/v1/query_range", {"query": "count(req_total) by (job)", "start": "0", "end": "600", "step": "7"}),
    ("/api/v1/query", {"query": "sum(rate(req_total[5m])) by (", "time": "600"}),  # bad_data
    ("/api/v1/query_range", {"query": "up", "start": "600", "end": "100", "step": "30"}),  # bad_data
    ("/api/v1/query_range", {"query": "req_total", "start": "0", "end": "600", "step": "1"}),  # max samples
    ("/api/v1/query", {"query": "req_total / on() group_left temp", "time": "600"}),  # execution error
]


@pytest.mark.parametrize(("path", "params"), QUERIES)
def test_answers_equal_the_in_process_answers(store: Store, pool: QueryPool, path: str,
                                              params: dict[str, str]) -> None:
    request = Request("GET", path, {k: [v] for k, v in params.items()})
    here = api(store, None).handle(request)
    there = api(store, pool).handle(request)
    assert (there.status, there.body, there.content_type) == (here.status, here.body, here.content_type)
    assert json.loads(there.body)["status"] in ("success", "error")


def test_limits_give_the_same_errors(store: Store, pool: QueryPool) -> None:
    ask = api(store, pool).handle
    too_many = ask(Request("GET", "/api/v1/query_range",
                           {"query": ["req_total"], "start": ["0"], "end": ["600"], "step": ["1"]}))
    assert too_many.status == 422 and b"too many samples" in too_many.body
    timed_out = ask(Request("GET", "/api/v1/query", {"query": ["sum(req_total)"], "time": ["600"],
                                                      "timeout": ["0.000001"]}))
    assert timed_out.status == 503 and json.loads(timed_out.body)["errorType"] == "timeout"


def test_labels_are_sent_once_per_series(store: Store, pool: QueryPool) -> None:
    sent: list[int] = []
    real = pool._serve

    def spy(worker, message):  # type: ignore[no-untyped-def]
        answer = real(worker, message)
        if answer[0] == "plan":
            assert isinstance(answer[1], PlanMessage)
            sent.append(len(answer[1].new_labels))
        return answer

    pool._serve = spy  # type: ignore[method-assign]
    request = Request("GET", "/api/v1/query", {"query": ["req_total"], "time": ["600"]})
    first, second = pool.handle(request), pool.handle(request)
    assert first.body == second.body
    assert sent == [40, 0]


def test_a_process_that_dies_mid_query_is_replaced_and_the_query_fails_clearly(store: Store) -> None:
    killed: list[int] = []

    class Killing:
        def __getattr__(self, name: str) -> object:
            return getattr(store.querier(), name)

        def select_plan(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> SelectPlan:
            if not killed:
                (pid,) = qp.pids()
                killed.append(pid)
                os.kill(pid, signal.SIGKILL)
                os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
            return store.querier().select_plan(matchers, mint, maxt)

    qp = QueryPool(1, WorkerSettings(str(store.db.dir)), Killing)  # type: ignore[arg-type]
    try:
        request = Request("GET", "/api/v1/query", {"query": ["sum(req_total)"], "time": ["600"]})
        with pytest.raises(QueryProcessError) as err:
            qp.handle(request)
        assert f"query process {killed[0]} exited (code -9)" in str(err.value)
        assert "new one was started" in str(err.value)
        assert qp.replaced == 1 and qp.pids() != killed
        assert json.loads(qp.handle(request).body)["status"] == "success"
    finally:
        qp.close()


def test_a_process_that_died_while_idle_is_replaced_without_failing_a_query(store: Store, pool: QueryPool) -> None:
    (pid,) = pool.pids()
    os.kill(pid, signal.SIGKILL)
    os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
    answer = pool.handle(Request("GET", "/api/v1/query", {"query": ["sum(req_total)"], "time": ["600"]}))
    assert json.loads(answer.body)["status"] == "success"
    assert pool.replaced == 1 and pool.pids() != [pid]


def test_a_hung_process_is_killed_and_replaced_and_the_query_times_out(store: Store) -> None:
    stop: list[int] = []

    class Stopping:
        def __getattr__(self, name: str) -> object:
            return getattr(store.querier(), name)

        def select_plan(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> SelectPlan:
            if stop:
                os.kill(stop.pop(), signal.SIGSTOP)  # it will never answer
            return store.querier().select_plan(matchers, mint, maxt)

    qp = QueryPool(1, WorkerSettings(str(store.db.dir), timeout_s=2.0), Stopping, grace_s=0.5)  # type: ignore[arg-type]
    try:
        request = Request("GET", "/api/v1/query", {"query": ["sum(req_total)"], "time": ["600"]})
        assert json.loads(qp.handle(request).body)["status"] == "success"  # started and answering
        (pid,) = qp.pids()
        stop.append(pid)
        with pytest.raises(QueryTimeoutError, match=rf"query process {pid} did not answer .* replaced"):
            qp.handle(request)
        assert qp.replaced == 1 and qp.pids() != [pid]
        assert json.loads(qp.handle(request).body)["status"] == "success"
    finally:
        qp.close()


def test_a_plan_naming_a_rewritten_chunk_is_made_again(store: Store) -> None:
    plans: list[SelectPlan] = []

    class Racing:
        def __getattr__(self, name: str) -> object:
            return getattr(store.querier(), name)

        def select_plan(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> SelectPlan:
            plan = store.querier().select_plan(matchers, mint, maxt)
            if not plans:
                assert plan.chunks is not None
                ids = plan.chunks[0].copy()
                ids[0] = 10**12  # as if compaction deleted it after the plan was made
                plan.chunks = (ids, *plan.chunks[1:])
            plans.append(plan)
            return plan

    pool = QueryPool(1, WorkerSettings(str(store.db.dir)), Racing)  # type: ignore[arg-type]
    try:
        request = Request("GET", "/api/v1/query", {"query": ["req_total[10m]"], "time": ["600"]})
        assert pool.handle(request).body == api(store, None).handle(request).body
        assert len(plans) == 2
    finally:
        pool.close()


def test_a_bug_in_the_process_answers_500_like_the_http_server(store: Store, pool: QueryPool) -> None:
    class Broken:
        def __getattr__(self, name: str) -> object:
            return getattr(store.querier(), name)

        def select_plan(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> SelectPlan:
            plan = store.querier().select_plan(matchers, mint, maxt)
            plan.h_offs = np.zeros(0, dtype=np.int64)  # inconsistent: the join fails in the process
            return plan

    pool._querier = Broken  # type: ignore[assignment]
    with pytest.raises(QueryProcessFailure):
        pool.handle(Request("GET", "/api/v1/query", {"query": ["req_total"], "time": ["600"]}))
    assert pool.replaced == 0  # the process lives on
    pool._querier = store.querier
    assert json.loads(pool.handle(Request("GET", "/api/v1/query", {"query": ["temp"], "time": ["600"]})).body)[
        "status"] == "success"


def test_a_store_error_reaches_the_query(store: Store, pool: QueryPool) -> None:
    class Closed:
        def __getattr__(self, name: str) -> object:
            return getattr(store.querier(), name)

        def select_plan(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> SelectPlan:
            raise RuntimeError("store is closed")

    pool._querier = Closed  # type: ignore[assignment]
    # In process the store's error reaches the HTTP server, which answers 500 with it: the same here.
    with pytest.raises(QueryProcessFailure, match="store is closed"):
        pool.handle(Request("GET", "/api/v1/query", {"query": ["temp"], "time": ["600"]}))
    assert pool.replaced == 0


def test_queries_wait_in_line_for_a_process_within_their_timeout(store: Store) -> None:
    pool = QueryPool(1, WorkerSettings(str(store.db.dir)), store.querier, gate=QueryGate(5))
    try:
        pool.start()
        with pool._cond:
            taken = pool._idle.pop()  # the only process is busy
        with pytest.raises(QueryTimeoutError, match="query timed out in query queue"):
            pool.handle(Request("GET", "/api/v1/query", {"query": ["temp"], "time": ["600"], "timeout": ["10ms"]}))
        pool._give_back(taken)
        assert json.loads(pool.handle(Request("GET", "/api/v1/query", {"query": ["temp"], "time": ["600"]})).body)[
            "status"] == "success"
    finally:
        pool.close()


def test_close_stops_every_process_and_later_queries_fail_clearly(store: Store) -> None:
    pool = QueryPool(2, WorkerSettings(str(store.db.dir)), store.querier)
    pool.start()
    procs = [w.proc for w in pool._all]
    pool.close()
    assert all(p.returncode is not None for p in procs)
    with pytest.raises(QueryProcessError, match="shutting down"):
        pool.handle(Request("GET", "/api/v1/query", {"query": ["temp"], "time": ["600"]}))


def test_at_least_one_process() -> None:
    with pytest.raises(ValueError, match="at least 1 process"):
        QueryPool(0, WorkerSettings("."), lambda: None)  # type: ignore[arg-type,return-value]
