"""Go literals: quoted strings and numbers, read as Go reads them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metricslib.collector.model.quoting import go_quote
from metricslib.collector.template.literals import parse_number, unquote


def test_unquote() -> None:
    assert unquote('"a\\tb\\u00e9\\x41\\101\\"\\\\"') == 'a\tbéAA"\\'
    assert unquote("`raw\\n`") == "raw\\n"
    assert unquote("'x'") == "x" and unquote("'\\''") == "'"
    for bad in ('"\\q"', '"a', "'ab'", '"\\x4"', "`a`b`"):
        with pytest.raises(ValueError, match="invalid syntax"):
            unquote(bad)


@pytest.mark.parametrize(
    ("text", "is_int", "int_value", "float_value"),
    [("42", True, 42, 42.0), ("017", True, 15, 15.0), ("0x1F", True, 31, 31.0), ("0b101", True, 5, 5.0),
     ("1_000", True, 1000, 1000.0), ("1e6", True, 1000000, 1e6), ("3.14", False, 0, 3.14), (".5", False, 0, 0.5),
     ("-5", True, -5, -5.0), ("0x1p-2", False, 0, 0.25)],
)  # fmt: skip
def test_numbers(text: str, is_int: bool, int_value: int, float_value: float) -> None:
    n = parse_number(text)
    assert (n.is_int, n.int_value, n.is_float, n.float_value) == (
        is_int,
        int_value,
        True,
        float_value,
    )


def test_bad_numbers() -> None:
    with pytest.raises(ValueError, match='integer overflow: "99999999999999999999"'):
        parse_number("99999999999999999999")
    with pytest.raises(ValueError, match="illegal number syntax"):
        parse_number("1x")


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",))))
def test_go_quote_and_unquote_round_trip(text: str) -> None:
    assert unquote(go_quote(text)) == text


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_integers_read_back(n: int) -> None:
    assert parse_number(str(n)).int_value == n
