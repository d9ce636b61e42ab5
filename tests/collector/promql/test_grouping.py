"""Aggregation groups: the same groups, in the same order, as building each key row by row."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from metricslib.collector.model import Labels
from metricslib.collector.promql.grouping import group_rows, key_function


def reference(labels: list[Labels], grouping: tuple[str, ...], without: bool) -> dict[Labels, list[int]]:
    key = key_function(grouping, without)
    out: dict[Labels, list[int]] = {}
    for i, lbl in enumerate(labels):
        out.setdefault(key(lbl), []).append(i)
    return out


def as_dict(labels: list[Labels], grouping: tuple[str, ...], without: bool) -> dict[Labels, list[int]]:
    groups = group_rows(labels, grouping, without)
    rows = groups.rows.tolist()
    return {k: rows[s:s + n] for k, s, n in zip(groups.keys, groups.starts.tolist(), groups.sizes.tolist(),
                                                 strict=True)}


def test_groups_in_order_of_first_row_with_rows_in_input_order() -> None:
    labels: list[Labels] = [(("__name__", "x"), ("job", j), ("i", str(i))) for i, j in enumerate("baab")]
    groups = as_dict(labels, ("job",), False)
    assert list(groups.items()) == [((("job", "b"),), [0, 3]), ((("job", "a"),), [1, 2])]
    assert as_dict(labels, ("i",), True) == {(("job", "b"),): [0, 3], (("job", "a"),): [1, 2]}


def test_equal_label_sets_in_new_tuples_group_the_same() -> None:
    labels: list[Labels] = [(("job", "a"), ("i", "1")), (("job", "b"),)]
    first = as_dict(labels, ("job",), False)
    rebuilt = [tuple((k, "".join(v)) for k, v in lbl) for lbl in labels]
    assert as_dict(rebuilt, ("job",), False) == first == {(("job", "a"),): [0], (("job", "b"),): [1]}


pairs = st.tuples(st.sampled_from(["__name__", "a", "b", "c"]), st.sampled_from(["", "1", "2"]))


@given(st.lists(st.lists(pairs, max_size=4).map(lambda ps: tuple(sorted(dict(ps).items()))), max_size=30),
       st.lists(st.sampled_from(["a", "b", "c", "__name__"]), max_size=3, unique=True), st.booleans())
def test_matches_grouping_row_by_row(labels: list[Labels], grouping: list[str], without: bool) -> None:
    expected = reference(labels, tuple(grouping), without)
    got = as_dict(labels, tuple(grouping), without)
    assert list(got.items()) == list(expected.items())
    # Again, now from the remembered result.
    assert list(as_dict(labels, tuple(grouping), without).items()) == list(expected.items())
