"""Go (RE2) regex syntax read by Python, as label matchers need it."""

from __future__ import annotations

import re

import pytest

from metricslib.collector.model import Matcher
from metricslib.collector.model.regex import go_regex_error, go_regex_to_python


@pytest.mark.parametrize(
    ("go", "matches", "rejects"),
    [("((?i)PRO).*", "production", "xproduction"), (".*((?i)DUC).*", "proDucts", "prod"),
     ("(?i)foo", "FOO", "bar"), ("a[[:digit:]]+", "a12", "ab"), ("x\\z", "x", "x\n")],
)  # fmt: skip
def test_go_regex_dialect(go: str, matches: str, rejects: str) -> None:
    pattern = re.compile(go_regex_to_python(go))
    assert pattern.fullmatch(matches)
    assert not pattern.fullmatch(rejects)


def test_scoped_flags_end_with_their_group() -> None:
    pattern = re.compile(go_regex_to_python("((?i)a)b"))
    assert pattern.fullmatch("Ab")
    assert not pattern.fullmatch("AB")


def test_make_matcher_keeps_the_written_value() -> None:
    m = Matcher("g", "=~", ".*((?i)DUC).*")
    assert m.value == ".*((?i)DUC).*"
    assert m.matches("proDUCtion") and m.matches("product") and not m.matches("prod")
    assert Matcher("g", "=", "(?i)x").value == "(?i)x"
    with pytest.raises(ValueError):
        Matcher("g", "=~", "(")


@pytest.mark.parametrize(
    ("pattern", "message"),
    [("(", "missing closing ): `(`"), (")", "unexpected ): `)`"), ("*", "missing argument to repetition operator: `*`"),
     ("a**", "invalid nested repetition operator: `**`"), ("[a", "missing closing ]: `[a`"),
     ("[z-a]", "invalid character class range: `z-a`"), ("\\q", "invalid escape sequence: `\\q`")],
)  # fmt: skip
def test_regex_errors_use_go_wording(pattern: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        Matcher("a", "=~", pattern)
    assert go_regex_error(pattern, info.value) == message
