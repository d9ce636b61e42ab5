"""go_quote: Go's strconv.Quote, including bytes that were not valid UTF-8."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metricslib.collector.model.quoting import go_quote


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("", '""'),
        ("up", '"up"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("a\\b", '"a\\\\b"'),
        ("line\nnext\ttab\rcr", '"line\\nnext\\ttab\\rcr"'),
        ("\a\b\f\v", '"\\a\\b\\f\\v"'),
        ("nul\x00del\x7f", '"nul\\x00del\\x7f"'),
        ("zero\u200bwidth", '"zero\\u200bwidth"'),
        ("nbsp\u00a0", '"nbsp\\u00a0"'),
        ("emoji \U0001f600 ok", '"emoji \U0001f600 ok"'),
        ("private\U000f0000", '"private\\U000f0000"'),
        ("Grüße 東京", '"Grüße 東京"'),
    ],
)
def test_quotes_like_go(text: str, quoted: str) -> None:
    assert go_quote(text) == quoted


def test_bytes_kept_by_surrogateescape_print_as_hex() -> None:
    raw = b"a\xc5z".decode("utf-8", "surrogateescape")
    assert go_quote(raw) == '"a\\xc5z"'


@given(st.text())
def test_output_is_one_quoted_printable_line(text: str) -> None:
    quoted = go_quote(text)
    assert quoted[0] == quoted[-1] == '"'
    assert quoted.isprintable()
    assert '"' not in quoted[1:-1].replace('\\"', "")
