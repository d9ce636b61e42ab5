from __future__ import annotations

import hashlib
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metricslib.collector.model.relabel import RelabelConfig, expand_template, hashmod, relabel

BASE = {"a": "foo", "b": "bar", "c": "baz"}


def rule(**kw: object) -> RelabelConfig:
    return RelabelConfig.create(**kw)  # type: ignore[arg-type]


def test_replace_with_group_reference_sets_target() -> None:
    out = relabel(BASE, [rule(source_labels=["a"], regex="f(.*)", target_label="d", replacement="ch${1}-ch${1}")])
    assert out == {**BASE, "d": "choo-choo"}


def test_replace_joins_sources_with_separator() -> None:
    out = relabel(BASE, [rule(source_labels=["a", "b"], separator="/", regex="(.*)/(.*)",
                              target_label="d", replacement="$2:$1")])
    assert out is not None and out["d"] == "bar:foo"


def test_replace_regex_is_anchored_and_no_match_changes_nothing() -> None:
    rules = [rule(source_labels=["a"], regex="o", target_label="d", replacement="x")]
    assert relabel(BASE, rules) == BASE  # "o" occurs in "foo" but does not match all of it


def test_replace_to_empty_removes_label() -> None:
    assert relabel(BASE, [rule(source_labels=["x"], regex="", target_label="a", replacement="")]) == {
        "b": "bar", "c": "baz"}


def test_replace_target_label_may_be_templated() -> None:
    out = relabel({"a": "some-name-value"}, [rule(source_labels=["a"], regex="some-([^-]+)-([^,]+)",
                                                  target_label="${1}", replacement="${2}")])
    assert out == {"a": "some-name-value", "name": "value"}


def test_dollar_name_swallows_following_word_characters_like_go() -> None:
    m = re.fullmatch("(f)(o+)", "foo")
    assert m is not None
    assert expand_template("$1x", m) == ""  # group "1x" does not exist
    assert expand_template("${1}x", m) == "fx"
    assert expand_template("$$1", m) == "$1"
    assert expand_template("$2-$9", m) == "oo-"
    assert expand_template("cost $", m) == "cost $"


def test_named_groups_expand() -> None:
    m = re.fullmatch("(?P<first>f)(?P<rest>.*)", "foo")
    assert m is not None
    assert expand_template("${rest}/$first", m) == "oo/f"


def test_keep_and_drop() -> None:
    assert relabel(BASE, [rule(source_labels=["a"], regex="f.*", action="keep")]) == BASE
    assert relabel(BASE, [rule(source_labels=["a"], regex="f", action="keep")]) is None
    assert relabel(BASE, [rule(source_labels=["a"], regex="f.*", action="drop")]) is None
    assert relabel(BASE, [rule(source_labels=["a"], regex="f", action="drop")]) == BASE


def test_drop_on_missing_label_matches_empty_string() -> None:
    assert relabel(BASE, [rule(source_labels=["nope"], regex="", action="drop")]) is None


def test_keepequal_and_dropequal() -> None:
    labels = {"a": "x", "b": "x", "c": "y"}
    assert relabel(labels, [rule(source_labels=["a"], target_label="b", action="keepequal")]) == labels
    assert relabel(labels, [rule(source_labels=["a"], target_label="c", action="keepequal")]) is None
    assert relabel(labels, [rule(source_labels=["a"], target_label="b", action="dropequal")]) is None
    assert relabel(labels, [rule(source_labels=["a"], target_label="c", action="dropequal")]) == labels


def test_hashmod_matches_prometheus_known_values() -> None:
    # Values from Prometheus's own relabel tests.
    out = relabel(BASE, [rule(source_labels=["c"], target_label="d", action="hashmod", modulus=1000)])
    assert out is not None and out["d"] == "976"
    out = relabel({"a": "foo\nbar"}, [rule(source_labels=["a"], target_label="b", action="hashmod",
                                           modulus=1000)])
    assert out is not None and out["b"] == "734"


@given(st.text(max_size=30), st.integers(min_value=1, max_value=2**40))
def test_hashmod_is_md5_low_eight_bytes_big_endian(value: str, modulus: int) -> None:
    digest = hashlib.md5(value.encode()).digest()
    assert hashmod(value, modulus) == int.from_bytes(digest[8:16], "big") % modulus


def test_labelmap_copies_matching_names() -> None:
    out = relabel({"a": "foo", "b1": "bar", "b2": "baz"},
                  [rule(regex="(b.*)", replacement="bar_${1}", action="labelmap")])
    assert out == {"a": "foo", "b1": "bar", "b2": "baz", "bar_b1": "bar", "bar_b2": "baz"}


def test_labelmap_meta_prefix_strip() -> None:
    out = relabel({"__meta_kubernetes_pod_label_app": "web"},
                  [rule(regex="__meta_kubernetes_pod_label_(.+)", action="labelmap")])
    assert out == {"__meta_kubernetes_pod_label_app": "web", "app": "web"}


def test_labeldrop_and_labelkeep() -> None:
    assert relabel(BASE, [rule(regex="[ab]", action="labeldrop")]) == {"c": "baz"}
    assert relabel(BASE, [rule(regex="[ab]", action="labelkeep")]) == {"a": "foo", "b": "bar"}


def test_lowercase_and_uppercase() -> None:
    labels = {"a": "FooBar"}
    assert relabel(labels, [rule(source_labels=["a"], target_label="l", action="lowercase")]) == {
        "a": "FooBar", "l": "foobar"}
    assert relabel(labels, [rule(source_labels=["a"], target_label="u", action="uppercase")]) == {
        "a": "FooBar", "u": "FOOBAR"}


def test_rules_apply_in_order() -> None:
    rules = [
        rule(source_labels=["a"], target_label="tmp", replacement="x$1"),
        rule(source_labels=["tmp"], regex="xfoo", action="keep"),
        rule(regex="tmp", action="labeldrop"),
    ]
    assert relabel(BASE, rules) == BASE


def test_dot_does_not_match_newline_like_go() -> None:
    assert relabel({"a": "x\ny"}, [rule(source_labels=["a"], regex=".*", action="keep")]) is None
    assert relabel({"a": "x\n"}, [rule(source_labels=["a"], regex="x", action="keep")]) is None


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"action": "hashmod", "target_label": "x"}, "requires non-zero modulus"),
        ({"action": "replace"}, "requires 'target_label'"),
        ({"action": "lowercase", "target_label": "1bad"}, "invalid 'target_label'"),
        ({"action": "labeldrop", "source_labels": ["a"]}, "requires only 'regex'"),
        ({"action": "keepequal", "target_label": "a", "regex": "x"}, "requires only 'source_labels'"),
        ({"action": "explode"}, "unknown relabel action"),
        ({"regex": "(", "target_label": "a"}, "invalid regex"),
        ({"action": "labelmap", "replacement": "bad-name"}, "invalid 'replacement'"),
        ({"source_labels": ["bad-name"], "target_label": "a"}, "not a valid label name"),
        # Prometheus 2.42 refuses PCRE-only syntax (Go's RE2), with Go's reason.
        ({"regex": "(?=x)", "target_label": "a"}, "error parsing regexp: invalid or unsupported Perl syntax: `(?=`"),
        ({"regex": "(a)\\1", "target_label": "a"}, "error parsing regexp: invalid escape sequence: `\\1`"),
        ({"regex": "a{1001}", "action": "drop"}, "error parsing regexp: invalid repeat count: `{1001}`"),
    ],
)
def test_invalid_rules_are_rejected_with_reason(kw: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        rule(**kw)


def test_hostile_regex_and_target_label_are_linear() -> None:
    # Both are exponential under a backtracking engine; RE2 answers at once.
    bomb = rule(source_labels=["a"], regex="(a+)+", action="drop")
    assert relabel({"a": "a" * 3000 + "!"}, [bomb]) == {"a": "a" * 3000 + "!"}
    with pytest.raises(ValueError, match="invalid 'target_label'"):
        rule(target_label="a" * 3000 + "!")


def test_lone_surrogates_do_not_crash() -> None:
    assert relabel({"a": "x\ud800"}, [rule(source_labels=["a"], regex="y.*", action="keep")]) is None
    assert relabel({"a": "x\ud800"}, [rule(source_labels=["a"], regex="y.*", action="drop")]) == {"a": "x\ud800"}


def test_action_is_case_insensitive() -> None:
    assert rule(action="Keep", regex="x").action == "keep"


@given(st.dictionaries(st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True), st.text(min_size=1, max_size=8),
                       max_size=5))
def test_default_replace_rule_copies_value(labels: dict[str, str]) -> None:
    rules = [rule(source_labels=sorted(labels), separator=";", target_label="joined")]
    out = relabel(labels, rules)
    joined = ";".join(labels[k] for k in sorted(labels))
    assert out is not None
    if "\n" in joined:  # "(.*)" does not match across newlines in Go either
        assert out.get("joined") == labels.get("joined")
    else:
        expected = {**labels, "joined": joined} if joined else {k: v for k, v in labels.items() if k != "joined"}
        assert out == expected


@pytest.mark.parametrize(
    ("regex", "value", "matches"),
    [
        ("(?i)foo", "FOO", True),  # a leading flag group, common in real configs
        ("a(?i)b", "aB", True),  # RE2 allows flags mid-pattern
        ("a(?i)b", "AB", False),
        ("[[:digit:]]+", "123", True),
        ("[[:digit:]]+", "1a", False),
        ("foo|bar", "bar", True),  # the alternation is anchored as a whole
        ("foo|bar", "foobar", False),
        (r"\Qa.b\E", "a.b", True),
        (r"\Qa.b\E", "axb", False),
    ],
)
def test_regexes_follow_go_re2_syntax(regex: str, value: str, matches: bool) -> None:
    kept = relabel({"a": value}, [rule(source_labels=["a"], regex=regex, action="keep")])
    assert (kept is not None) is matches
