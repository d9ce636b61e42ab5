"""PromQL syntax tree: what the parser produces and the engine evaluates.

Pure data, no evaluation. Durations and offsets are integer milliseconds.
``pos`` is the 0-based (character) offset of the node's first character in
the query, used to point errors at the right place; a binary expression starts
at its left operand.

What :func:`parser.parse_expr` guarantees about the trees it returns:

- ``VectorSelector.matchers`` always holds every matcher, including
  ``__name__="x"`` when a name was written (``x{...}`` or ``{"x", ...}``), so
  the engine needs only ``matchers``; ``name`` is the name written before the
  braces (None for ``{"x"}`` and ``{__name__="x"}``, as in Prometheus).
  Regex matchers read Go RE2 syntax (``model.Matcher`` translates it, so
  ``((?i)a)b`` works); their ``value`` is as written.
- A sign before a number literal is folded into it (``-1`` is
  ``NumberLiteral(-1.0)``); a duration where a number is expected is its
  value in seconds (``5m`` is ``NumberLiteral(300.0)``).
- ``BinaryExpr.matching`` is set exactly when both sides are instant vectors:
  one-to-one with no labels by default, ``many-to-many`` for ``and``/``or``/
  ``unless``; None when either side is a scalar.
- Experimental duration expressions (``x[5m + 30s]``, ``offset (2 * 1m)``) are
  folded into the millisecond fields; only those using ``step()`` stay as
  :class:`DurationExpr` in the ``*_expr`` fields, and the engine resolves them
  per query with ``parser.resolve_durations(expr, step_ms)``.
- The experimental ``anchored``/``smoothed`` modifiers (``rate(x[5m] anchored)``,
  ``x smoothed``) set the flags of the same names on the ``VectorSelector``
  (inside the ``MatrixSelector`` for ranges). They are parsed only when the
  caller passes ``extended_range_selectors=True``, so an engine that does not
  implement them rejects such queries instead of ignoring the modifier; an
  engine that does should also set ``EXTENDED_RANGE_SELECTORS = True`` in its
  module so the conformance runner stops skipping those evals.
- ``at`` is milliseconds (``@ 1.5`` is 1500) or ``"start"``/``"end"``; a range
  selector's offset and ``@`` live on its inner ``VectorSelector``.
- String literals follow Go's unquoting; bytes that are not valid UTF-8
  (``"\\xff"``) are kept as lone surrogates (``surrogateescape``), so label
  names built from them can be rejected, and :func:`model.quoting.go_quote` prints
  them the way Prometheus does.
- Every tree has passed Prometheus's type checks (:mod:`checker`): argument
  counts and types, operand types, modifiers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from metricslib.collector.model import Matcher

__all__ = [
    "BINARY_PRECEDENCE",
    "AggregateExpr",
    "BinaryExpr",
    "Call",
    "DurationExpr",
    "Expr",
    "MatrixSelector",
    "NumberLiteral",
    "ParenExpr",
    "StringLiteral",
    "SubqueryExpr",
    "UnaryExpr",
    "ValueType",
    "VectorMatching",
    "VectorSelector",
    "left_spine",
    "value_type",
]

ValueType = Literal["scalar", "vector", "matrix", "string"]

#: ``@ start()`` / ``@ end()`` resolve at evaluation time; a number is fixed (ms).
AtModifier = int | Literal["start", "end"] | None


@dataclass(frozen=True, slots=True)
class NumberLiteral:
    value: float
    pos: int = 0


@dataclass(frozen=True, slots=True)
class StringLiteral:
    value: str
    pos: int = 0


@dataclass(frozen=True, slots=True)
class DurationExpr:
    """A duration that depends on the query step (experimental duration expressions),
    e.g. the range in ``x[step() + 1m]``. Constant ones are folded by the parser.

    ``op`` is ``"step"``, ``"number"`` (``seconds`` holds the value), ``"neg"``,
    a binary operator (``+ - * / % ^``) or ``"min"``/``"max"``; ``args`` are its
    operands. ``parser.resolve_durations`` replaces them with milliseconds.
    """

    op: str
    args: tuple[DurationExpr, ...] = ()
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class VectorSelector:
    """``name{matchers} offset X @ T``. ``matchers`` includes the ``__name__``
    matcher when a name was written, so the engine needs only ``matchers``."""

    name: str | None
    matchers: tuple[Matcher, ...]
    offset_ms: int = 0
    at: AtModifier = None
    pos: int = 0
    #: set when the offset needs the query step; offset_ms is then 0 until resolved
    offset_expr: DurationExpr | None = None
    #: experimental ``x[5m] anchored`` / ``x[5m] smoothed`` / ``x smoothed``
    #: (parsed only with ``parse_expr(..., extended_range_selectors=True)``)
    anchored: bool = False
    smoothed: bool = False


@dataclass(frozen=True, slots=True)
class MatrixSelector:
    """``selector[range]``; offset and @ live on the inner selector."""

    vector: VectorSelector
    range_ms: int
    pos: int = 0
    range_expr: DurationExpr | None = None


@dataclass(frozen=True, slots=True)
class SubqueryExpr:
    """``expr[range:step] offset X @ T``; ``step_ms`` 0 means the default step."""

    expr: Expr
    range_ms: int
    step_ms: int = 0
    offset_ms: int = 0
    at: AtModifier = None
    pos: int = 0
    range_expr: DurationExpr | None = None
    step_expr: DurationExpr | None = None
    offset_expr: DurationExpr | None = None


@dataclass(frozen=True, slots=True)
class Call:
    func: str
    args: tuple[Expr, ...]
    pos: int = 0


@dataclass(frozen=True, slots=True)
class AggregateExpr:
    """``op [without|by (grouping)] ([param,] expr)``."""

    op: str
    expr: Expr
    param: Expr | None = None
    grouping: tuple[str, ...] = ()
    without: bool = False
    pos: int = 0


@dataclass(frozen=True, slots=True)
class VectorMatching:
    """How two vectors pair up in a binary operation.

    ``card`` is ``one-to-one``, ``many-to-one`` (group_left), ``one-to-many``
    (group_right) or ``many-to-many`` (and, or, unless). ``on`` is True for
    ``on(labels)``, False for ``ignoring(labels)``; ``include`` holds the extra
    labels named in ``group_left(...)``/``group_right(...)``.
    """

    card: Literal["one-to-one", "many-to-one", "one-to-many", "many-to-many"] = "one-to-one"
    on: bool = False
    labels: tuple[str, ...] = ()
    include: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BinaryExpr:
    """``lhs op [bool] [on|ignoring(...)] [group_left|group_right(...)] rhs``.

    ``matching`` is set whenever both sides are vectors (defaulting to
    one-to-one with no labels, or many-to-many for set operators)."""

    op: str
    lhs: Expr
    rhs: Expr
    matching: VectorMatching | None = None
    return_bool: bool = False
    pos: int = 0


@dataclass(frozen=True, slots=True)
class UnaryExpr:
    op: Literal["-", "+"]
    expr: Expr
    pos: int = 0


@dataclass(frozen=True, slots=True)
class ParenExpr:
    expr: Expr
    pos: int = 0


Expr = (
    NumberLiteral
    | StringLiteral
    | VectorSelector
    | MatrixSelector
    | SubqueryExpr
    | Call
    | AggregateExpr
    | BinaryExpr
    | UnaryExpr
    | ParenExpr
)

COMPARISON_OPS = frozenset({"==", "!=", ">", "<", ">=", "<="})
SET_OPS = frozenset({"and", "or", "unless"})

#: Binding power of each binary operator (higher binds tighter); the parser and the printer both use it.
BINARY_PRECEDENCE: dict[str, int] = {
    "or": 1,
    "and": 2,
    "unless": 2,
    **{op: 3 for op in COMPARISON_OPS},
    "+": 4,
    "-": 4,
    "*": 5,
    "/": 5,
    "%": 5,
    "atan2": 5,
    "^": 6,
}


def value_type(expr: Expr, function_return_types: dict[str, ValueType] | None = None) -> ValueType:
    """The type an expression evaluates to, following Prometheus's rules."""
    if isinstance(expr, NumberLiteral):
        return "scalar"
    if isinstance(expr, StringLiteral):
        return "string"
    if isinstance(expr, VectorSelector | AggregateExpr):
        return "vector"
    if isinstance(expr, MatrixSelector | SubqueryExpr):
        return "matrix"
    if isinstance(expr, ParenExpr | UnaryExpr):
        return value_type(expr.expr, function_return_types)
    if isinstance(expr, Call):
        if function_return_types is None:
            raise ValueError("value_type of a Call needs the function table")
        return function_return_types[expr.func]
    spine = left_spine(expr)
    sides = [spine[-1].lhs, *(node.rhs for node in spine)]
    if all(value_type(side, function_return_types) == "scalar" for side in sides):
        return "scalar"
    return "vector"


def left_spine(expr: BinaryExpr) -> list[BinaryExpr]:
    """``expr`` and the binary expressions down its left operands, top first.

    A chain such as ``a or b or ... or z`` parses into a left-deep tree as
    deep as it is long; walkers loop over this list instead of recursing per
    term, so only real nesting costs recursion depth."""
    spine = [expr]
    while isinstance(spine[-1].lhs, BinaryExpr):
        spine.append(spine[-1].lhs)
    return spine
