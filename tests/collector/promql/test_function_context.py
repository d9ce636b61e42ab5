"""What absent()/absent_over_time() report, from the selector's matchers."""

from __future__ import annotations

from metricslib.collector.model import Matcher
from metricslib.collector.promql.functions import (
    absent_labels,
)
from metricslib.collector.promql.parser import ast
from tests.collector.promql.function_helpers import L


def test_absent_labels_from_equality_matchers() -> None:
    sel = ast.VectorSelector(
        "x",
        (Matcher("__name__", "=", "x"), Matcher("job", "=", "a"), Matcher("inst", "=~", "b"),
         Matcher("dup", "=", "1"), Matcher("dup", "=", "2")),
    )
    assert absent_labels(sel) == L(job="a")
