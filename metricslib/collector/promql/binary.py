"""Binary operators: arithmetic, comparisons and set operators, with vector matching.

Operands are :class:`~metricslib.collector.promql.values.Block` objects holding
every evaluation time at once. Matching works on series (a series' labels do not
change over time) and the per-time rules (a match needs both sides present; a
duplicate on the "one" side is an error only where both duplicates exist) are
applied column-wise with numpy masks.
"""

from __future__ import annotations

import numpy as np

from metricslib.collector.model import METRIC_NAME, Labels
from metricslib.collector.promql.parser.ast import COMPARISON_OPS, SET_OPS, VectorMatching
from metricslib.collector.promql.values import Block, BoolArray, FloatArray, format_labels
from metricslib.errors import QueryExecutionError

__all__ = [
    "ARITHMETIC_OPS",
    "arithmetic",
    "compare",
    "scalar_binary",
    "vector_scalar_binary",
    "vector_vector_binary",
]

# Go's float semantics: x/0 = ±Inf, NaN propagates, and math.Mod keeps the
# dividend's sign (C fmod), not Python's floor modulo.
_ARITHMETIC = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "/": np.divide,
    "%": np.fmod,
    "^": np.power,
    "atan2": np.arctan2,
}
_COMPARE = {
    "==": np.equal,
    "!=": np.not_equal,
    ">": np.greater,
    "<": np.less,
    ">=": np.greater_equal,
    "<=": np.less_equal,
}
ARITHMETIC_OPS = frozenset(_ARITHMETIC)


def arithmetic(op: str, a: FloatArray, b: FloatArray) -> FloatArray:
    """Element-wise arithmetic with Go's float semantics."""
    ufunc = _ARITHMETIC.get(op)
    if ufunc is None:
        raise QueryExecutionError(f"operator {op!r} not allowed for arithmetic")
    with np.errstate(all="ignore"):
        result: FloatArray = ufunc(a, b)
    return result


def compare(op: str, a: FloatArray, b: FloatArray) -> BoolArray:
    ufunc = _COMPARE.get(op)
    if ufunc is None:
        raise QueryExecutionError(f"operator {op!r} is not a comparison")
    with np.errstate(invalid="ignore"):
        result: BoolArray = ufunc(a, b)
    return result


def scalar_binary(op: str, a: FloatArray, b: FloatArray) -> FloatArray:
    """scalar op scalar; comparisons between scalars always carry ``bool``."""
    if op in COMPARISON_OPS:
        return compare(op, a, b).astype(np.float64)
    return arithmetic(op, a, b)


def vector_scalar_binary(
    op: str, vec: Block, scalar: FloatArray, *, scalar_on_left: bool, return_bool: bool
) -> Block:
    lhs: FloatArray = vec.values
    rhs: FloatArray = np.broadcast_to(scalar, vec.values.shape)
    if scalar_on_left:
        lhs, rhs = rhs, lhs
    if op in COMPARISON_OPS:
        keep = compare(op, lhs, rhs)
        if return_bool:
            return Block(list(vec.labels), keep.astype(np.float64), vec.present.copy(), [True] * len(vec))
        # A filter keeps the vector's own value even when the scalar is on the left.
        return Block(list(vec.labels), vec.values.copy(), vec.present & keep, list(vec.drop_name))
    values = arithmetic(op, lhs, rhs)
    return Block(list(vec.labels), values, vec.present.copy(), [True] * len(vec))


def _signature(labels: Labels, matching: VectorMatching) -> Labels:
    if matching.on:
        names = set(matching.labels)
        return tuple(p for p in labels if p[0] in names)
    ignored = set(matching.labels)
    ignored.add(METRIC_NAME)
    return tuple(p for p in labels if p[0] not in ignored)


def _group_by_signature(block: Block, matching: VectorMatching) -> dict[Labels, list[int]]:
    groups: dict[Labels, list[int]] = {}
    for i, lbl in enumerate(block.labels):
        groups.setdefault(_signature(lbl, matching), []).append(i)
    return groups


def _set_operation(op: str, lhs: Block, rhs: Block, matching: VectorMatching) -> Block:
    n_times = lhs.n_times
    rhs_groups = _group_by_signature(rhs, matching)
    rhs_any = {sig: rhs.present[rows].any(axis=0) for sig, rows in rhs_groups.items()}
    none = np.zeros(n_times, dtype=bool)
    if op in ("and", "unless"):
        present = lhs.present.copy()
        for i, lbl in enumerate(lhs.labels):
            other = rhs_any.get(_signature(lbl, matching), none)
            present[i] &= other if op == "and" else ~other
        return Block(list(lhs.labels), lhs.values.copy(), present, list(lhs.drop_name)).compact()
    # or: every lhs sample, plus rhs samples whose signature the lhs lacks at that time.
    lhs_groups = _group_by_signature(lhs, matching)
    lhs_any = {sig: lhs.present[rows].any(axis=0) for sig, rows in lhs_groups.items()}
    rhs_present = rhs.present.copy()
    for i, lbl in enumerate(rhs.labels):
        taken = lhs_any.get(_signature(lbl, matching))
        if taken is not None:
            rhs_present[i] &= ~taken
    out = Block(
        list(lhs.labels) + list(rhs.labels),
        np.concatenate([lhs.values, rhs.values]),
        np.concatenate([lhs.present, rhs_present]),
        list(lhs.drop_name) + list(rhs.drop_name),
    )
    return out.compact().consolidate()


def _result_labels(
    many: Labels, one: Labels, matching: VectorMatching, op: str, return_bool: bool
) -> Labels:
    out = dict(many)
    if matching.card == "one-to-one":
        if matching.on:
            keep = set(matching.labels)
            out = {k: v for k, v in out.items() if k in keep}
        else:
            for name in matching.labels:
                out.pop(name, None)
    if matching.include:
        one_d = dict(one)
        for name in matching.include:
            value = one_d.get(name, "")
            if value:
                out[name] = value
            else:
                out.pop(name, None)
    return tuple(sorted(out.items()))


def vector_vector_binary(
    op: str, lhs: Block, rhs: Block, matching: VectorMatching, *, return_bool: bool
) -> Block:
    if op in SET_OPS:
        return _set_operation(op, lhs, rhs, matching)
    n_times = lhs.n_times
    swap = matching.card == "one-to-many"
    many, one = (rhs, lhs) if swap else (lhs, rhs)
    one_groups = _group_by_signature(one, matching)
    # The "one" side must be unique per signature at each time, matched or not.
    for sig, rows in one_groups.items():
        if len(rows) > 1:
            counts = one.present[rows].sum(axis=0)
            if (counts > 1).any():
                t = int(np.argmax(counts > 1))
                dupes = [one.labels[r] for r in rows if one.present[r, t]][:2]
                side = "left" if swap else "right"
                raise QueryExecutionError(
                    f"found duplicate series for the match group {format_labels(sig)} on the {side} "
                    f"hand-side of the operation: [{format_labels(dupes[0])}, {format_labels(dupes[1])}]"
                    ";many-to-many matching not allowed: matching labels must be unique on one side"
                )
    is_cmp = op in COMPARISON_OPS
    # First find every (many row, one row) pair that coexists at some time, then compute
    # all pairs with one numpy operation over a (pairs x times) array.
    pair_m: list[int] = []
    pair_r: list[int] = []
    out_sig: list[Labels] = []
    for m, lbl in enumerate(many.labels):
        sig = _signature(lbl, matching)
        for r in one_groups.get(sig, ()):
            pair_m.append(m)
            pair_r.append(r)
            out_sig.append(sig)
    if not pair_m:
        return Block.empty(n_times)
    pm = np.asarray(pair_m, dtype=np.intp)
    pr = np.asarray(pair_r, dtype=np.intp)
    # Matching errors count every matched pair, even ones a comparison filters away.
    pairs = many.present[pm] & one.present[pr]
    fl, fr = many.values[pm], one.values[pr]
    if swap:
        fl, fr = fr, fl
    if is_cmp:
        keep = compare(op, fl, fr)
        values = keep.astype(np.float64) if return_bool else fl.copy()
        present = pairs if return_bool else pairs & keep
    else:
        values = arithmetic(op, fl, fr)
        present = pairs
    out_labels = [
        _result_labels(many.labels[m], one.labels[r], matching, op, return_bool)
        for m, r in zip(pair_m, pair_r, strict=True)
    ]
    # Arithmetic and bool comparisons drop the name; filters keep the lhs's flag.
    out_drop = [True if (return_bool or not is_cmp) else many.drop_name[m] for m in pair_m]
    if matching.card == "one-to-one":
        by_sig: dict[Labels, list[int]] = {}
        for i, sig in enumerate(out_sig):
            by_sig.setdefault(sig, []).append(i)
        for rows in by_sig.values():
            if len(rows) > 1 and (pairs[rows].sum(axis=0) > 1).any():
                raise QueryExecutionError(
                    "multiple matches for labels: many-to-one matching must be explicit "
                    "(group_left/group_right)"
                )
    else:
        seen: dict[tuple[Labels, Labels], list[int]] = {}
        for i, (sig, lbl) in enumerate(zip(out_sig, out_labels, strict=False)):
            seen.setdefault((sig, lbl), []).append(i)
        for rows in seen.values():
            if len(rows) > 1 and (pairs[rows].sum(axis=0) > 1).any():
                raise QueryExecutionError(
                    "multiple matches for labels: grouping labels must ensure unique matches"
                )
    out = Block(out_labels, values, present, out_drop)
    return out.compact().consolidate()
