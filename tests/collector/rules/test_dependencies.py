"""What a rule can read: the metric names of its selectors, or anything."""

from __future__ import annotations

import pytest

from metricslib.collector.rules.dependencies import ANYTHING, selected_names


@pytest.mark.parametrize(("expr", "names"), [
    ('sum by (job) (rate(x_total{path="/a"}[5m]))', {"x_total"}),
    ("a / on (job) group_left b", {"a", "b"}),
    ("max_over_time(deriv(y[5m])[10m:1m] offset 1m)", {"y"}),
    ('{__name__="z", job="j"}', {"z"}),
    ("vector(1) + scalar(w)", {"w"}),
    ("time()", set()),
])
def test_names_of_the_selectors(expr: str, names: set[str]) -> None:
    assert selected_names(expr) == frozenset(names)


@pytest.mark.parametrize("expr", [
    '{__name__=~"job:.*"}',
    '{job="a"}',
    'x + {__name__!="y", job="a"}',
    "info(x)",
])
def test_a_selector_without_a_fixed_name_may_read_anything(expr: str) -> None:
    assert selected_names(expr) is ANYTHING
