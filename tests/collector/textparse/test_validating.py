"""Full parsing: families, metadata rules, streaming, and collecting every error."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from metricslib.collector.textparse.formats import check, parse_families
from metricslib.collector.textparse.validating import split_lines
from metricslib.errors import ParseError

OM_HISTOGRAM = """\
# TYPE rpc_seconds histogram
# UNIT rpc_seconds seconds
# HELP rpc_seconds RPC latency.
rpc_seconds_bucket{method="get",le="0.1"} 2 # {trace_id="t1"} 0.05 1700000000.5
rpc_seconds_bucket{method="get",le="+Inf"} 3
rpc_seconds_count{method="get"} 3
rpc_seconds_sum{method="get"} 1.5
rpc_seconds_created{method="get"} 1700000000
# TYPE build info
build_info{version="1.2"} 1
# TYPE state stateset
state{state="up"} 1
state{state="down"} 0
# EOF
"""


def test_openmetrics_families() -> None:
    hist, info, state = parse_families(OM_HISTOGRAM, "openmetrics")
    assert (hist.name, hist.type, hist.unit, hist.help, hist.line) == (
        "rpc_seconds", "histogram", "seconds", "RPC latency.", 1
    )
    assert [s.name for s in hist.samples] == [
        "rpc_seconds_bucket", "rpc_seconds_bucket", "rpc_seconds_count", "rpc_seconds_sum",
        "rpc_seconds_created",
    ]
    first = hist.samples[0]
    assert first.line == 4 and first.labels == {"method": "get", "le": "0.1"}
    assert first.exemplar is not None and first.exemplar.labels == {"trace_id": "t1"}
    assert first.exemplar.timestamp == 1700000000.5
    assert (info.name, info.type, info.samples[0].name) == ("build", "info", "build_info")
    assert [s.value for s in state.samples] == [1.0, 0.0]


def test_text_families_follow_type_lines_and_untyped_is_unknown() -> None:
    text = (
        "# HELP h Latency.\n# TYPE h histogram\n"
        'h_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 3\nh_count 2\n'
        "# TYPE u untyped\nu 1\n"
        "   \n"  # blank lines are fine in text format
        "# a free comment\n"
        "loose 7 1500\n"
    )
    h, u, loose = parse_families(text, "text")
    assert (h.type, len(h.samples), h.help) == ("histogram", 4, "Latency.")
    assert (u.type, loose.type) == ("unknown", "unknown")
    assert loose.samples[0].timestamp_ms == 1500 and loose.samples[0].line == 11


def test_text_family_resumed_after_another() -> None:
    text = '# TYPE h histogram\nh_bucket{le="+Inf"} 1\nother 1\nh_sum 2\n'
    fams = list(parse_families(text, "text"))
    assert [(f.name, f.type) for f in fams] == [("h", "histogram"), ("other", "unknown"), ("h", "histogram")]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("# TYPE a counter\n# TYPE a gauge\n", 2, "second # TYPE line for 'a' (the first is line 1)"),
        ("# HELP a x\n# HELP a y\n", 2, "second # HELP line for 'a'"),
        ("a 1\n# TYPE a gauge\n", 2, "# TYPE for 'a' comes after its samples"),
        ("# TYPE a gaugehistogram\n", 1, "unknown type 'gaugehistogram'"),
        ("# TYPE a\n", 1, "# TYPE a needs a space and a type after the name"),
        ("# TYPE 1a gauge\n", 1, "invalid metric name '1a'"),
    ],
)
def test_text_metadata_errors(text: str, line: int, message: str) -> None:
    (err,) = check(text, "text")
    assert err.line == line and message in str(err)


@pytest.mark.parametrize(
    ("body", "line", "message"),
    [
        ('# TYPE a histogram\na_bucket{le="2"} 1\na_bucket{le="1"} 1\na_bucket{le="+Inf"} 1\n',
         3, "bucket le='1' is out of order"),
        ('# TYPE a histogram\na_bucket{le="1"} 1\na_count 1\na_sum 1\n', 2, 'has no le="+Inf" bucket'),
        ('# TYPE a summary\na{quantile="2"} 1\n', 2, "quantile must be between 0 and 1"),
        ("# TYPE a counter\na_total -1\n", 2, "a counter's value must be >= 0"),
        ("# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na 2\n", 5, "family 'a' continues here"),
        ("# TYPE a counter\na_total 1\n# TYPE a_total gauge\n", 3, "clashes with family 'a'"),
        ("a 1\na 2\n", 2, "series appears twice without timestamps"),
        ("a 1 5\na 1 4\n", 2, "timestamp 4.0 goes back from 5.0"),
        ("# TYPE a_s gauge\n# UNIT a_s ms\n", 1, "its name must end in _ms"),
    ],
)
def test_openmetrics_family_errors(body: str, line: int, message: str) -> None:
    problems = check(body + "# EOF\n", "openmetrics")
    assert problems, body
    assert problems[0].line == line and message in str(problems[0])


def test_collecting_errors_keeps_every_good_sample() -> None:
    text = 'good 1\nbad{x="1} 2\nalso_good 3\nbad 1_0\nlast 4\n'
    errors: list[ParseError] = []
    fams = list(parse_families(text, "text", errors))
    assert [(f.name, f.samples[0].value) for f in fams] == [("good", 1), ("also_good", 3), ("last", 4)]
    assert [e.line for e in errors] == [2, 4]


def test_first_error_raises_without_a_list() -> None:
    with pytest.raises(ParseError) as info:
        list(parse_families("ok 1\nbroken\n", "text"))
    assert info.value.line == 2
    assert str(info.value) == "line 2: sample 'broken' has no value"


def test_check_reports_several_problems_in_line_order() -> None:
    text = "# TYPE a counter\na_total -1\nb  1\n# FOO\n"
    problems = check(text, "openmetrics")
    assert [p.line for p in problems] == [2, 3, 4, 4]
    assert "missing '# EOF'" in str(problems[-1])


def test_streams_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "big.om"
    with path.open("w", encoding="utf-8") as fh:
        fh.write("# TYPE c counter\n")
        for i in range(2000):
            fh.write(f'c_total{{i="{i}"}} {i}\n')
        fh.write("# TYPE g gauge\ng 1\n# TYPE h gauge\nh 1\n# EOF")  # no final newline: valid
    consumed = 0

    def lines() -> Iterator[str]:
        nonlocal consumed
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                consumed += 1
                yield line

    families = parse_families(lines(), "openmetrics")
    first = next(families)
    assert len(first.samples) == 2000 and first.samples[-1].value == 1999
    # Only one line past the family was read: the file is streamed, not loaded.
    assert consumed == 2002
    assert [f.name for f in families] == ["g", "h"]


def test_split_lines_only_breaks_on_newline() -> None:
    text = 'a{x="\u2028\x0b\r"} 1\nb 2\n'
    assert list(split_lines(text)) == ['a{x="\u2028\x0b\r"} 1', "b 2"]
    assert list(split_lines(io.StringIO("a 1\n\nb 2"))) == ["a 1", "", "b 2"]
    assert list(split_lines("a 1\n\n")) == ["a 1", ""]
