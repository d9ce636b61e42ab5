"""Judging an eval's result the way Prometheus's ``promqltest`` does.

Results are read through the engine's public contract, ``QueryResult.to_api()``
(Prometheus's API ``data`` object), so the HTTP formatting is checked too.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from metricslib.collector.model import Labels, labels_get, make_labels
from tests.collector.promql.script import HISTOGRAM, EvalCmd

__all__ = ["Mismatch", "Result", "almost_equal", "check_annotations", "check_failure", "compare", "decode"]

_MIN_NORMAL = 2.2250738585072014e-308
_EPSILON = 1e-6


class Mismatch(Exception):
    """An eval's result differs from what the script expects."""


def almost_equal(a: float, b: float, epsilon: float = _EPSILON) -> bool:
    if math.isnan(a) and math.isnan(b):
        return True
    if a == b:
        return True
    abs_sum = abs(a) + abs(b)
    diff = abs(a - b)
    if a == 0 or b == 0 or abs_sum < _MIN_NORMAL:
        return diff < epsilon * _MIN_NORMAL
    return diff / min(abs_sum, sys.float_info.max) < epsilon


def _labels_str(labels: Labels) -> str:
    name = labels_get(labels, "__name__")
    rest = ", ".join(f'{k}="{v}"' for k, v in labels if k != "__name__")
    return f"{name}{{{rest}}}"


@dataclass(slots=True)
class Result:
    """An engine result decoded from ``to_api()`` (the public contract)."""

    kind: str
    series: list[tuple[Labels, list[int], list[float]]] = field(default_factory=list)
    scalar: float = 0.0
    string: str = ""


def decode(result: Any) -> Result:
    api = result.to_api()
    kind = api["resultType"]
    if kind in ("scalar", "string"):
        _, text = api["result"]
        return Result(kind, scalar=float(text) if kind == "scalar" else 0.0, string=text)
    out = Result(kind)
    for item in api["result"]:
        labels = make_labels(item["metric"])
        points = [item["value"]] if kind == "vector" else item["values"]
        out.series.append((labels, [round(float(t) * 1000) for t, _ in points], [float(v) for _, v in points]))
    return out


def _expected_by_labels(cmd: EvalCmd) -> dict[Labels, tuple[list[Any], int]]:
    return {s.labels: (s.points, s.position) for s in cmd.series}


def compare(cmd: EvalCmd, res: Result, *, start_ms: int, end_ms: int, step_ms: int) -> None:
    """Raise Mismatch when ``res`` differs from the eval's expectation."""
    expected = _expected_by_labels(cmd)
    if res.kind == "matrix":
        if cmd.is_ordered():
            raise Mismatch("expected ordered result, but query returned a matrix")
        if cmd.scalar is not None:
            raise Mismatch("expected scalar result, but got a matrix")
        labels_in_order = [s[0] for s in res.series]
        if labels_in_order != sorted(labels_in_order):
            raise Mismatch("matrix results should always be sorted by labels")
        seen = set()
        for labels, ts, vs in res.series:
            if labels not in expected:
                raise Mismatch(f"unexpected metric {_labels_str(labels)} in result, has {list(zip(ts, vs, strict=True))}")
            seen.add(labels)
            points, _ = expected[labels]
            want: list[tuple[int, float]] = []
            for i, p in enumerate(points):
                t = start_ms + i * step_ms
                if t > end_ms:
                    raise Mismatch(f"expected {len(points)} points for {_labels_str(labels)}, more than the range holds")
                if p is not None and p != HISTOGRAM:
                    want.append((t, float(p)))
            got = list(zip(ts, vs, strict=True))
            if len(want) != len(got):
                raise Mismatch(f"expected {len(want)} points for {_labels_str(labels)}, got {got}")
            for (wt, wv), (gt, gv) in zip(want, got, strict=True):
                if wt != gt or not almost_equal(wv, gv):
                    raise Mismatch(f"{_labels_str(labels)}: expected {wv} at t={wt}, got {gv} at t={gt}")
        missing = [s for s in expected if s not in seen]
        if missing:
            raise Mismatch(f"expected metric {_labels_str(missing[0])} not found")
    elif res.kind == "vector":
        if cmd.scalar is not None:
            raise Mismatch(f"expected scalar result, but got vector of {len(res.series)} series")
        seen = set()
        for pos, (labels, _, vs) in enumerate(res.series):
            if labels not in expected:
                raise Mismatch(f"unexpected metric {_labels_str(labels)} in result, has value {vs[0]}")
            points, want_pos = expected[labels]
            if cmd.is_ordered() and want_pos != pos + 1:
                raise Mismatch(f"expected metric {_labels_str(labels)} at position {want_pos} but was at {pos + 1}")
            first = points[0]
            if first is None or first == HISTOGRAM or not almost_equal(float(first), vs[0]):
                raise Mismatch(f"expected {first} for {_labels_str(labels)} but got {vs[0]}")
            seen.add(labels)
        missing = [s for s in expected if s not in seen]
        if missing:
            raise Mismatch(f"expected metric {_labels_str(missing[0])} with {expected[missing[0]][0]} not found")
    elif res.kind == "scalar":
        if cmd.scalar is None:
            raise Mismatch(f"expected vector or matrix result, but got scalar {res.scalar}")
        if not almost_equal(cmd.scalar, res.scalar):
            raise Mismatch(f"expected scalar {cmd.scalar} but got {res.scalar}")
    elif res.kind == "string":
        # As in promqltest, a missing "expect string" line means the empty string.
        if (cmd.string or "") != res.string:
            raise Mismatch(f'expected string "{cmd.string or ""}" but got "{res.string}"')
    else:
        raise Mismatch(f"unknown result type {res.kind!r}")


def check_annotations(cmd: EvalCmd, warnings: Sequence[str], infos: Sequence[str]) -> None:
    if cmd.warn and not warnings:
        raise Mismatch("expected warnings but got none")
    if cmd.info and not infos:
        raise Mismatch("expected info annotations but got none")
    for kind, actual in (("warn", warnings), ("info", infos)):
        wanted = cmd.of_kind(kind)
        if not wanted:
            continue
        if not actual:
            raise Mismatch(f"expected {kind} annotations but none were found")
        for e in wanted:
            if not any(e.matches(a) for a in actual):
                raise Mismatch(f"expected {kind} annotation matching {e.message or e.regex!r}, found {list(actual)}")
        for a in actual:
            if not any(e.matches(a) for e in wanted):
                raise Mismatch(f"unexpected {kind} annotation {a!r}")
    if cmd.of_kind("no_warn") and warnings:
        raise Mismatch(f"unexpected warning annotations: {list(warnings)}")
    if cmd.of_kind("no_info") and infos:
        raise Mismatch(f"unexpected info annotations: {list(infos)}")


def check_failure(cmd: EvalCmd, error: Exception) -> None:
    text = str(error)
    for e in cmd.of_kind("fail")[:1]:
        if not e.matches(text):
            wanted = e.message if e.message is not None else e.regex
            raise Mismatch(f"expected error matching {wanted!r}, but got: {text}")


