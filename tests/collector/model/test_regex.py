"""Go (RE2) regexes compiled by RE2: Go's syntax, rejections, wording and linear time."""

from __future__ import annotations

import pytest

from metricslib.collector.model import Matcher
from metricslib.collector.model.regex import GoRegexError, compile_go_regex


@pytest.mark.parametrize(
    ("go", "matches", "rejects"),
    [("((?i)PRO).*", "production", "xproduction"), (".*((?i)DUC).*", "proDucts", "prod"),
     ("(?i)foo", "FOO", "bar"), ("a[[:digit:]]+", "a12", "ab"), ("x\\z", "x", "x\n"),
     ("\\Qa.b\\E", "a.b", "axb"), ("(?U)a+", "aaa", "b"), ("\\pL+", "héllo", "h1"),
     ("(?P<n>x)(?P<n>y)", "xy", "x")],
)  # fmt: skip
def test_go_regex_dialect(go: str, matches: str, rejects: str) -> None:
    pattern = compile_go_regex(go)
    assert pattern.matches(matches)
    assert not pattern.matches(rejects)


def test_scoped_flags_end_with_their_group() -> None:
    pattern = compile_go_regex("((?i)a)b")
    assert pattern.matches("Ab")
    assert not pattern.matches("AB")


def test_dot_and_newline() -> None:
    assert not compile_go_regex("a.b").matches("a\nb")
    assert compile_go_regex("a.b", dot_matches_newline=True).matches("a\nb")


def test_groups_for_templates() -> None:
    m = compile_go_regex("(?P<host>[^:]+):(\\d+)?(x)?").fullmatch("web:80")
    assert m is not None
    assert (m.group(0), m.group(1), m.group("host"), m.group(2), m.group(3)) == ("web:80", "web", "web", "80", None)
    with pytest.raises(IndexError):
        m.group(4)
    with pytest.raises(IndexError):
        m.group("port")
    assert compile_go_regex("a").fullmatch("ab") is None


def test_anchored_like_prometheus() -> None:
    # Prometheus compiles ^(?:a)|(b)$: the alternation escapes the anchors, as in Go.
    pattern = compile_go_regex("a)|(b")
    assert pattern.matches("abc") and pattern.matches("xb") and not pattern.matches("xbx")


def test_invalid_utf8_from_the_lexer_does_not_raise() -> None:
    # The lexer keeps invalid UTF-8 as surrogate escapes; RE2 sees the raw bytes.
    # (Go reads such a byte as U+FFFD, which "." matches; RE2's "." does not.)
    assert not compile_go_regex("a.b").matches("a\udcffb")
    m = compile_go_regex("(a)(.*)").fullmatch("ab\udcff")
    assert m is None
    with pytest.raises(GoRegexError, match="invalid UTF-8"):
        compile_go_regex("x\udcff")


def test_backtracking_bomb_is_linear() -> None:
    # Exponential for a backtracking engine (each "a" doubles the work); RE2
    # answers at once. No timing assertion: the test would hang if it regressed.
    assert not compile_go_regex("(a+)+").matches("a" * 5000 + "!")
    assert not compile_go_regex("(.*a){20}").matches("a" * 19 + "b" * 5000)


def test_make_matcher_keeps_the_written_value() -> None:
    m = Matcher("g", "=~", ".*((?i)DUC).*")
    assert m.value == ".*((?i)DUC).*"
    assert m.matches("proDUCtion") and m.matches("product") and not m.matches("prod")
    assert Matcher("g", "=", "(?i)x").value == "(?i)x"
    with pytest.raises(ValueError):
        Matcher("g", "=~", "(")


# Each message is what Prometheus 2.42 (`promtool check rules` on up{a=~"..."})
# prints after "error parsing regexp: "; Go names part of the anchored ^(?:...)$.
@pytest.mark.parametrize(
    ("pattern", "message"),
    [("(", "missing closing ): `^(?:()$`"), (")", "unexpected ): `^(?:))$`"),
     ("*", "missing argument to repetition operator: `*`"),
     ("a**", "invalid nested repetition operator: `**`"), ("[a", "missing closing ]: `[a)$`"),
     ("[z-a]", "invalid character class range: `z-a`"), ("\\q", "invalid escape sequence: `\\q`"),
     ("\\", "missing closing ): `^(?:\\)$`"), ("(?=x)", "invalid or unsupported Perl syntax: `(?=`"),
     ("(a)\\1", "invalid escape sequence: `\\1`"), ("\\8", "invalid escape sequence: `\\8`"),
     ("a{1001}", "invalid repeat count: `{1001}`"), ("(a{1000}){1000}", "invalid repeat count: `{1000}`"),
     ("a{2,1}", "invalid repeat count: `{2,1}`"), ("x{1000}{2}", "invalid nested repetition operator: `{1000}{2}`"),
     ("(?<n>x)", "invalid or unsupported Perl syntax: `(?<`"), ("\\C", "invalid escape sequence: `\\C`"),
     ("(?z)", "invalid or unsupported Perl syntax: `(?z`"), ("(?P=n)", "invalid or unsupported Perl syntax: `(?P`"),
     ("[[:foo:]]", "invalid character class range: `[:foo:]`"), ("\\pX", "invalid character class range: `\\pX`"),
     ("\\x{110000}", "invalid escape sequence: `\\x{110000`")],
)  # fmt: skip
def test_regex_errors_use_go_wording(pattern: str, message: str) -> None:
    with pytest.raises(GoRegexError) as info:
        Matcher("a", "=~", pattern)
    assert str(info.value) == message


def test_go_only_rejections_respect_classes_and_quotes() -> None:
    # As Prometheus 2.42: "(?<" inside a class or \Q...\E is literal, "\C" is refused
    # even in a class, and look-behind is refused with the "(?<" wording.
    compile_go_regex("[(?<]")
    compile_go_regex("\\Q(?<\\E")
    with pytest.raises(GoRegexError, match="invalid escape sequence: `\\\\C`"):
        compile_go_regex("[\\C]x")
    with pytest.raises(GoRegexError, match="unsupported Perl syntax: `\\(\\?<`"):
        compile_go_regex("(?<=x)")
