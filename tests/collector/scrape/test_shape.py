"""BodyShape: a body with the last body's shape yields its values, any other body None.

The property: whatever the body, ``values()`` either returns None or exactly
the values the line parser reads from it (same series, in order, no
timestamps) — so the bulk path can never store what the parser would not.
"""

from __future__ import annotations

import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from metricslib.collector.scrape.shape import BodyShape
from metricslib.collector.textparse.fast import parse_scrape
from metricslib.errors import ParseError

TEXT = "text/plain; version=0.0.4"
OM = "application/openmetrics-text; version=1.0.0"
BASE = (
    "# HELP a The a.\n# TYPE a counter\n"
    'a_total{path="/x y"} 1\n'
    'b{le="0.5"} 2\n'
    "c 3\n"
)
KEYS = ['a_total{path="/x y"}', 'b{le="0.5"}', "c"]


def _shape(body: str = BASE, ct: str = TEXT) -> BodyShape:
    shape = BodyShape.of(body.encode(), ct, KEYS)
    assert shape is not None
    return shape


def _bits(values: list[float]) -> list[bytes]:
    return [struct.pack("<d", v) for v in values]


def test_the_same_series_with_new_values() -> None:
    body = BASE.replace("} 1\n", "} 10.5\n").replace("} 2\n", "} -2e3\n").replace("c 3", "c +7")
    assert _shape().values(body.encode(), TEXT) == [10.5, -2000.0, 7.0]


def test_a_body_not_matching_the_keys_has_no_shape() -> None:
    assert BodyShape.of(BASE.encode(), TEXT, KEYS[:2]) is None
    assert BodyShape.of(BASE.encode(), TEXT, [KEYS[1], KEYS[0], KEYS[2]]) is None
    assert BodyShape.of(BASE.encode(), TEXT, []) is None


def test_layouts_it_does_not_take() -> None:
    for body in (BASE.replace("c 3", "c  3"), BASE + "\n", " " + BASE, BASE.replace("\n", "\r\n"),
                 BASE.replace("c 3", "c\t3")):
        assert BodyShape.of(body.encode(), TEXT, KEYS) is None, body


def test_anything_but_new_plain_values_is_another_shape() -> None:
    shape = _shape()
    others = [
        BASE.replace("c 3", "d 3"),  # another series
        BASE.replace('"/x y"', '"/x z"'),  # the same words count, another label value
        BASE.replace("The a.", "The b."),  # HELP text: the metadata would change
        BASE.replace("counter", "gauge"),  # the last word of a comment
        BASE.replace("c 3", "c 3 1000"),  # a timestamp
        BASE.replace("c 3", "c NaN"),
        BASE.replace("c 3", "c +Inf"),
        BASE.replace("c 3", "c 1e999"),  # overflows to Inf: the grammar judges it
        BASE.replace("c 3", "c 1_000"),
        BASE.replace("c 3", "c 0x10"),
        BASE.replace("c 3", "c 1e"),
        BASE.replace("c 3", "c ."),
        BASE.replace("c 3", "c  3"),
        BASE.rstrip("\n"),
        BASE + "\n",
        BASE + "c 4\n",  # a duplicate line
        BASE.replace("b{", "b {"),
    ]
    for body in others:
        assert shape.values(body.encode(), TEXT) is None, body
    assert shape.values(BASE.encode(), OM) is None  # another format: the checked path decides


def test_openmetrics_body_with_eof() -> None:
    body = BASE.replace("a_total", "a_total") + "# EOF\n"
    shape = BodyShape.of(body.encode(), OM, KEYS)
    assert shape is not None
    assert shape.values(body.replace("c 3", "c 4").encode(), OM) == [1.0, 2.0, 4.0]
    assert shape.values(body.replace("# EOF\n", "# EOF").encode(), OM) is None
    assert shape.values(body.replace("# EOF\n", "").encode(), OM) is None


def test_integer_values_read_as_float_reads_them() -> None:
    shape = BodyShape.of(b"a 1\nb 2\n", TEXT, ["a", "b"])
    assert shape is not None
    got = shape.values(b"a 9007199254740993\nb 007\n", TEXT)
    assert got == [float("9007199254740993"), 7.0]
    assert shape.values(b"a " + b"1" * 400 + b"\nb 1\n", TEXT) is None  # too big for a float
    neg = shape.values(b"a -0\nb 1\n", TEXT)
    assert neg is not None and struct.pack("<d", neg[0]) == struct.pack("<d", -0.0)


def test_a_single_sample_body() -> None:
    shape = BodyShape.of(b"up 1\n", TEXT, ["up"])
    assert shape is not None
    assert shape.values(b"up 0\n", TEXT) == [0.0]


_TOKENS = ["0", "1", "-1", "2.5", "1e3", "+4", "-0", "-00", ".5", "5.", "1e999", "NaN", "Inf", "-Inf", "1_0", "0x1",
           "1e", "", "--1", "1 2", "3\t", "٣", "007", "9007199254740993", "1" * 400, "\u00a0"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(_TOKENS), min_size=3, max_size=3), st.booleans())
def test_values_agree_with_the_line_parser(tokens: list[str], newline: bool) -> None:
    lines = [f"{key} {tok}" for key, tok in zip(KEYS, tokens, strict=True)]
    body = "# HELP a The a.\n# TYPE a counter\n" + "\n".join(lines) + ("\n" if newline else "")
    got = _shape().values(body.encode(), TEXT)
    if got is None:
        return
    parsed = parse_scrape(body, "text", set(KEYS))
    assert [k for k, _, _ in parsed.samples] == KEYS
    assert all(ts is None for _, _, ts in parsed.samples)
    assert _bits(got) == _bits([v for _, v, _ in parsed.samples])


_EDIT_CHARS = list(' \n\t\r#_{}"=.+-eE0123456789NaIfx')


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(BASE)), st.sampled_from(["insert", "delete", "replace"]),
                          st.sampled_from(_EDIT_CHARS)), min_size=1, max_size=3))
def test_an_edited_body_is_either_refused_or_read_as_the_parser_reads_it(
    edits: list[tuple[int, str, str]]
) -> None:
    body = BASE
    for pos, op, char in edits:
        pos = min(pos, len(body))
        if op == "insert":
            body = body[:pos] + char + body[pos:]
        elif op == "delete":
            body = body[:pos] + body[pos + 1:]
        else:
            body = body[:pos] + char + body[pos + 1:]
    got = _shape().values(body.encode(), TEXT)
    if got is None:
        return
    try:
        parsed = parse_scrape(body, "text", set(KEYS))
    except ParseError as exc:
        raise AssertionError(f"bulk read a body the parser refuses: {body!r}") from exc
    assert [k for k, _, _ in parsed.samples] == KEYS
    assert all(ts is None for _, _, ts in parsed.samples)
    assert _bits(got) == _bits([v for _, v, _ in parsed.samples])
    assert parsed.metadata["a"].help == "The a." and parsed.metadata["a"].type == "counter"
