"""Value rows printed through orjson must match Go's formatting, value for value."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from metricslib.collector.model import Labels
from metricslib.collector.promql.values import format_float
from metricslib.collector.web.api.result_json import format_value_row, labels_json


@given(st.lists(st.one_of(st.integers(-(10**16), 10**16).map(float), st.floats()), max_size=40))
def test_value_rows_print_every_float_as_go_does(values: list[float]) -> None:
    assert format_value_row(values) == [format_float(v).encode() for v in values]


@given(
    st.lists(
        st.floats(min_value=1e-4, max_value=1e16) | st.floats(min_value=-1e16, max_value=-1e-4),
        min_size=1,
    )
)
def test_value_rows_use_shortest_digits_for_plain_floats(values: list[float]) -> None:
    # The range where the fast path trusts orjson's digits instead of repr's.
    assert format_value_row(values) == [format_float(v).encode() for v in values]


def test_labels_are_written_as_utf8_with_json_escapes() -> None:
    labels: Labels = (("a", 'quote " and \\ backslash'), ("b", "\u00e9\n"))
    assert labels_json(labels) == '{"a":"quote \\" and \\\\ backslash","b":"\u00e9\\n"}'.encode()
