"""The value file (metricslib/multiprocess/values.py): layout, round trips, instruments in it."""

from __future__ import annotations

import math
import mmap
import struct
from itertools import count
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metricslib.errors import MultiprocessError
from metricslib.instruments import Counter, Gauge, Histogram, Summary
from metricslib.multiprocess.merge import FamilyData, SampleData
from metricslib.multiprocess.values import (
    MAGIC,
    SeriesIdentity,
    ValueStore,
    decode,
    overlay,
    read_values,
)
from metricslib.registry import Registry

PAGE = mmap.ALLOCATIONGRANULARITY
_files = count()


def new_store(directory: Path, chunk_size: int = PAGE) -> ValueStore:
    return ValueStore(directory / f"w-{next(_files)}.mm", chunk_size=chunk_size)


def values(families: list[FamilyData]) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(s.labels.items())): s.value for f in families for s in f.samples}


# --- layout round trip --------------------------------------------------------------------

text = st.text(min_size=0, max_size=40)
finite = st.floats(allow_nan=False, allow_infinity=True, width=64)
identities = st.builds(
    lambda name, type_, doc, unit, labels, created, bounds: SeriesIdentity(
        name,
        type_,
        doc,
        unit,
        tuple(k for k, _ in labels),
        tuple(v for _, v in labels),
        created,
        (*sorted(set(bounds)), math.inf) if type_ == "histogram" else (),
    ),
    st.from_regex(r"[a-z_][a-z0-9_]{0,20}", fullmatch=True),
    st.sampled_from(["counter", "gauge", "histogram", "summary"]),
    text,
    text,
    st.lists(st.tuples(st.from_regex(r"[a-z]{1,8}", fullmatch=True), text), max_size=4),
    finite,
    st.lists(st.floats(allow_nan=False, allow_infinity=False), max_size=5),
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    series=st.lists(
        st.tuples(
            identities,
            st.lists(st.lists(st.floats(width=64), min_size=8, max_size=8), max_size=3),
            st.booleans(),
        ),
        max_size=25,
    )
)
def test_identities_and_cell_values_round_trip(tmp_path: Path, series: list) -> None:  # type: ignore[type-arg]
    # One page per chunk: 25 series with long identities span several chunks.
    store = new_store(tmp_path)
    written = []
    for identity, cells, retired in series:
        handle = store.declare(identity)
        width = identity.width()
        views = [handle.cell(values[:width]) for values in cells]
        if retired:
            handle.retire()
        written.append((identity, [v[:width] for v in cells], retired, views))
    found, names = decode(store.path.read_bytes())
    assert names == {identity.name for identity, *_ in written}
    assert [(f.identity, f.retired) for f in found] == [(i, r) for i, _, r, _ in written]
    for f, (_, cells, retired, views) in zip(found, written, strict=True):
        if not retired:
            # Bit for bit, NaN payloads and negative zero included.
            assert [struct.pack(f"{len(c)}d", *c) for c in f.cells] == [
                struct.pack(f"{len(c)}d", *c) for c in cells
            ]
            assert [v.tobytes() for v in views] == [  # type: ignore[attr-defined]
                struct.pack(f"{len(c)}d", *c) for c in f.cells
            ]
    store.detach()


def test_writes_through_a_cell_are_in_the_file_at_once(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    series = store.declare(SeriesIdentity("jobs", "counter", "Jobs.", "", ("k",), ("a",), 5.0))
    cell = series.cell([0.0])
    cell[0] += 2.5
    cell[0] += 1.0
    assert values(read_values(store.path.read_bytes())) == {
        ("jobs_total", (("k", "a"),)): 3.5,
        ("jobs_created", (("k", "a"),)): 5.0,
    }
    store.detach()


def test_a_record_larger_than_a_chunk_gets_a_chunk_of_its_own(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    small = store.declare(SeriesIdentity("a", "gauge", "", "", (), (), 0.0))
    small.cell([1.0, 2.0])
    big = store.declare(SeriesIdentity("b", "gauge", "x" * (3 * PAGE), "", (), (), 0.0))
    big.cell([3.0, 4.0])
    data = store.path.read_bytes()
    assert len(data) > 4 * PAGE
    assert values(read_values(data)) == {("a", ()): 1.0, ("b", ()): 3.0}
    store.detach()


def test_an_uncommitted_chunk_and_trailing_zeros_are_ignored(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    store.declare(SeriesIdentity("a", "counter", "", "", (), (), 0.0)).cell([7.0])
    data = store.path.read_bytes()
    store.detach()
    # A worker killed while adding a chunk leaves zeros (or half a header) behind.
    assert values(read_values(data + bytes(PAGE))) == values(read_values(data))
    assert values(read_values(data + MAGIC[:5])) == values(read_values(data))


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda d: b"garbage!" + d[8:], "not a metricslib value file"),
        (lambda d: d[:32] + struct.pack("=I", 9) + d[36:], "unknown record kind 9 at byte 32"),
        (lambda d: d[:48] + b"\x00" * 8 + d[56:], "bad series identity at byte 32"),
    ],
)
def test_a_corrupt_file_is_refused_with_where(tmp_path: Path, mangle, message: str) -> None:  # type: ignore[no-untyped-def]
    store = new_store(tmp_path)
    store.declare(SeriesIdentity("a", "counter", "", "", (), (), 0.0)).cell([1.0])
    data = store.path.read_bytes()
    store.detach()
    with pytest.raises(MultiprocessError, match=f"w-x.mm: {message}"):
        read_values(mangle(data), "w-x.mm")


def test_overlay_prefers_the_value_file_family_by_family() -> None:
    snap = [
        FamilyData("jobs", "counter", "", "", [SampleData("jobs_total", {}, 1.0)]),
        FamilyData("build", "info", "", "", [SampleData("build_info", {"v": "1"}, 1.0)]),
    ]
    exact = [
        FamilyData("jobs", "counter", "", "", [SampleData("jobs_total", {}, 9.0)]),
        FamilyData("new", "gauge", "", "", [SampleData("new", {}, 2.0)]),
    ]
    assert values(overlay(snap, exact)) == {
        ("jobs_total", ()): 9.0,
        ("build_info", (("v", "1"),)): 1.0,
        ("new", ()): 2.0,
    }


# --- instruments writing into a store -----------------------------------------------------


def collected(registry: Registry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(s.labels.items())): s.value
        for f in registry.collect()
        for s in f.samples
        if not s.name.endswith("_created")
    }


def from_file(store: ValueStore) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {k: v for k, v in values(read_values(store.path.read_bytes())).items() if not k[0].endswith("_created")}


def test_the_file_says_what_the_registry_says(tmp_path: Path) -> None:
    registry = Registry()
    jobs = Counter("jobs", "Jobs.", ["kind"], registry=registry)
    jobs.labels("early").inc(2)  # before the store: copied in
    lat = Histogram("lat_seconds", "Latency.", buckets=(0.1, 1.0), registry=registry)
    lat.observe(0.05)
    size = Summary("size_bytes", "Sizes.", ["route"], registry=registry)
    level = Gauge("level", "Level.", registry=registry, multiprocess_mode="max")
    level.set(4)
    store = new_store(tmp_path, chunk_size=PAGE)
    registry._value_store = store  # type: ignore[attr-defined]
    store.attach(c for c, _ in registry._collectors.values())
    late = Counter("late", "Registered after the store.", registry=registry)
    jobs.labels("early").inc(1)
    jobs.labels("new").inc(5)
    for v in (0.5, 3.0, 1e9):
        lat.observe(v)
    size.labels("/").observe(100)
    level.inc(2)
    late.inc()
    # Many series: several one-page chunks.
    for i in range(300):
        jobs.labels(f"k{i}").inc(i)
    expected = collected(registry)
    assert expected[("jobs_total", (("kind", "early"),))] == 3
    assert expected[("lat_seconds_count", ())] == 4
    assert from_file(store) == expected
    assert len(store.path.read_bytes()) > 4 * PAGE
    # The gauge cell records when it was written (mostrecent compares it).
    stamp = store.gauge_stamp("level", ())
    assert stamp is not None and stamp > 0
    store.detach()
    # Private values again, equal to what the file held.
    jobs.labels("early").inc(1)
    level.dec(1)
    assert collected(registry)[("jobs_total", (("kind", "early"),))] == 4
    assert collected(registry)[("level", ())] == 5


def test_remove_clear_and_reset_do_not_come_back_from_the_file(tmp_path: Path) -> None:
    registry = Registry()
    jobs = Counter("jobs", "Jobs.", ["kind"], registry=registry)
    total = Counter("total", "Total.", registry=registry)
    temp = Gauge("temp", "Temp.", ["room"], registry=registry)
    store = new_store(tmp_path)
    store.attach([jobs, total, temp])
    jobs.labels("a").inc(3)
    jobs.labels("b").inc(4)
    jobs.remove("a")
    total.inc(10)
    total.reset()
    total.inc(2)
    temp.labels("x").set(1)
    temp.clear()
    families = {f.name: f for f in read_values(store.path.read_bytes())}
    assert values([families["jobs"]]).get(("jobs_total", (("kind", "a"),))) is None
    assert values([families["jobs"]])[("jobs_total", (("kind", "b"),))] == 4
    assert values([families["total"]])[("total_total", ())] == 2
    assert families["temp"].samples == []  # known, but empty: hides an older snapshot's series
    assert families["temp"].type == "gauge"
    store.detach()


def test_each_thread_writes_its_own_cell(tmp_path: Path) -> None:
    import threading

    registry = Registry()
    jobs = Counter("jobs", "Jobs.", registry=registry)
    store = new_store(tmp_path)
    store.attach([jobs])

    all_started = threading.Barrier(4)

    def work() -> None:
        jobs.inc()
        all_started.wait()  # four live threads: four thread ids, four cells
        for _ in range(1999):
            jobs.inc()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    found, _ = decode(store.path.read_bytes())
    (series,) = found
    assert len(series.cells) == 4
    assert from_file(store) == {("jobs_total", ()): 8000.0}
    store.detach()


def test_a_full_disk_is_logged_once_and_counting_goes_on_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    registry = Registry()
    jobs = Counter("jobs", "Jobs.", ["kind"], registry=registry)
    store = new_store(tmp_path)
    store.attach([jobs])
    jobs.labels("a").inc()  # fits in the first chunk

    def full(fd: int, offset: int, length: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("os.posix_fallocate", full)
    for i in range(200):  # far more than one page holds
        jobs.labels(f"k{i}").inc(2)
    jobs.labels("a").inc()
    assert collected(registry)[("jobs_total", (("kind", "k199"),))] == 2
    assert collected(registry)[("jobs_total", (("kind", "a"),))] == 2
    errors = [r for r in caplog.records if "cannot extend value file" in r.getMessage()]
    assert len(errors) == 1 and "No space left" in errors[0].getMessage()
    # What did fit is still exact in the file.
    assert from_file(store)[("jobs_total", (("kind", "a"),))] == 2
    store.detach()
