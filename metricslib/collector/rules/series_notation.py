"""promtool's ``input_series``: a series description and values in expanding notation.

``values: "1+2x3 _ stale _x2 5x1"`` is 1 3 5 7, one missing point, a
staleness marker, two missing points, then 5 5. ``a-bxn`` counts down.
Native-histogram values (``{{...}}``) are recognised and refused with
:class:`UnsupportedValue` so a runner can skip and count them.
"""

from __future__ import annotations

import re

from metricslib.collector.model import Labels, make_labels
from metricslib.collector.model.labels import METRIC_NAME
from metricslib.collector.model.staleness import STALE_NAN
from metricslib.collector.promql.parser.parse import parse_matchers

__all__ = ["UnsupportedValue", "expand_values", "parse_series"]

_NUMBER = r"[-+]?(?:[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?|[0-9]+\.|[iI]nf|NaN|0x[0-9a-fA-F]+)"
_ITEM = re.compile(rf"(stale|{_NUMBER})(?:([-+])({_NUMBER}))?(?:x([0-9]+))?")
_BLANK = re.compile(r"_(?:x([0-9]+))?")


class UnsupportedValue(ValueError):
    """A value this runner does not evaluate (native histograms)."""


def _float(text: str) -> float:
    if text == "stale":
        return STALE_NAN
    if text.lower().lstrip("+-").startswith("0x"):
        sign = -1.0 if text.startswith("-") else 1.0
        return sign * int(text.lstrip("+-"), 16)
    return float(text)


def expand_values(text: str) -> list[float | None]:
    """The points of ``text`` in order; None is a missing point (``_``)."""
    if "{{" in text:
        raise UnsupportedValue("native histogram values are not supported")
    out: list[float | None] = []
    for item in text.split():
        blank = _BLANK.fullmatch(item)
        if blank:
            out.extend([None] * int(blank.group(1) or 1))
            continue
        match = _ITEM.fullmatch(item)
        if match is None:
            raise ValueError(f"invalid value {item!r} (use e.g. 1, 1+2x3, 5x2, _, _x3, stale)")
        start = _float(match.group(1))
        if match.group(4) is None:
            if match.group(2) is not None:
                raise ValueError(f"invalid value {item!r}: a step needs a count (1+2x3)")
            out.append(start)
            continue
        step = _float(match.group(3)) if match.group(3) else 0.0
        if match.group(2) == "-":
            step = -step
        times = int(match.group(4))
        if match.group(1) == "stale":
            out.extend([STALE_NAN] * (times + 1))
            continue
        out.extend(start + step * i for i in range(times + 1))
    return out


def parse_series(text: str) -> Labels:
    """``metric{a="b"}`` (or ``{__name__="m", a="b"}``) as a label set; only ``=`` matchers."""
    selector = parse_matchers(text)
    pairs: dict[str, str] = {}
    for matcher in selector.matchers:
        if matcher.op != "=":
            raise ValueError(f"series {text!r}: only '=' may be used in a series description")
        pairs[matcher.name] = matcher.value
    if not pairs.get(METRIC_NAME):
        pairs.pop(METRIC_NAME, None)
    return make_labels(pairs)
