"""Go's fmt verbs as templates' printf uses them; expected texts are Go's (checked with promtool)."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metricslib.collector.template.gofmt import format_float, go_quote, sprint, sprintf, sprintln


@pytest.mark.parametrize(
    ("value", "text"),
    [(1e6, "1e+06"), (0.5, "0.5"), (1234567.0, "1.234567e+06"), (123456.0, "123456"), (1e-5, "1e-05"),
     (0.0001, "0.0001"), (-0.0, "-0"), (0.0, "0"), (1e21, "1e+21"), (100000000.0, "1e+08"),
     (math.inf, "+Inf"), (-math.inf, "-Inf"), (math.nan, "NaN"), (1.5e-7, "1.5e-07"), (2.0**70, "1.1805916207174113e+21")],
)  # fmt: skip
def test_v_of_float64(value: float, text: str) -> None:
    assert format_float(value) == text
    assert sprintf("%v", [value]) == text


@pytest.mark.parametrize(
    ("fmt", "args", "text"),
    [
        ("%5.1f|%-6s|%06.2f", [3.14159, "ab", -1.5], "  3.1|ab    |-01.50"),
        ("%x %X %o %b %c %q %U", [255, 255, 8, 5, 65, 65, 65], "ff FF 10 101 A 'A' U+0041"),
        ("%g %e %G %E", [1e-7, 1234.5678, 1e-7, 1234.5678], "1e-07 1.234568e+03 1E-07 1.234568E+03"),
        ("%.3g %.10g %g", [1234.5678, 1e5, 100000.0], "1.23e+03 100000 100000"),
        ("%5t|%-5d|%+.2e|% d|%x", [True, 3, 12345.678, 5, "hi"], " true|3    |+1.23e+04| 5|6869"),
        ("%08.3f|%-8.2f|%+v|%10v|%-10v|", [-3.14159, 2.5, 1.5, "s", 2.25], "-003.142|2.50    |1.5|         s|2.25      |"),
        ("%.0f %.1f %.0f %.0f", [0.5, 0.25, 1.5, 2.5], "0 0.2 2 2"),
        ("%6.2v|%.3v|%.3s|%5.1s|", [3.14159, 1234.5678, "abcdef", "xyz"], "   3.1|1.23e+03|abc|    x|"),
        ("%q %q", ['a"b\n', "c\\d"], '"a\\"b\\n" "c\\\\d"'),
        ("%[2]d %[1]d", [1, 2], "2 1"),
        ("%*d|%-*d|", [5, 1, 4, 2], "    1|2   |"),
        ("%T %T %T %T %T", [1, 1.5, "s", {"a": "b"}, None], "int float64 string map[string]string <nil>"),
        ("%v %v", [{"b": "2", "a": "1"}, [1, "x", 2.5]], "map[a:1 b:2] [1 x 2.5]"),
        ("%d %s", ["x", 1.5], "%!d(string=x) %!s(float64=1.5)"),
        ("%d %d", [1], "1 %!d(MISSING)"),
        ("x", [1], "x%!(EXTRA int=1)"),
        ("%", [], "%!(NOVERB)"),
        ("%!", [], "%!!(MISSING)"),
        ("%t %v", [True, None], "true <nil>"),
        ("100%%", [], "100%"),
        ("%5.2f|%-7.1f|", [math.inf, math.nan], " +Inf|NaN    |"),
        ("%05d|%+05d|%x|%#x", [-42, 42, -255, 255], "-0042|+0042|-ff|0xff"),
    ],
)  # fmt: skip
def test_sprintf(fmt: str, args: list[Any], text: str) -> None:
    assert sprintf(fmt, args) == text


def test_sprint_spaces_only_between_non_strings() -> None:
    assert sprint([1, 2, "a", 3, "b", "c"]) == "1 2a3bc"
    assert sprint([None, 1.5]) == "<nil> 1.5"
    assert sprintln(["a", 1]) == "a 1\n"
    assert sprintln([]) == "\n"


def test_go_quote() -> None:
    assert go_quote('a"\\\n\t\x01é') == '"a\\"\\\\\\n\\t\\x01é"'


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1), st.sampled_from(["d", "x", "X", "o", "b"]),
       st.integers(min_value=0, max_value=30))  # fmt: skip
def test_integer_verbs_agree_with_python(n: int, verb: str, width: int) -> None:
    assert sprintf(f"%{verb}", [n]) == format(n, verb)
    assert sprintf(f"%{width}{verb}", [n]) == format(n, f">{width}{verb}")
    assert sprintf(f"%-{width}d", [n]) == format(n, f"<{width}d")


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_v_of_a_float_reads_back_as_the_same_float(value: float) -> None:
    assert float(sprintf("%v", [value])) == value


@given(
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.integers(min_value=0, max_value=12),
)
def test_fixed_and_exponent_verbs_agree_with_c_printf(value: float, prec: int) -> None:
    # Go and C both round the exact binary value correctly.
    assert sprintf(f"%.{prec}f", [value]) == f"%.{prec}f" % value
    assert sprintf(f"%.{prec}e", [value]) == f"%.{prec}e" % value
