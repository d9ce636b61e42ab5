"""Signatures of every PromQL function: what the parser type-checks against.

The implementations live in ``functions.py`` (the engine); this table is pure
data so that the parser never imports numpy. ``variadic`` follows Prometheus:
0 means exactly ``len(arg_types)`` arguments; N > 0 means the last N argument
types are optional; -1 means the last argument type repeats without limit
(and may be absent).
"""

from __future__ import annotations

from dataclasses import dataclass

from metricslib.collector.promql.parser.ast import ValueType

__all__ = [
    "AGGREGATORS",
    "AGGREGATORS_WITH_PARAM",
    "EXPERIMENTAL_AGGREGATORS",
    "FUNCTIONS",
    "RETURN_TYPES",
    "FunctionSignature",
    "documented_type",
]


@dataclass(frozen=True, slots=True)
class FunctionSignature:
    name: str
    arg_types: tuple[ValueType, ...]
    return_type: ValueType
    variadic: int = 0
    experimental: bool = False

    @property
    def min_args(self) -> int:
        return len(self.arg_types) if self.variadic == 0 else len(self.arg_types) - max(self.variadic, 1)

    @property
    def max_args(self) -> int | None:
        """None when unbounded."""
        if self.variadic < 0:
            return None
        return len(self.arg_types)

    def arg_type(self, index: int) -> ValueType:
        """Expected type of argument ``index`` (repeating types extend the last one)."""
        return self.arg_types[min(index, len(self.arg_types) - 1)]


def documented_type(t: ValueType) -> str:
    """The name Prometheus uses for a type in error messages."""
    return {"matrix": "range vector", "vector": "instant vector"}.get(t, t)


_V: ValueType = "vector"
_M: ValueType = "matrix"
_S: ValueType = "scalar"
_STR: ValueType = "string"


def _sig(name: str, args: tuple[ValueType, ...], ret: ValueType = "vector", variadic: int = 0,
         experimental: bool = False) -> FunctionSignature:  # fmt: skip
    return FunctionSignature(name, args, ret, variadic, experimental)


_SIGNATURES = [
    # Instant-vector math, one argument.
    *(
        _sig(n, (_V,))
        for n in (
            "abs", "absent", "ceil", "exp", "floor", "ln", "log10", "log2", "sgn", "sqrt",
            "acos", "acosh", "asin", "asinh", "atan", "atanh", "cos", "cosh", "sin", "sinh",
            "tan", "tanh", "deg", "rad", "timestamp", "sort", "sort_desc",
            "histogram_avg", "histogram_count", "histogram_sum", "histogram_stddev",
            "histogram_stdvar",
        )
    ),
    # Date functions default to time() when called without an argument.
    *(
        _sig(n, (_V,), variadic=1)
        for n in ("day_of_month", "day_of_week", "day_of_year", "days_in_month", "hour",
                  "minute", "month", "year")
    ),
    # Range-vector functions, one argument.
    *(
        _sig(n, (_M,))
        for n in (
            "absent_over_time", "avg_over_time", "changes", "count_over_time", "delta", "deriv",
            "idelta", "increase", "irate", "last_over_time", "max_over_time", "min_over_time",
            "present_over_time", "rate", "resets", "stddev_over_time", "stdvar_over_time",
            "sum_over_time",
        )
    ),
    *(
        _sig(n, (_M,), experimental=True)
        for n in ("first_over_time", "mad_over_time", "ts_of_first_over_time",
                  "ts_of_last_over_time", "ts_of_max_over_time", "ts_of_min_over_time")
    ),
    _sig("clamp", (_V, _S, _S)),
    _sig("clamp_max", (_V, _S)),
    _sig("clamp_min", (_V, _S)),
    _sig("round", (_V, _S), variadic=1),
    _sig("histogram_quantile", (_S, _V)),
    _sig("histogram_fraction", (_S, _S, _V)),
    _sig("quantile_over_time", (_S, _M)),
    _sig("predict_linear", (_M, _S)),
    _sig("double_exponential_smoothing", (_M, _S, _S), experimental=True),
    _sig("label_replace", (_V, _STR, _STR, _STR, _STR)),
    _sig("label_join", (_V, _STR, _STR, _STR), variadic=-1),
    _sig("sort_by_label", (_V, _STR), variadic=-1, experimental=True),
    _sig("sort_by_label_desc", (_V, _STR), variadic=-1, experimental=True),
    _sig("info", (_V, _V), variadic=1, experimental=True),
    _sig("pi", (), "scalar"),
    _sig("time", (), "scalar"),
    _sig("scalar", (_V,), "scalar"),
    _sig("vector", (_S,)),
]

#: Every function, by name.
FUNCTIONS: dict[str, FunctionSignature] = {s.name: s for s in _SIGNATURES}

#: Function name -> result type, the shape :func:`ast.value_type` wants.
RETURN_TYPES: dict[str, ValueType] = {s.name: s.return_type for s in _SIGNATURES}

#: Aggregation operators; those in AGGREGATORS_WITH_PARAM take a first parameter.
AGGREGATORS = frozenset(
    {"sum", "avg", "count", "min", "max", "group", "stddev", "stdvar", "topk", "bottomk",
     "quantile", "count_values", "limitk", "limit_ratio"}
)  # fmt: skip
AGGREGATORS_WITH_PARAM = frozenset({"topk", "bottomk", "quantile", "count_values", "limitk", "limit_ratio"})
#: Prometheus gates these behind --enable-feature=promql-experimental-functions.
EXPERIMENTAL_AGGREGATORS = frozenset({"limitk", "limit_ratio"})
