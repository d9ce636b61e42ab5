"""label_replace/label_join: Go template expansion, errors, Go regex syntax, """

from __future__ import annotations

import numpy as np
import pytest

from metricslib.collector.model import Labels
from metricslib.collector.promql.functions import (
    label_join,
    label_replace,
)
from metricslib.collector.promql.values import Block
from metricslib.errors import QueryExecutionError
from tests.collector.promql.function_helpers import L


def _vec(rows: list[Labels]) -> Block:
    n = len(rows)
    return Block(rows, np.arange(n, dtype=float).reshape(n, 1), np.ones((n, 1), dtype=bool), [True] * n)


def test_label_replace_expands_groups_and_preserves_on_no_match() -> None:
    b = _vec([L(__name__="up", src="a-b"), L(__name__="up", src="zzz")])
    out = label_replace(b, "dst", "$1-${2}x$name", "src", "(\\w)-(?P<name>\\w)")
    assert out.labels[0] == L(__name__="up", src="a-b", dst="a-bxb")
    assert out.labels[1] == L(__name__="up", src="zzz")
    assert out.drop_name == [True, True]


def test_label_replace_regex_bomb_is_linear_and_pcre_is_refused() -> None:
    # The bomb: exponential in Python's re, linear in RE2.
    b = _vec([L(a="a" * 3000 + "!")])
    out = label_replace(b, "b", "$1", "a", "(a+)+")
    assert out.labels == [L(a="a" * 3000 + "!")]
    with pytest.raises(QueryExecutionError, match=r"error parsing regexp: invalid or unsupported Perl syntax: `\(\?=`"):
        label_replace(b, "b", "$1", "a", "(?=x)")


def test_label_replace_setting_name_keeps_it() -> None:
    b = _vec([L(__name__="up", job="x")])
    out = label_replace(b, "__name__", "new_$1", "__name__", "(.*)")
    assert out.labels == [L(__name__="new_up", job="x")]
    assert out.drop_name == [False]


def test_label_replace_errors() -> None:
    b = _vec([L(a="1")])
    with pytest.raises(QueryExecutionError, match=r"label_replace\(\): error parsing regexp: missing closing \)"):
        label_replace(b, "dst", "", "src", "(.*")
    with pytest.raises(QueryExecutionError, match="invalid destination label name"):
        label_replace(b, "", "", "src", "(.*)")
    dup = _vec([L(a="1", b="x"), L(a="1", b="y")])
    with pytest.raises(QueryExecutionError, match="same labelset"):
        label_replace(dup, "b", "", "", "")


def test_label_replace_reads_go_regex_syntax() -> None:
    b = _vec([L(a="X-1")])
    out = label_replace(b, "d", "$1", "a", "((?i)x)-[[:digit:]]")
    assert out.labels == [L(a="X-1", d="X")]


def test_label_join() -> None:
    b = _vec([L(a="1", b="2")])
    assert label_join(b, "c", "-", ["a", "b", "missing"]).labels == [L(a="1", b="2", c="1-2-")]

