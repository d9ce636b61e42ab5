from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from metricslib.collector.model import Labels, Matcher, labels_get, make_labels
from metricslib.collector.storage.index import PostingsIndex

SERIES: list[Labels] = [
    make_labels({"__name__": "up", "job": "api", "instance": "a"}),
    make_labels({"__name__": "up", "job": "web", "instance": "b"}),
    make_labels({"__name__": "up", "instance": "c"}),
    make_labels({"__name__": "http_requests_total", "job": "api", "code": "500"}),
]


def _index() -> PostingsIndex:
    idx = PostingsIndex()
    for i, labels in enumerate(SERIES):
        idx.add(i, labels)
    return idx


def test_equality_and_regex_are_anchored() -> None:
    idx = _index()
    assert idx.select([Matcher("job", "=", "api")]) == {0, 3}
    assert idx.select([Matcher("job", "=~", "ap")]) == set()
    assert idx.select([Matcher("job", "=~", "a.*|w.b")]) == {0, 1, 3}


def test_empty_matchers_cover_series_without_the_label() -> None:
    idx = _index()
    assert idx.select([Matcher("job", "=", "")]) == {2}
    assert idx.select([Matcher("job", "!=", "api")]) == {1, 2}
    assert idx.select([Matcher("job", "!~", "api|web")]) == {2}
    assert idx.select([Matcher("job", "=~", "|web")]) == {1, 2}
    assert idx.select([Matcher("nope", "=", "")]) == {0, 1, 2, 3}


def test_intersection_and_no_matchers() -> None:
    idx = _index()
    assert idx.select([Matcher("__name__", "=", "up"), Matcher("job", "!=", "web")]) == {0, 2}
    assert idx.select([]) == {0, 1, 2, 3}


def test_remove_forgets_empty_postings() -> None:
    idx = _index()
    idx.remove(3, SERIES[3])
    assert "code" not in idx.label_names()
    assert idx.select([Matcher("job", "=", "api")]) == {0}
    assert len(idx) == 3


label_sets = st.lists(
    st.dictionaries(st.sampled_from(["a", "b", "c"]), st.sampled_from(["", "x", "y", "xy"]), max_size=3),
    max_size=20,
)
matchers = st.lists(
    st.builds(Matcher, st.sampled_from(["a", "b", "c"]), st.sampled_from(["=", "!=", "=~", "!~"]),
              st.sampled_from(["", "x", "y", "x.*", ".+", "xy|"])),
    max_size=3,
)


@settings(max_examples=200, deadline=None)
@given(sets=label_sets, ms=matchers)
def test_index_agrees_with_brute_force(sets: list[dict[str, str]], ms: list[Matcher]) -> None:
    idx = PostingsIndex()
    labels = [make_labels(d) for d in sets]
    for i, lab in enumerate(labels):
        idx.add(i, lab)
    expected = {i for i, lab in enumerate(labels) if all(m.matches(labels_get(lab, m.name)) for m in ms)}
    assert idx.select(ms) == expected


@settings(max_examples=50)
@given(st.lists(st.dictionaries(st.sampled_from(["__name__", "a", "b"]), st.sampled_from(["x", "y", "z"]),
                                min_size=1), max_size=12))
def test_add_many_builds_what_adding_one_at_a_time_builds(sets: list[dict[str, str]]) -> None:
    labels = [make_labels(d) for d in sets]
    one, many = PostingsIndex(), PostingsIndex()
    for i, x in enumerate(labels):
        one.add(i, x)
    many.add_many(list(range(len(labels))), labels)
    assert many.label_names() == one.label_names()
    for name in one.label_names():
        assert many.values_of(name) == one.values_of(name)
    assert len(many) == len(one) and many.version == one.version
    assert many.changes_since(0) is None or not labels  # a cached selection starts over
    for m in (Matcher("a", "=", "x"), Matcher("b", "!=", "y"), Matcher("__name__", "=~", "x|z")):
        assert many.select([m]) == one.select([m])
