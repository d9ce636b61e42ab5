"""The token cursor: lookahead past the end, keyword tests, number literals like Go."""

from __future__ import annotations

import pytest

from metricslib.collector.promql.parser.tokens import TokenStream
from metricslib.errors import PromQLParseError


def test_lookahead_and_advance_stop_at_end_of_input() -> None:
    ts = TokenStream("a + b", True)
    assert [ts.peek(i).text for i in range(5)] == ["a", "+", "b", "", ""]
    for _ in range(6):
        ts.advance()
    assert ts.peek().kind == "EOF" and ts.index == 3


def test_keywords_are_case_insensitive_operators_exact() -> None:
    ts = TokenStream("OFFSET == x", True)
    assert ts.is_keyword("offset") and not ts.is_keyword("by")
    assert ts.is_op("==", 1) and not ts.is_op("=", 1)


@pytest.mark.parametrize(
    ("text", "value"),
    [("0x1f", 31.0), ("0755", 493.0), ("08", 8.0), ("1e3", 1000.0), (".5", 0.5), ("99999999999999999999", 1e20)],
)
def test_number_values_follow_go_parse_int_then_float(text: str, value: float) -> None:
    ts = TokenStream(text, True)
    assert ts.number_value(ts.peek()) == value


def test_errors_carry_line_column_and_position() -> None:
    ts = TokenStream("a\n  b c", True)
    with pytest.raises(PromQLParseError) as info:
        ts.unexpected(ts.peek(2), "somewhere", "else")
    assert str(info.value) == '2:5: parse error: unexpected identifier "c" in somewhere, expected else'
    assert info.value.position == 6
    with pytest.raises(PromQLParseError, match='expected "\\("'):
        ts.expect_op("(", "here")
