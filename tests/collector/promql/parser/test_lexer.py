"""The PromQL lexer: tokens, numbers and durations, Go string quoting, regex dialect."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metricslib.collector.model.quoting import go_quote
from metricslib.collector.promql.parser.lexer import (
    format_error,
    lex,
    parse_duration_ms,
    unquote,
)
from metricslib.errors import PromQLParseError


def kinds(query: str) -> list[tuple[str, str]]:
    return [(t.kind, t.text) for t in lex(query)][:-1]


def test_tokens_of_a_typical_query() -> None:
    assert kinds('sum by (job) (rate(http_requests_total{code=~"5.."}[5m])) > 0.1') == [
        ("IDENT", "sum"), ("IDENT", "by"), ("OP", "("), ("IDENT", "job"), ("OP", ")"),
        ("OP", "("), ("IDENT", "rate"), ("OP", "("), ("IDENT", "http_requests_total"),
        ("OP", "{"), ("IDENT", "code"), ("OP", "=~"), ("STRING", '"5.."'), ("OP", "}"),
        ("OP", "["), ("DURATION", "5m"), ("OP", "]"), ("OP", ")"), ("OP", ")"),
        ("OP", ">"), ("NUMBER", "0.1"),
    ]  # fmt: skip


def test_positions_are_offsets_and_eof_is_last() -> None:
    toks = lex("a  +\n b")
    assert [t.pos for t in toks] == [0, 3, 6, 7]
    assert toks[-1].kind == "EOF"


@pytest.mark.parametrize(
    ("text", "kind"),
    [("1", "NUMBER"), ("1.5", "NUMBER"), (".5", "NUMBER"), ("2.", "NUMBER"), ("1e3", "NUMBER"),
     ("12.34e-6", "NUMBER"), ("0x1F", "NUMBER"), ("5m", "DURATION"), ("1h30m", "DURATION"),
     ("100ms", "DURATION"), ("1y2w", "DURATION")],
)  # fmt: skip
def test_numbers_and_durations(text: str, kind: str) -> None:
    assert kinds(text) == [(kind, text)]


def test_colon_inside_brackets_separates_range_and_step() -> None:
    assert kinds("x[5m:1m]")[2:] == [("DURATION", "5m"), ("OP", ":"), ("DURATION", "1m"), ("OP", "]")]
    assert kinds("x[30:10]")[2:5] == [("NUMBER", "30"), ("OP", ":"), ("NUMBER", "10")]
    # Outside brackets a colon belongs to recording-rule names.
    assert kinds("job:rate5m:sum") == [("IDENT", "job:rate5m:sum")]


def test_comments_are_skipped() -> None:
    assert kinds("foo # the rest is ignored\n + 1") == [("IDENT", "foo"), ("OP", "+"), ("NUMBER", "1")]


@pytest.mark.parametrize(
    ("query", "message"),
    [("1a", 'bad number or duration syntax: "1"'), ("0deadbeef", 'bad number or duration syntax: "0de"'), ("2.5.", 'bad number or duration syntax: "2.5."'), ("a $ b", "unexpected character: '$'"),
     ('"abc', "unterminated quoted string"), ("'a\nb'", "unterminated quoted string"),
     ("a ! b", "unexpected character after '!'")],
)  # fmt: skip
def test_lexer_errors_name_the_offending_text(query: str, message: str) -> None:
    with pytest.raises(PromQLParseError) as info:
        lex(query)
    assert message in str(info.value)
    assert re.match(r"^1:\d+: parse error: ", str(info.value))


def test_error_position_counts_lines_and_bytes() -> None:
    assert format_error("abc", 2, "x") == "1:3: parse error: x"
    assert format_error("a\nbc", 3, "x") == "2:2: parse error: x"
    # Positions are character offsets; columns count bytes like Prometheus (é is two).
    assert format_error("é x", 2, "x") == "1:4: parse error: x"


@pytest.mark.parametrize(
    ("literal", "value"),
    [('"a\\nb"', "a\nb"), ("'it\\'s'", "it's"), ('"\\u00e9"', "é"), ('"\\x41\\101"', "AA"),
     ("`raw\\n`", "raw\\n"), ('"tab\\t"', "tab\t"), ('"q\\""', 'q"')],
)  # fmt: skip
def test_unquote_follows_go(literal: str, value: str) -> None:
    assert unquote(literal) == value


def test_invalid_utf8_bytes_survive_and_print_like_go() -> None:
    value = unquote('"a\\xc5z"')
    assert value != "aÅz"
    assert go_quote(value) == '"a\\xc5z"'


@pytest.mark.parametrize("literal", ['"\\q"', '"\\x4"', "'\\\"'", '"\\400"'])
def test_bad_escapes_are_errors(literal: str) -> None:
    with pytest.raises(PromQLParseError):
        unquote(literal)


@given(st.text(st.characters(blacklist_categories=("Cs",))))
def test_go_quote_round_trips_through_unquote(value: str) -> None:
    assert unquote(go_quote(value)) == value


def test_durations() -> None:
    assert parse_duration_ms("1h30m") == 5_400_000
    assert parse_duration_ms("1ms") == 1
    assert parse_duration_ms("1y") == 365 * 86_400_000
    with pytest.raises(ValueError):
        parse_duration_ms("30m1h")
    with pytest.raises(ValueError):
        parse_duration_ms("5")


@pytest.mark.parametrize(
    ("literal", "message"),
    [('"\\c"', "unknown escape sequence U+0063 'c'"),
     ('"\\x."', "illegal character U+002E '.' in escape sequence"),
     ('"\\x4"', "escape sequence not terminated"),
     ('"\\ud800"', "escape sequence is an invalid Unicode code point")],
)  # fmt: skip
def test_escape_errors_read_like_go(literal: str, message: str) -> None:
    with pytest.raises(PromQLParseError) as info:
        unquote(literal)
    assert str(info.value) == f"1:1: parse error: {message}"  # Prometheus points at the string
