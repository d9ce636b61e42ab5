"""Family rules applied to finished families, without going through text."""

from __future__ import annotations

import math

import pytest

from metricslib.collector.textparse.family_rules import (
    belongs,
    check_family,
    claimed_names,
    text_help_problem,
    text_sample_problems,
)
from metricslib.collector.textparse.syntax import Exemplar, Family, Sample


def fam(name: str, mtype: str, *samples: tuple[str, dict[str, str], float], unit: str = "") -> Family:
    return Family(
        name=name,
        type=mtype,
        unit=unit,
        samples=[Sample(n, labels, v, line=i + 2) for i, (n, labels, v) in enumerate(samples)],
        line=1,
    )


def problems(f: Family) -> list[tuple[str, int]]:
    return list(check_family(f))


@pytest.mark.parametrize(
    ("family", "mtype", "sample", "om", "expected"),
    [
        ("a", "counter", "a_total", True, True),
        ("a", "counter", "a", True, False),
        ("a", "counter", "a", False, True),  # text counters are named in full
        ("a", "histogram", "a_bucket", True, True),
        ("a", "histogram", "a_gsum", True, False),
        ("a", "gaugehistogram", "a_gcount", True, True),
        ("a", "summary", "a", True, True),
        ("a", "info", "a_info", True, True),
        ("a", "unknown", "a_total", True, False),
        ("ab", "gauge", "a", True, False),
    ],
)
def test_belongs(family: str, mtype: str, sample: str, om: bool, expected: bool) -> None:
    assert belongs(family, mtype, sample, om) is expected


def test_claimed_names() -> None:
    assert claimed_names("a", "counter") == {"a", "a_total", "a_created"}
    assert claimed_names("a", "gauge") == {"a"}


def test_valid_histogram_has_no_problems() -> None:
    h = fam(
        "h", "histogram",
        ("h_bucket", {"le": "0.5"}, 1), ("h_bucket", {"le": "+Inf"}, 2),
        ("h_count", {}, 2), ("h_sum", {}, 0.7), ("h_created", {}, 1.0),
    )
    assert problems(h) == []


def test_histogram_group_rules_name_the_group_and_line() -> None:
    h = fam(
        "h", "histogram",
        ("h_bucket", {"x": "1", "le": "1"}, 3), ("h_bucket", {"x": "1", "le": "+Inf"}, 2),
        ("h_count", {"x": "1"}, 5),
    )
    got = problems(h)
    assert ("h_bucket{x=\"1\",le=\"+Inf\"}: bucket counts must not decrease (2 after 3)", 3) in got
    assert ('histogram h{x="1"}: count 5 differs from the +Inf bucket 2', 2) in got
    assert ('histogram h{x="1"} has h_count but no h_sum', 2) in got


def test_gauge_histogram_negative_gsum_needs_negative_buckets() -> None:
    ok = fam(
        "g", "gaugehistogram",
        ("g_bucket", {"le": "-1"}, 1), ("g_bucket", {"le": "+Inf"}, 1),
        ("g_gcount", {}, 1), ("g_gsum", {}, -3),
    )
    assert problems(ok) == []
    bad = fam(
        "g", "gaugehistogram",
        ("g_bucket", {"le": "+Inf"}, 1), ("g_gcount", {}, 1), ("g_gsum", {}, -3),
    )
    assert problems(bad) == [("gauge histogram g: _gsum is negative but no bucket is", 2)]


def test_summary_stateset_info_rules() -> None:
    s = fam("s", "summary", ("s", {"quantile": "0.5"}, math.nan), ("s_count", {}, 1), ("s_sum", {}, 1))
    assert problems(s) == []  # a NaN quantile value is fine (no observations yet)
    st = fam("st", "stateset", ("st", {"st": "a"}, 1), ("st", {"other": "b"}, 0.5))
    assert [line for _, line in problems(st)] == [3, 3]
    info = fam("i", "info", ("i_info", {"v": "1"}, 1))
    assert problems(info) == []


def test_exemplar_placement() -> None:
    c = fam("c", "counter", ("c_total", {}, 1))
    c.samples[0].exemplar = Exemplar({"trace": "x"}, 1.0)
    assert problems(c) == []
    g = fam("g", "gauge", ("g", {}, 1))
    g.samples[0].exemplar = Exemplar({"trace": "x"}, 1.0)
    (message, line), = problems(g)
    assert line == 2 and "exemplars are only allowed on counter _total" in message


def test_units() -> None:
    assert problems(fam("a_seconds", "gauge", unit="seconds")) == []
    assert problems(fam("a", "gauge", unit="seconds")) == [
        ("family 'a' has unit 'seconds', so its name must end in _seconds", 1)
    ]
    assert problems(fam("b_u", "info", unit="u")) == [("info 'b_u' must not have a unit", 1)]


def test_text_pedantic_rules() -> None:
    assert text_help_problem(r"fine \\ and \n") is None
    assert text_help_problem(r"bad \t") == "invalid escape sequence '\\t' in help text (allowed: \\\\ and \\n)"
    h = fam("h", "histogram", ("h_bucket", {"le": "x"}, 1))
    s = h.samples[0]
    assert list(text_sample_problems(h, s, 'h_bucket{le="x"} 1 ', 'h_bucket{le="x"}')) == [
        "trailing whitespace at the end of the line",
        "invalid le 'x': expected a decimal number, +Inf, -Inf or NaN",
    ]
    u = fam("u", "unknown", ("u", {"__name__": "v"}, 1))
    assert list(text_sample_problems(u, u.samples[0], r'u{__name__="v\q"} 1', r'u{__name__="v\q"}')) == [
        "invalid escape sequence '\\q' in a label value (allowed: \\\\, \\\" and \\n)",
        "label name '__name__' is reserved",
    ]
