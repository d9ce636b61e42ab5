from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from metricslib.collector.model import STALE_NAN
from metricslib.collector.storage.memseries import MemSeries, merge_samples, same_value


def test_same_value_compares_bits() -> None:
    assert same_value(1.0, 1.0)
    assert same_value(float("nan"), float("nan"))
    assert not same_value(STALE_NAN, float("nan"))
    assert not same_value(0.0, 1.0)


def test_merge_keeps_the_earlier_part_at_equal_timestamps() -> None:
    a = (np.array([1, 3, 5], dtype=np.int64), np.array([10.0, 30.0, 50.0]))
    b = (np.array([2, 3, 6], dtype=np.int64), np.array([-2.0, -3.0, -6.0]))
    ts, vs = merge_samples([a, b])
    assert ts.tolist() == [1, 2, 3, 5, 6]
    assert vs.tolist() == [10.0, -2.0, 30.0, 50.0, -6.0]
    assert merge_samples([])[0].size == 0


def test_chunk_bookkeeping_and_range_lookup() -> None:
    s = MemSeries(1, (("__name__", "m"),))
    assert s.is_empty() and s.first_t() is None
    s.add_chunk(20, 200, 299, 10)
    s.add_chunk(10, 100, 199, 10)
    s.add_chunk(30, 300, 399, 10)
    assert s.c_ids.tolist() == [10, 20, 30]
    assert s.chunks_in(150, 250) == [10, 20]
    assert s.chunks_in(400, 500) == []
    s.drop_chunks({20})
    assert s.c_ids.tolist() == [10, 30] and s.sample_count() == 20
    s.ts.extend([400, 410])
    s.vs.extend([1.0, 2.0])
    s.last_t = 410
    ids, first_mint, last_maxt, t, v = s.read_plan(350, 1000)
    assert (ids, first_mint, last_maxt) == ([30], 300, 399)
    assert t.tolist() == [400, 410] and v.tolist() == [1.0, 2.0]
    ids, _, _, t, v = s.read_plan(405, 1000)
    assert ids == [] and t.tolist() == [410] and v.tolist() == [2.0]
    assert s.read_plan(250, 260) is None  # the chunk that covered it was dropped
    assert s.read_plan(1000, 2000) is None
    assert s.read_plan(405, 409) is None  # between head samples, past the last chunk
    assert s.first_t() == 100


def test_new_series_share_nothing_once_they_get_chunks() -> None:
    a = MemSeries(1, (("__name__", "a"),))
    b = MemSeries(2, (("__name__", "b"),))
    a.add_chunk(7, 0, 10, 3)
    assert a.c_ids.tolist() == [7]
    assert len(b.c_ids) == 0 and b.chunks_in(0, 100) == []


_names = st.sampled_from(["__name__", "a", "b", "code", "instance", "le"])
_values = st.text(alphabet=st.sampled_from(["\x00", "\x01", "\x02", "a", "b", "{", "\u00e9"]), max_size=4)


@given(st.lists(st.dictionaries(_names, _values, max_size=4), min_size=2, max_size=8))
def test_sort_keys_order_series_as_their_label_tuples(label_dicts: list[dict[str, str]]) -> None:
    series = [MemSeries(i, tuple(sorted(d.items()))) for i, d in enumerate(label_dicts)]
    by_key = sorted(series, key=lambda s: (s.sort_key(), s.sid))
    by_labels = sorted(series, key=lambda s: (s.labels, s.sid))
    assert [s.labels for s in by_key] == [s.labels for s in by_labels]
