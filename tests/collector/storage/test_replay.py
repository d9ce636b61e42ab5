"""Replaying the write-ahead log in batches gives what replaying it record by record gives."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metricslib.collector.model import Labels, make_labels
from metricslib.collector.storage import replay
from metricslib.collector.storage.head import Head
from metricslib.collector.storage.memseries import NO_TIME, MemSeries
from metricslib.collector.storage.replay import ReplayStatus, replay_wal
from metricslib.collector.storage.wal import WAL_DIR, WriteAheadLog

refs = st.integers(1, 9)
times = st.integers(0, 12)
ops = st.lists(
    st.one_of(
        st.tuples(st.just("series"), refs),
        st.tuples(st.just("samples"), st.lists(st.tuples(refs, times), min_size=1, max_size=6)),
        st.tuples(st.just("column"), st.tuples(st.lists(refs, min_size=1, max_size=6), times)),
    ),
    max_size=25,
)


def _labels(ref: int) -> Labels:
    # Refs 1 and 5 (2 and 6, ...) share labels: a series record can name labels
    # another ref already has, which replay must treat as that series.
    return make_labels({"__name__": "m", "k": str(ref % 4)})


def _head(existing: dict[int, int]) -> Head:
    """A head as SQLite left it: series ``ref`` with its newest sample at ``last_t``."""
    head = Head(7_200_000, where="test")
    for ref, last_t in existing.items():
        if _labels(ref) in head.by_labels:
            continue
        s = MemSeries(ref, _labels(ref))
        s.last_t = last_t
        head.register(s)
    return head


def _one_by_one(head: Head, records: list[tuple[str, object]]) -> tuple[int, int]:
    """The reference: each record in log order, each sample checked against its series' newest."""
    alias: dict[int, MemSeries] = {}
    samples = unknown = 0
    for kind, body in records:
        if kind == "series":
            assert isinstance(body, int)
            if body in head.by_id:
                continue
            same = head.by_labels.get(_labels(body))
            if same is not None:
                alias[body] = same
                continue
            head.register(MemSeries(body, _labels(body)))
            continue
        assert isinstance(body, list)
        for ref, t, v in body:
            s = head.by_id.get(ref) or alias.get(ref)
            if s is None:
                unknown += 1
                continue
            if t <= s.last_t:
                continue
            s.ts.append(t)
            s.vs.append(v)
            s.last_t, s.last_v = t, v
            head.dirty.add(s)
            head.max_t = max(head.max_t, t)
            samples += 1
    return samples, unknown


@pytest.mark.parametrize("batch", [1, 3, 10**6])
@given(existing=st.dictionaries(st.integers(1, 4), st.integers(-1, 6), max_size=3), log=ops)
def test_batched_replay_equals_record_by_record(
        tmp_path_factory: pytest.TempPathFactory, batch: int, existing: dict[int, int],
        log: list[tuple[str, object]]) -> None:
    d = tmp_path_factory.mktemp("replay")
    wal = WriteAheadLog(d)
    records: list[tuple[str, object]] = []
    v = 0.0
    for kind, body in log:
        if kind == "series":
            assert isinstance(body, int)
            wal.log_series(body, _labels(body))
            wal.log_samples([], [], [])  # a series record goes out with the next commit
            records.append((kind, body))
            continue
        if kind == "samples":
            assert isinstance(body, list)
            pairs = body
        else:
            assert isinstance(body, tuple)
            pairs = [(ref, body[1]) for ref in body[0]]
        samples = [(ref, t, v + i) for i, (ref, t) in enumerate(pairs)]
        v += len(samples)
        wal.log_samples([s[0] for s in samples], [s[1] for s in samples], [s[2] for s in samples])
        records.append(("samples", samples))
    wal.close()
    want = _head(existing)
    want_samples, want_unknown = _one_by_one(want, records)
    got = _head(existing)
    status = ReplayStatus()
    saved = replay._BATCH_SAMPLES
    replay._BATCH_SAMPLES = batch
    try:
        replay_wal(got, d / WAL_DIR, status)
    finally:
        replay._BATCH_SAMPLES = saved
    assert (status.samples, status.unknown_series_samples) == (want_samples, want_unknown)
    assert sorted(got.by_id) == sorted(want.by_id)
    for ref, s in want.by_id.items():
        g = got.by_id[ref]
        assert (list(g.ts), list(g.vs), g.last_t, g.last_v) == (list(s.ts), list(s.vs), s.last_t, s.last_v)
    assert {s.sid for s in got.dirty} == {s.sid for s in want.dirty}
    assert got.max_t == want.max_t or (want.max_t == NO_TIME and not want.dirty)
