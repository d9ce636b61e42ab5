from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from metricslib.collector.model import Labels, Matcher, make_labels
from metricslib.collector.storage.head import Head
from metricslib.collector.storage.index import PostingsIndex
from metricslib.collector.storage.memseries import MemSeries
from metricslib.collector.storage.selection import SelectionCache


def _head() -> Head:
    return Head(7_200_000, where="memory")


def _add(head: Head, **labels: str) -> MemSeries:
    return head.by_id[head.series_ref(make_labels(labels))]


def _expected(head: Head, matchers: list[Matcher]) -> list[Labels]:
    return sorted(head.by_id[sid].labels for sid in head.index.select(matchers))


def _got(head: Head, matchers: list[Matcher]) -> list[Labels]:
    sel = head.selections.get(head.index, head.by_id, matchers)
    assert sel.labels == [s.labels for s in sel.series]
    return list(sel.labels)


def test_repeated_select_is_served_from_the_cache_sorted_by_labels() -> None:
    head = _head()
    for job in ("web", "api", "db"):
        _add(head, __name__="up", job=job)
    m = [Matcher("__name__", "=", "up")]
    first = _got(head, m)
    assert [dict(lbl)["job"] for lbl in first] == ["api", "db", "web"]
    assert _got(head, m) == first
    assert (head.selections.hits, head.selections.misses) == (1, 1)


def test_added_and_removed_series_show_up_at_once() -> None:
    head = _head()
    _add(head, __name__="up", job="b")
    m = [Matcher("__name__", "=", "up")]
    assert len(_got(head, m)) == 1
    new = _add(head, __name__="up", job="a")
    _add(head, __name__="other", job="a")  # does not match: the entry catches up without it
    assert _got(head, m) == [new.labels, make_labels({"__name__": "up", "job": "b"})]
    head.unregister(new)
    assert _got(head, m) == [make_labels({"__name__": "up", "job": "b"})]
    assert head.selections.misses == 1  # both changes were applied to the cached entry


def test_a_stale_entry_beyond_the_change_log_is_recomputed() -> None:
    head = _head()
    m = [Matcher("job", "=", "x")]
    _add(head, job="x", i="first")
    assert len(_got(head, m)) == 1
    for i in range(5000):  # more changes than the index keeps a log of
        _add(head, job="y", i=str(i))
    _add(head, job="x", i="second")
    assert len(_got(head, m)) == 2
    assert head.selections.misses == 2
    assert head.index.changes_since(0) is None


def test_the_cache_is_bounded_in_entries_and_series() -> None:
    head = _head()
    head.selections = SelectionCache(max_entries=2, max_series=3)
    for i in range(3):
        _add(head, job="x", i=str(i))
    for i in range(3):
        _got(head, [Matcher("i", "=", str(i))])
    assert len(head.selections) == 2
    _got(head, [Matcher("job", "=", "x")])  # 3 series: evicts until at most 3 are held
    assert len(head.selections) == 1
    head.selections.clear()
    assert len(head.selections) == 0


def test_change_log_reports_what_happened_in_order() -> None:
    idx = PostingsIndex()
    labels = make_labels({"a": "1"})
    idx.add(1, labels)
    v = idx.version
    idx.add(2, labels)
    idx.remove(1, labels)
    assert idx.changes_since(v) == [(2, True), (1, False)]
    assert idx.changes_since(idx.version) == []
    assert idx.changes_since(idx.version + 1) is None


_LABEL = st.sampled_from(["a", "b", "c"])
_MATCHER = st.builds(
    Matcher,
    st.sampled_from(["job", "env", "__name__"]),
    st.sampled_from(["=", "!=", "=~", "!~"]),
    st.sampled_from(["", "a", "b", "a|c", ".*", "b.*"]),
)
_OP = st.one_of(
    st.tuples(st.just("add"), _LABEL, _LABEL, st.sampled_from(["m", "n"])),
    st.tuples(st.just("remove"), st.integers(0, 50)),
    st.tuples(st.just("select"), st.lists(_MATCHER, min_size=0, max_size=3)),
)


@settings(max_examples=200, deadline=None)
@given(ops=st.lists(_OP, max_size=60), small=st.booleans())
def test_cached_selections_always_equal_a_fresh_postings_select(ops: list[tuple], small: bool) -> None:
    head = _head()
    if small:  # a tiny cache also exercises eviction and recomputation
        head.selections = SelectionCache(max_entries=2, max_series=5)
    for op in ops:
        if op[0] == "add":
            _add(head, job=op[1], env=op[2], __name__=op[3])
        elif op[0] == "remove":
            if head.by_id:
                ids = sorted(head.by_id)
                head.unregister(head.by_id[ids[op[1] % len(ids)]])
        else:
            matchers = op[1]
            assert _got(head, matchers) == _expected(head, matchers)
