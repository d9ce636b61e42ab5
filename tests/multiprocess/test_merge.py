"""Merging per-worker snapshots: the rules of metricslib/multiprocess/merge.py, without processes."""

from __future__ import annotations

import marshal
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metricslib.errors import MultiprocessError
from metricslib.multiprocess.merge import (
    FamilyData,
    SampleData,
    Snapshot,
    dumps_families,
    fold_into_archive,
    loads_families,
    merge,
    mode_for,
)


def counter(value: float, **labels: str) -> FamilyData:
    return FamilyData("req", "counter", "Requests.", "", [SampleData("req_total", labels, value)])


def gauge(name: str, value: float, changed: float = 0.0) -> FamilyData:
    return FamilyData(name, "gauge", "A gauge.", "", [SampleData(name, {}, value, changed=changed)])


def values(families: list[FamilyData]) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families for s in f.samples}


def test_counters_are_summed_over_live_workers_and_the_archive() -> None:
    snaps = [
        Snapshot(1, [counter(3, code="200")]),
        Snapshot(2, [counter(4, code="200"), counter(1, code="500")]),
    ]
    merged = merge(snaps, [counter(10, code="200")], {})
    assert values(merged) == {
        ("req_total", (("code", "200"),)): 17,
        ("req_total", (("code", "500"),)): 1,
    }


def test_histograms_sum_buckets_and_keep_bucket_order() -> None:
    def hist(b1: float, b2: float) -> FamilyData:
        return FamilyData(
            "lat",
            "histogram",
            "",
            "",
            [
                SampleData("lat_bucket", {"le": "0.1"}, b1),
                SampleData("lat_bucket", {"le": "+Inf"}, b2),
                SampleData("lat_count", {}, b2),
                SampleData("lat_sum", {}, b2 / 10),
                SampleData("lat_created", {}, 100.0 + b1),
            ],
        )

    merged = merge([Snapshot(1, [hist(1, 2)]), Snapshot(2, [hist(3, 5)])], [], {})
    (fam,) = merged
    assert [(s.name, s.labels.get("le"), s.value) for s in fam.samples] == [
        ("lat_bucket", "0.1", 4),
        ("lat_bucket", "+Inf", 7),
        ("lat_count", None, 7),
        ("lat_sum", None, pytest.approx(0.7)),
        ("lat_created", None, 101.0),  # the earliest worker's creation time, not a sum
    ]


def test_summary_quantiles_are_dropped_because_they_cannot_be_combined() -> None:
    fam = FamilyData(
        "s",
        "summary",
        "",
        "",
        [
            SampleData("s", {"quantile": "0.5"}, 1.0),
            SampleData("s_count", {}, 2),
            SampleData("s_sum", {}, 3),
        ],
    )
    merged = merge([Snapshot(1, [fam]), Snapshot(2, [fam])], [], {})
    assert values(merged) == {("s_count", ()): 4, ("s_sum", ()): 6}


def test_gauges_default_to_one_series_per_live_worker() -> None:
    merged = merge(
        [Snapshot(11, [gauge("g", 1)]), Snapshot(12, [gauge("g", 2)])], [gauge("g", 9)], {}
    )
    assert values(merged) == {("g", (("pid", "11"),)): 1, ("g", (("pid", "12"),)): 2}


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("sum", 1 + 5 + 9),
        ("livesum", 1 + 5),
        ("max", 9),
        ("livemax", 5),
        ("min", 1),
        ("livemin", 1),
        ("mostrecent", 5),  # changed at t=30, the newest
        ("livemostrecent", 5),
    ],
)
def test_gauge_modes(mode: str, expected: float) -> None:
    snaps = [Snapshot(1, [gauge("g", 1, changed=10)]), Snapshot(2, [gauge("g", 5, changed=30)])]
    merged = merge(snaps, [gauge("g", 9, changed=20)], {"g": mode})
    assert values(merged) == {("g", ()): expected}


def test_mostrecent_prefers_the_archive_when_it_changed_last() -> None:
    snaps = [Snapshot(1, [gauge("g", 1, changed=10)])]
    merged = merge(snaps, [gauge("g", 9, changed=20)], {"g": "mostrecent"})
    assert values(merged) == {("g", ()): 9}


def test_process_metrics_stay_per_worker_and_info_is_deduplicated() -> None:
    proc = FamilyData("process_open_fds", "gauge", "", "", [SampleData("process_open_fds", {}, 7)])
    info = FamilyData("build", "info", "", "", [SampleData("build_info", {"version": "1"}, 1)])
    merged = merge([Snapshot(1, [proc, info]), Snapshot(2, [proc, info])], [], {})
    assert values(merged) == {
        ("process_open_fds", (("pid", "1"),)): 7,
        ("process_open_fds", (("pid", "2"),)): 7,
        ("build_info", (("version", "1"),)): 1,
    }
    assert mode_for("process_cpu_seconds", "counter", {}) == "liveall"
    assert mode_for("process_cpu_seconds", "counter", {"process_cpu_seconds": "sum"}) == "sum"


def test_folding_a_dead_worker_keeps_counters_and_drops_live_gauges() -> None:
    dead = [counter(5), gauge("inflight", 3), gauge("peak", 8), gauge("per_worker", 2)]
    modes = {"inflight": "livesum", "peak": "max"}
    archive = fold_into_archive([counter(2), gauge("peak", 4)], dead, modes)
    assert values(archive) == {("req_total", ()): 7, ("peak", ()): 8}
    # The archive never carries per-worker or live series into a later merge.
    later = merge(
        [Snapshot(3, [counter(1), gauge("inflight", 1), gauge("per_worker", 6)])], archive, modes
    )
    assert values(later) == {
        ("req_total", ()): 8,
        ("inflight", ()): 1,
        ("peak", ()): 8,
        ("per_worker", (("pid", "3"),)): 6,
    }


def test_a_label_set_only_one_worker_has_still_appears() -> None:
    merged = merge(
        [Snapshot(1, [counter(1, code="200")]), Snapshot(2, [counter(2, code="404")])], [], {}
    )
    assert values(merged) == {
        ("req_total", (("code", "200"),)): 1,
        ("req_total", (("code", "404"),)): 2,
    }


floats = st.floats(allow_nan=True, allow_infinity=True)
label_text = st.text(min_size=0, max_size=8)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["counter", "gauge", "histogram"]),
            st.dictionaries(st.sampled_from("abc"), label_text, max_size=3),
            floats,
        ),
        max_size=6,
    )
)
def test_snapshot_round_trip_keeps_every_value(
    rows: list[tuple[str, dict[str, str], float]],
) -> None:
    families = [
        FamilyData(f"m{i}", t, 'doc \\ \n "x"', "", [SampleData(f"m{i}", labels, v, None, 1.5)])
        for i, (t, labels, v) in enumerate(rows)
    ]
    back, extra = loads_families(dumps_families(families, pid=42), "test")
    assert extra["pid"] == 42
    assert [(f.name, f.type, f.documentation) for f in back] == [
        (f.name, f.type, f.documentation) for f in families
    ]
    for got, want in zip(back, families, strict=True):
        (g,), (w,) = got.samples, want.samples
        assert g.labels == w.labels and g.changed == w.changed
        assert (math.isnan(g.value) and math.isnan(w.value)) or g.value == w.value


@pytest.mark.parametrize(
    "data",
    [b'{"families": [{"n": 1}]}', marshal.dumps({"families": [{"n": 1}]}), b"", marshal.dumps(3)],
)
def test_unreadable_snapshot_names_its_source(data: bytes) -> None:
    with pytest.raises(MultiprocessError, match=r"w-1-2\.snap: not a metricslib snapshot"):
        loads_families(data, "w-1-2.snap")


def test_values_of_foreign_types_are_encoded_as_plain_floats_and_strings() -> None:
    class Label(str):
        pass

    class Number(float):
        pass

    fam = FamilyData("g", "gauge", "", "", [SampleData("g", {Label("k"): Label("v")}, Number(2.5))])
    (back,), _ = loads_families(dumps_families([fam]))
    (sample,) = back.samples
    assert (sample.labels, sample.value) == ({"k": "v"}, 2.5)
    assert type(sample.value) is float and type(next(iter(sample.labels))) is str


def test_series_in_a_different_order_or_extra_series_still_sum_by_identity() -> None:
    def fam(*rows: tuple[str, float]) -> FamilyData:
        return FamilyData(
            "req", "counter", "", "", [SampleData("req_total", {"code": c}, v) for c, v in rows]
        )

    merged = merge(
        [
            Snapshot(1, [fam(("200", 1), ("500", 2))]),
            Snapshot(2, [fam(("200", 10), ("404", 5), ("500", 20))]),
            Snapshot(3, [fam(("500", 100), ("200", 100))]),
        ],
        [],
        {},
    )
    assert [(s.labels["code"], s.value) for s in merged[0].samples] == [
        ("200", 111),
        ("500", 122),
        ("404", 5),
    ]
