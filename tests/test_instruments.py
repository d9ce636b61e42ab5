"""Instruments: behaviour, label handling, errors, thread safety, timing helpers."""

from __future__ import annotations

import asyncio
import math
import subprocess
import sys
import threading
import time

import pytest

from metricslib import Counter, Enum, Gauge, Histogram, Info, Registry, Summary
from metricslib.errors import (
    DuplicateMetricError,
    InvalidBucketsError,
    InvalidLabelsError,
    InvalidMetricError,
    InvalidNameError,
    InvalidValueError,
)
from metricslib.instruments import _timing as timing_module
from metricslib.instruments import summary as summary_module


@pytest.fixture
def registry() -> Registry:
    return Registry()


def value(registry: Registry, name: str, labels: dict[str, str] | None = None) -> float | None:
    return registry.get_sample_value(name, labels)


# -- Counter ------------------------------------------------------------------------------


def test_counter_inc_and_total_suffix(registry: Registry) -> None:
    c = Counter("jobs", "Jobs done", registry=registry)
    c.inc()
    c.inc(2.5)
    assert value(registry, "jobs_total") == 3.5
    assert c.get() == 3.5


def test_counter_name_given_with_total_is_the_same_family(registry: Registry) -> None:
    c = Counter("jobs_total", "Jobs done", registry=registry)
    c.inc()
    assert c.name == "jobs"
    assert value(registry, "jobs_total") == 1.0
    with pytest.raises(DuplicateMetricError, match="jobs"):
        Counter("jobs", "again", registry=registry)


def test_counter_rejects_negative_increment_naming_it(registry: Registry) -> None:
    c = Counter("jobs", "Jobs", registry=registry)
    with pytest.raises(InvalidValueError, match=r"'jobs'.*-1"):
        c.inc(-1)
    assert c.get() == 0.0


def test_counter_reset_and_count_exceptions(registry: Registry) -> None:
    c = Counter("errors", "Errors", registry=registry)
    with pytest.raises(KeyError), c.count_exceptions(KeyError):
        raise KeyError("x")
    with pytest.raises(ZeroDivisionError), c.count_exceptions(KeyError):
        _ = 1 / 0  # not counted: wrong type

    @c.count_exceptions()
    def fails() -> None:
        raise RuntimeError

    with pytest.raises(RuntimeError):
        fails()
    assert c.get() == 2.0
    c.reset()
    assert c.get() == 0.0


def test_counter_count_exceptions_on_async_function(registry: Registry) -> None:
    c = Counter("errors", "Errors", registry=registry)

    @c.count_exceptions(ValueError)
    async def fails() -> None:
        await asyncio.sleep(0)
        raise ValueError

    with pytest.raises(ValueError):
        asyncio.run(fails())
    assert c.get() == 1.0


def test_counter_exemplar_is_kept(registry: Registry) -> None:
    c = Counter("requests", "Requests", registry=registry)
    c.inc(2, exemplar={"trace_id": "abc"})
    (family,) = list(registry.collect())
    sample = family.samples[0]
    assert sample.exemplar is not None
    assert sample.exemplar.labels == {"trace_id": "abc"}
    assert sample.exemplar.value == 2


def test_exemplar_too_long_is_rejected(registry: Registry) -> None:
    c = Counter("requests", "Requests", registry=registry)
    with pytest.raises(InvalidLabelsError, match="128"):
        c.inc(exemplar={"trace_id": "x" * 130})


# -- labels -------------------------------------------------------------------------------


def test_labels_positional_keyword_and_cached(registry: Registry) -> None:
    c = Counter("http_requests", "Requests", ["method", "code"], registry=registry)
    child = c.labels("GET", "200")
    assert c.labels("GET", "200") is child
    assert c.labels(method="GET", code="200") is child
    assert c.labels("GET", 200) is child  # values become strings
    child.inc()
    c.labels(code="500", method="POST").inc(3)
    assert value(registry, "http_requests_total", {"method": "GET", "code": "200"}) == 1.0
    assert value(registry, "http_requests_total", {"method": "POST", "code": "500"}) == 3.0


def test_labels_wrong_count_names_metric_and_values(registry: Registry) -> None:
    c = Counter("http_requests", "Requests", ["method", "code"], registry=registry)
    with pytest.raises(InvalidLabelsError, match=r"'http_requests' expects 2 .*\('GET',\)"):
        c.labels("GET")
    with pytest.raises(InvalidLabelsError, match="'verb'"):
        c.labels(verb="GET", code="200")
    with pytest.raises(InvalidLabelsError, match=r"missing .*'code'"):
        c.labels(method="GET")
    with pytest.raises(InvalidLabelsError, match="not both"):
        c.labels("GET", code="200")


def test_labelled_parent_refuses_direct_use(registry: Registry) -> None:
    c = Counter("http_requests", "Requests", ["method"], registry=registry)
    with pytest.raises(InvalidLabelsError, match=r"labels\(\.\.\.\)\.inc\(\)"):
        c.inc()
    g = Gauge("temp", "T", ["room"], registry=registry)
    with pytest.raises(InvalidLabelsError):
        g.set(1)
    h = Histogram("lat", "L", ["route"], registry=registry)
    with pytest.raises(InvalidLabelsError):
        h.observe(1)


def test_unlabelled_metric_refuses_labels(registry: Registry) -> None:
    c = Counter("jobs", "Jobs", registry=registry)
    with pytest.raises(InvalidLabelsError, match="has no labels"):
        c.labels()
    with pytest.raises(InvalidLabelsError):
        c.clear()


def test_remove_and_clear(registry: Registry) -> None:
    c = Counter("http_requests", "Requests", ["method"], registry=registry)
    c.labels("GET").inc()
    c.labels("POST").inc()
    c.remove("GET")
    assert value(registry, "http_requests_total", {"method": "GET"}) is None
    assert value(registry, "http_requests_total", {"method": "POST"}) == 1.0
    c.remove(method="PUT")  # unknown values: nothing to do
    c.clear()
    assert next(iter(registry.collect())).samples == []
    c.labels("GET").inc()
    assert value(registry, "http_requests_total", {"method": "GET"}) == 1.0


@pytest.mark.parametrize(
    ("kwargs", "error", "needle"),
    [
        ({"name": "1bad"}, InvalidNameError, "'1bad'"),
        ({"name": "with-dash"}, InvalidNameError, "'with-dash'"),
        ({"name": ""}, InvalidNameError, "empty"),
        ({"labelnames": ["ok", "bad-label"]}, InvalidNameError, "'bad-label'"),
        ({"labelnames": ["__reserved"]}, InvalidLabelsError, "'__reserved'"),
        ({"labelnames": ["a", "a"]}, InvalidLabelsError, "twice"),
        ({"labelnames": "method"}, InvalidLabelsError, "'method'"),
    ],
)
def test_invalid_definitions_raise_and_register_nothing(
    registry: Registry, kwargs: dict[str, object], error: type[Exception], needle: str
) -> None:
    args: dict[str, object] = {"name": "good", "documentation": "doc", "registry": registry}
    args.update(kwargs)
    with pytest.raises(error, match=needle):
        Counter(**args)  # type: ignore[arg-type]
    assert list(registry.collect()) == []
    Counter("good", "doc", registry=registry)  # the name is still free


def test_errors_are_value_errors() -> None:
    with pytest.raises(ValueError):
        Counter("bad name", "doc", registry=None)


def test_reserved_labels_per_type(registry: Registry) -> None:
    with pytest.raises(InvalidLabelsError, match="'le'"):
        Histogram("lat", "L", ["le"], registry=registry)
    with pytest.raises(InvalidLabelsError, match="'quantile'"):
        Summary("lat", "L", ["quantile"], registry=registry)
    with pytest.raises(InvalidLabelsError, match="'state'"):
        Enum("state", "S", ["state"], states=["a"], registry=registry)
    assert list(registry.collect()) == []


def test_namespace_subsystem_unit(registry: Registry) -> None:
    h = Histogram("duration", "D", namespace="app", subsystem="http", unit="seconds", registry=registry)
    assert h.name == "app_http_duration_seconds"
    c = Counter("io_bytes_total", "IO", unit="bytes", registry=registry)
    assert c.name == "io_bytes"
    with pytest.raises(InvalidNameError, match="unit"):
        Info("build", "B", unit="seconds", registry=registry)


# -- Gauge --------------------------------------------------------------------------------


def test_gauge_operations(registry: Registry) -> None:
    g = Gauge("in_flight", "In flight", registry=registry)
    g.inc()
    g.inc(4)
    g.dec(2)
    assert g.get() == 3.0
    g.set(-7.5)
    assert value(registry, "in_flight") == -7.5
    before = time.time()
    g.set_to_current_time()
    assert g.get() >= before


def test_gauge_set_function_and_track_inprogress(registry: Registry) -> None:
    g = Gauge("queue", "Queue", registry=registry)
    items = [1, 2, 3]
    g.set_function(lambda: len(items))
    assert value(registry, "queue") == 3.0
    busy = Gauge("busy", "Busy", registry=registry)
    with busy.track_inprogress():
        assert busy.get() == 1.0
    assert busy.get() == 0.0

    @busy.track_inprogress()
    async def work() -> float:
        return busy.get()

    assert asyncio.run(work()) == 1.0
    assert busy.get() == 0.0


def test_gauge_time_and_multiprocess_mode(registry: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    now = [10.0]
    monkeypatch.setattr(timing_module, "clock", lambda: now[0])
    g = Gauge("last_run", "Last run", registry=registry, multiprocess_mode="max")
    assert g.multiprocess_mode == "max"
    with g.time():
        now[0] += 4.0
    assert g.get() == 4.0
    with pytest.raises(InvalidMetricError, match="'bogus'"):
        Gauge("other", "O", registry=registry, multiprocess_mode="bogus")


# -- Histogram ----------------------------------------------------------------------------


def test_histogram_buckets_cumulative(registry: Registry) -> None:
    h = Histogram("lat_seconds", "Latency", buckets=(0.1, 1, 10), registry=registry)
    for v in (0.05, 0.1, 0.5, 5, 50, float("nan")):
        h.observe(v)
    assert value(registry, "lat_seconds_bucket", {"le": "0.1"}) == 2.0
    assert value(registry, "lat_seconds_bucket", {"le": "1.0"}) == 3.0
    assert value(registry, "lat_seconds_bucket", {"le": "10.0"}) == 4.0
    assert value(registry, "lat_seconds_bucket", {"le": "+Inf"}) == 6.0  # NaN counts under +Inf
    assert value(registry, "lat_seconds_count") == 6.0
    assert math.isnan(value(registry, "lat_seconds_sum") or 0.0)


def test_histogram_default_buckets_match_prometheus_client(registry: Registry) -> None:
    import prometheus_client

    assert tuple(Histogram.DEFAULT_BUCKETS) == tuple(prometheus_client.Histogram.DEFAULT_BUCKETS)


@pytest.mark.parametrize(
    ("buckets", "needle"),
    [((1, 0.5), "not sorted"), ((1, 1, 2), "duplicated"), ((), "at least one"), (("x",), "numbers")],
)
def test_bad_buckets(registry: Registry, buckets: tuple[object, ...], needle: str) -> None:
    with pytest.raises(InvalidBucketsError, match=needle):
        Histogram("lat", "L", buckets=buckets, registry=registry)  # type: ignore[arg-type]
    assert list(registry.collect()) == []


def test_histogram_exemplar_on_bucket(registry: Registry) -> None:
    h = Histogram("lat", "L", buckets=(1, 2), registry=registry)
    h.observe(1.5, exemplar={"trace_id": "t1"})
    (family,) = list(registry.collect())
    with_exemplar = [s for s in family.samples if s.exemplar is not None]
    assert [(s.labels["le"], s.exemplar.labels) for s in with_exemplar if s.exemplar] == [
        ("2.0", {"trace_id": "t1"})
    ]


def test_histogram_time_sync_and_async(registry: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr(timing_module, "clock", lambda: now[0])
    h = Histogram("work_seconds", "Work", buckets=(1, 5, 10), registry=registry)

    @h.time()
    def sync_work() -> int:
        now[0] += 0.5
        return 1

    @h.time()
    async def async_work() -> int:
        await asyncio.sleep(0)
        now[0] += 7.0  # happens after the first await: only a timer spanning the await sees it
        return 2

    assert sync_work() == 1
    assert asyncio.run(async_work()) == 2
    with h.time():
        now[0] += 2.0
    assert value(registry, "work_seconds_count") == 3.0
    assert value(registry, "work_seconds_sum") == 9.5
    assert value(registry, "work_seconds_bucket", {"le": "1.0"}) == 1.0
    assert value(registry, "work_seconds_bucket", {"le": "5.0"}) == 2.0
    assert value(registry, "work_seconds_bucket", {"le": "10.0"}) == 3.0
    assert async_work.__name__ == "async_work"
    assert asyncio.iscoroutinefunction(async_work)


def test_summary_time_on_async_function_and_exception(registry: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    now = [0.0]
    monkeypatch.setattr(timing_module, "clock", lambda: now[0])
    s = Summary("call_seconds", "Calls", registry=registry)

    @s.time()
    async def fails() -> None:
        await asyncio.sleep(0)
        now[0] += 3.0
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        asyncio.run(fails())
    assert value(registry, "call_seconds_count") == 1.0
    assert value(registry, "call_seconds_sum") == 3.0


# -- Summary ------------------------------------------------------------------------------


def test_summary_without_quantiles_has_count_and_sum_only(registry: Registry) -> None:
    s = Summary("size_bytes", "Size", registry=registry)
    s.observe(10)
    s.observe(20)
    (family,) = list(registry.collect())
    assert [x.name for x in family.samples] == ["size_bytes_count", "size_bytes_sum", "size_bytes_created"]
    assert value(registry, "size_bytes_count") == 2.0
    assert value(registry, "size_bytes_sum") == 30.0


def test_summary_quantiles(registry: Registry) -> None:
    s = Summary("lat", "L", quantiles=(0.5, 0.9, 0.99), registry=registry)
    for v in range(1, 101):
        s.observe(v)
    assert value(registry, "lat", {"quantile": "0.5"}) == 50.0
    assert value(registry, "lat", {"quantile": "0.9"}) == 90.0
    assert value(registry, "lat", {"quantile": "0.99"}) == 99.0
    assert value(registry, "lat_count") == 100.0


def test_summary_quantiles_slide_out_of_the_window(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1000.0]
    monkeypatch.setattr(summary_module, "clock", lambda: now[0])
    s = Summary("lat", "L", quantiles=(0.5,), max_age_seconds=60, age_buckets=3, registry=registry)
    for _ in range(10):
        s.observe(100)
    now[0] += 30
    s.observe(1)
    assert value(registry, "lat", {"quantile": "0.5"}) == 100.0
    now[0] += 45  # the 100s are now older than 60 s
    assert value(registry, "lat", {"quantile": "0.5"}) == 1.0
    now[0] += 600
    assert math.isnan(value(registry, "lat", {"quantile": "0.5"}) or 0.0)
    assert value(registry, "lat_count") == 11.0  # count and sum never slide


def test_summary_bad_quantiles(registry: Registry) -> None:
    with pytest.raises(InvalidMetricError, match=r"1\.5"):
        Summary("lat", "L", quantiles=(0.5, 1.5), registry=registry)
    with pytest.raises(InvalidMetricError, match="twice"):
        Summary("lat", "L", quantiles=(0.5, 0.5), registry=registry)


# -- Info and Enum ------------------------------------------------------------------------


def test_info(registry: Registry) -> None:
    i = Info("build", "Build", registry=registry)
    i.info({"version": "1.2", "commit": "abc"})
    assert value(registry, "build_info", {"version": "1.2", "commit": "abc"}) == 1.0
    labelled = Info("component", "C", ["name"], registry=registry)
    with pytest.raises(InvalidLabelsError, match="'name'"):
        labelled.labels("db").info({"name": "x"})


def test_enum(registry: Registry) -> None:
    e = Enum("task_state", "State", states=["starting", "running", "stopped"], registry=registry)
    assert value(registry, "task_state", {"task_state": "starting"}) == 1.0
    e.state("running")
    assert value(registry, "task_state", {"task_state": "starting"}) == 0.0
    assert value(registry, "task_state", {"task_state": "running"}) == 1.0
    with pytest.raises(InvalidValueError, match="'paused'"):
        e.state("paused")
    with pytest.raises(InvalidMetricError, match="states"):
        Enum("other", "O", registry=registry)


# -- thread safety ------------------------------------------------------------------------


def _hammer(work: object, threads: int = 8) -> None:
    barrier = threading.Barrier(threads)

    def run() -> None:
        barrier.wait()
        work()  # type: ignore[operator]

    pool = [threading.Thread(target=run) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()


def test_counter_8_threads_100k_incs_lose_nothing(registry: Registry) -> None:
    child = Counter("hits", "Hits", ["path"], registry=registry).labels("/")

    def work() -> None:
        inc = child.inc
        for _ in range(100_000):
            inc()

    _hammer(work)
    assert child.get() == 800_000.0


def test_histogram_8_threads_100k_observes_lose_nothing(registry: Registry) -> None:
    h = Histogram("lat", "L", buckets=(0.5, 1), registry=registry)

    def work() -> None:
        observe = h.observe
        for i in range(100_000):
            observe(0.25 if i % 2 else 0.75)

    _hammer(work)
    assert value(registry, "lat_count") == 800_000.0
    assert value(registry, "lat_bucket", {"le": "0.5"}) == 400_000.0
    assert value(registry, "lat_sum") == 400_000.0


def test_gauge_inc_dec_from_threads_is_exact(registry: Registry) -> None:
    g = Gauge("level", "L", registry=registry)

    def work() -> None:
        for _ in range(20_000):
            g.inc(2)
            g.dec()

    _hammer(work)
    assert g.get() == 8 * 20_000


def test_labels_from_threads_create_one_child(registry: Registry) -> None:
    c = Counter("hits", "Hits", ["path"], registry=registry)

    def work() -> None:
        for i in range(2_000):
            c.labels(f"/p{i % 50}").inc()

    _hammer(work)
    assert len(c._children) == 50
    assert sum(child.get() for child in c._children.values()) == 16_000.0


def test_counts_of_finished_threads_are_kept_and_cells_reused(registry: Registry) -> None:
    c = Counter("hits", "Hits", registry=registry)
    idents: set[int] = set()

    def work() -> None:
        idents.add(threading.get_ident())
        c.inc()

    for _ in range(50):
        t = threading.Thread(target=work)
        t.start()
        t.join()
    assert c.get() == 50.0
    # One cell per distinct thread id: a new thread reuses the cell a finished one left.
    child = c._default_child
    assert child is not None
    assert len(child._cell_list) == len(idents)


def test_reset_then_inc_from_the_same_thread_counts(registry: Registry) -> None:
    c = Counter("hits", "Hits", registry=registry)
    h = Histogram("lat", "L", buckets=(1,), registry=registry)
    c.inc(5)
    h.observe(0.5)
    c.reset()
    c.inc()
    assert c.get() == 1.0
    assert value(registry, "lat_count") == 1.0


def test_summary_window_memory_is_bounded(registry: Registry) -> None:
    s = Summary("lat", "L", quantiles=(0.5,), age_buckets=1, registry=registry)
    for v in range(3 * summary_module.SLICE_CAPACITY):
        s.observe(v % 100)
    window = s._default_child._window  # type: ignore[union-attr]
    assert window is not None
    assert sum(len(values) for values in window._slices) == summary_module.SLICE_CAPACITY
    median = value(registry, "lat", {"quantile": "0.5"})
    assert median is not None and 40 <= median <= 60  # a uniform sample keeps the median near 50
    assert value(registry, "lat_count") == 3 * summary_module.SLICE_CAPACITY


@pytest.mark.parametrize(
    ("lock", "use"),
    [
        ("_base.CELL_LOCK", "c.inc()"),  # first increment in this process claims a cell
        ("g._default_child._lock", "g.inc()"),
        ("labelled._lock", "labelled.labels('new').inc()"),
        ("registry._lock", "Counter('more', 'More', registry=registry)"),
    ],
)
def test_fork_while_another_thread_holds_a_lock_does_not_deadlock_the_child(lock: str, use: str) -> None:
    # Pre-fork servers fork whatever state the master has, including locks held by its other threads.
    script = (
        "import os, signal, sys, threading\n"
        "from metricslib import Counter, Gauge, Registry\n"
        "from metricslib.instruments import _base\n"
        "registry = Registry()\n"
        "c = Counter('jobs', 'Jobs', registry=registry)\n"
        "g = Gauge('busy', 'Busy', registry=registry)\n"
        "labelled = Counter('hits', 'Hits', ['path'], registry=registry)\n"
        "held, release = threading.Event(), threading.Event()\n"
        "def hold():\n"
        f"    with {lock}:\n"
        "        held.set(); release.wait()\n"
        "t = threading.Thread(target=hold); t.start(); held.wait()\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    signal.alarm(10)  # a deadlocked child must not outlive the test\n"
        f"    {use}\n"
        "    os._exit(0)\n"
        "release.set(); t.join()\n"
        "_, status = os.waitpid(pid, 0)\n"
        "sys.exit(os.waitstatus_to_exitcode(status))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
