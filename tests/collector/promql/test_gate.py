"""--query.max-concurrency: at most so many queries run; the rest wait in line
within their timeout, and fail as Prometheus's do when it runs out."""

from __future__ import annotations

import threading
import time

import pytest

from metricslib.collector.promql.engine import Engine
from metricslib.collector.promql.gate import DEFAULT_MAX_CONCURRENCY, QueryGate
from metricslib.errors import QueryTimeoutError
from tests.collector.promql.memstore import MemoryQuerier


def test_default_is_prometheus_s() -> None:
    assert DEFAULT_MAX_CONCURRENCY == QueryGate().max_concurrency == 20
    with pytest.raises(ValueError, match="at least 1"):
        QueryGate(0)


def test_no_more_than_the_limit_run_at_once() -> None:
    gate = QueryGate(2)
    release = threading.Event()
    inside: list[int] = []
    peak = [0]
    lock = threading.Lock()

    def query() -> None:
        with gate.slot(time.monotonic() + 30):
            with lock:
                inside.append(1)
                peak[0] = max(peak[0], len(inside))
            release.wait(30)
            with lock:
                inside.pop()

    threads = [threading.Thread(target=query) for _ in range(5)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 10
    while (gate.running, gate.waiting) != (2, 3) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert (gate.running, gate.waiting) == (2, 3)
    release.set()
    for t in threads:
        t.join(10)
    assert peak[0] == 2 and (gate.running, gate.waiting) == (0, 0)


def test_waiting_counts_against_the_timeout() -> None:
    gate = QueryGate(1)
    with gate.slot(time.monotonic() + 30):
        with pytest.raises(QueryTimeoutError, match=r"^query timed out in query queue$"), gate.slot(time.monotonic()):
            pass  # pragma: no cover - never entered
        assert gate.waiting == 0
    with gate.slot(time.monotonic()):  # a free slot needs no waiting
        assert gate.running == 1


def test_engine_takes_a_slot_for_each_query() -> None:
    gate = QueryGate(1)
    engine = Engine(MemoryQuerier(), gate=gate, timeout_s=0.0)
    with gate.slot(time.monotonic() + 30):
        with pytest.raises(QueryTimeoutError, match="query queue"):
            engine.instant_query("vector(1)", 0)
        with pytest.raises(QueryTimeoutError, match="query queue"):
            engine.range_query("vector(1)", 0, 1000, 1000)
    assert Engine(MemoryQuerier(), gate=gate).instant_query("vector(1)", 0).result_type == "vector"


def test_gate_reports_prometheus_s_engine_gauges() -> None:
    from metricslib.exposition import generate_latest
    from metricslib.registry import Registry

    gate = QueryGate(3)
    registry = Registry()
    registry.register(gate)
    with gate.slot(time.monotonic() + 30):
        text = generate_latest(registry).decode()
    assert "prometheus_engine_queries 1.0" in text
    assert "prometheus_engine_queries_concurrent_max 3.0" in text
