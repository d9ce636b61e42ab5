"""The function signature table agrees with Prometheus's and with the parser."""

from __future__ import annotations

import pytest

from metricslib.collector.promql.parser.functions import (
    AGGREGATORS,
    AGGREGATORS_WITH_PARAM,
    EXPERIMENTAL_AGGREGATORS,
    FUNCTIONS,
    RETURN_TYPES,
    documented_type,
)
from metricslib.collector.promql.parser.parse import parse_expr, type_of
from metricslib.errors import PromQLParseError

ARG_TEXT = {"vector": "v", "matrix": "m[1m]", "scalar": "1", "string": '"s"'}


def test_signatures_of_well_known_functions() -> None:
    rate = FUNCTIONS["rate"]
    assert (rate.arg_types, rate.return_type, rate.variadic) == (("matrix",), "vector", 0)
    assert FUNCTIONS["label_join"].min_args == 3 and FUNCTIONS["label_join"].max_args is None
    assert FUNCTIONS["round"].min_args == 1 and FUNCTIONS["round"].max_args == 2
    assert FUNCTIONS["hour"].min_args == 0 and FUNCTIONS["hour"].max_args == 1
    assert RETURN_TYPES["time"] == "scalar" and RETURN_TYPES["scalar"] == "scalar"
    assert FUNCTIONS["sort_by_label"].experimental and not FUNCTIONS["sort"].experimental
    assert FUNCTIONS["label_join"].arg_type(7) == "string"


def test_aggregators() -> None:
    assert AGGREGATORS_WITH_PARAM < AGGREGATORS
    assert {"limitk", "limit_ratio"} == EXPERIMENTAL_AGGREGATORS


def test_documented_types() -> None:
    assert [documented_type(t) for t in ("matrix", "vector", "scalar", "string")] == [
        "range vector", "instant vector", "scalar", "string",
    ]  # fmt: skip


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_function_parses_with_its_minimum_and_maximum_arguments(name: str) -> None:
    sig = FUNCTIONS[name]
    counts = {sig.min_args, sig.max_args if sig.max_args is not None else sig.min_args + 2}
    for count in counts:
        args = ", ".join(ARG_TEXT[sig.arg_type(i)] for i in range(count))
        expr = parse_expr(f"{name}({args})")
        assert type_of(expr) == sig.return_type
    if sig.max_args is not None:
        too_many = ", ".join(ARG_TEXT[sig.arg_type(i)] if sig.arg_types else "1" for i in range(sig.max_args + 1))
        with pytest.raises(PromQLParseError, match="argument"):
            parse_expr(f"{name}({too_many})")
