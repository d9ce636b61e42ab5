"""OpenMetrics family rules: what each metric type's samples must look like.

These run once per family, after its lines are read, so a streaming reader
holds at most one family in memory. Each rule yields ``(message, line)``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator

from metricslib.collector.textparse.syntax import Family, LineError, Sample, parse_float

__all__ = [
    "OM_TYPES",
    "TEXT_TYPES",
    "belongs",
    "check_family",
    "claimed_names",
    "text_help_problem",
    "text_sample_problems",
]

OM_TYPES = frozenset(
    {"counter", "gauge", "histogram", "gaugehistogram", "summary", "info", "stateset", "unknown"}
)
TEXT_TYPES = frozenset({"counter", "gauge", "histogram", "summary", "untyped"})

_SUFFIXES_OM: dict[str, tuple[str, ...]] = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "unknown": ("",),
    "stateset": ("",),
    "info": ("_info",),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "gaugehistogram": ("_bucket", "_gcount", "_gsum"),
    "summary": ("", "_count", "_sum", "_created"),
}
_SUFFIXES_TEXT: dict[str, tuple[str, ...]] = {
    "counter": ("",),
    "gauge": ("",),
    "unknown": ("",),
    "histogram": ("_bucket", "_count", "_sum"),
    "summary": ("", "_count", "_sum"),
}
_EXEMPLAR_OK = {("counter", "_total"), ("histogram", "_bucket"), ("gaugehistogram", "_bucket")}


def belongs(family: str, mtype: str, sample_name: str, om: bool) -> bool:
    """Whether a sample called ``sample_name`` is part of family ``family``."""
    if not sample_name.startswith(family):
        return False
    suffix = sample_name[len(family) :]
    table = _SUFFIXES_OM if om else _SUFFIXES_TEXT
    return suffix in table.get(mtype, ("",))


def claimed_names(family: str, mtype: str) -> set[str]:
    """Every name a family may use, for clash detection between families."""
    return {family} | {family + s for s in _SUFFIXES_OM.get(mtype, ("",))}


def _show(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


def _nonneg(s: Sample, what: str) -> Iterator[tuple[str, int]]:
    if math.isnan(s.value) or s.value < 0:
        yield f"{s.name}{_show(s.labels)}: {what} must be >= 0 and not NaN, got {s.value}", s.line


def _sample_rules(fam: Family, s: Sample) -> Iterator[tuple[str, int]]:
    t = fam.type
    suffix = s.name[len(fam.name) :]
    if s.exemplar is not None and (t, suffix) not in _EXEMPLAR_OK:
        yield (
            f"{s.name}: exemplars are only allowed on counter _total and histogram _bucket "
            f"samples, not on a {t} {suffix or 'sample'}"
        ), s.line
    if t == "counter" and suffix == "_total":
        yield from _nonneg(s, "a counter's value")
    elif t in ("histogram", "gaugehistogram"):
        if suffix == "_bucket":
            if "le" not in s.labels:
                yield f"{s.name}{_show(s.labels)}: a bucket needs an 'le' label", s.line
            else:
                try:
                    le = parse_float(s.labels["le"], True, "le")
                except LineError as exc:
                    yield f"{s.name}{_show(s.labels)}: {exc}", s.line
                else:
                    if math.isnan(le):
                        yield f"{s.name}{_show(s.labels)}: le must not be NaN", s.line
            yield from _nonneg(s, "a bucket count")
        elif suffix in ("_count", "_gcount"):
            yield from _nonneg(s, f"{suffix[1:]}")
        elif suffix in ("_sum", "_gsum") and math.isnan(s.value):
            yield f"{s.name}{_show(s.labels)}: {suffix[1:]} must not be NaN", s.line
    elif t == "summary":
        if suffix == "":
            q = s.labels.get("quantile")
            if q is None:
                yield f"{s.name}{_show(s.labels)}: a summary quantile needs a 'quantile' label", s.line
            else:
                try:
                    qv = parse_float(q, True, "quantile")
                except LineError as exc:
                    yield f"{s.name}{_show(s.labels)}: {exc}", s.line
                else:
                    if not 0 <= qv <= 1:
                        yield f"{s.name}: quantile must be between 0 and 1, got {q!r}", s.line
            if s.value < 0:
                yield f"{s.name}{_show(s.labels)}: a quantile value must be >= 0", s.line
        elif suffix in ("_count", "_sum"):
            yield from _nonneg(s, suffix[1:])
    elif t == "info":
        if s.value != 1:
            yield f"{s.name}{_show(s.labels)}: an info sample's value must be 1, got {s.value}", s.line
    elif t == "stateset":
        if fam.name not in s.labels:
            yield (
                f"{s.name}{_show(s.labels)}: a stateset sample needs a label named {fam.name!r}"
            ), s.line
        if s.value not in (0.0, 1.0):
            yield f"{s.name}{_show(s.labels)}: a stateset value must be 0 or 1, got {s.value}", s.line


class _Group:
    __slots__ = ("count", "gsum", "has_gsum", "has_sum", "inf", "last_bucket", "last_le", "line",
                 "neg_bucket", "sum")

    def __init__(self, line: int) -> None:
        self.line = line
        self.last_le: float | None = None
        self.last_bucket: float | None = None
        self.inf: float | None = None
        self.count: float | None = None
        self.has_sum = self.has_gsum = self.neg_bucket = False
        self.sum = self.gsum = 0.0


def _finish_group(fam: Family, g: _Group, where: str) -> Iterator[tuple[str, int]]:
    name = fam.name
    kind = "histogram" if fam.type == "histogram" else "gauge histogram"
    if g.inf is None:
        yield f"{kind} {name}{where} has no le=\"+Inf\" bucket", g.line
    elif g.count is not None and g.count != g.inf:
        yield (
            f"{kind} {name}{where}: count {g.count} differs from the +Inf bucket {g.inf}"
        ), g.line
    count_name = "_count" if fam.type == "histogram" else "_gcount"
    sum_name = "_sum" if fam.type == "histogram" else "_gsum"
    has_sum = g.has_sum or g.has_gsum
    if has_sum and g.count is None:
        yield f"{kind} {name}{where} has {name}{sum_name} but no {name}{count_name}", g.line
    if g.count is not None and not has_sum:
        yield f"{kind} {name}{where} has {name}{count_name} but no {name}{sum_name}", g.line
    if fam.type == "histogram" and g.has_sum:
        if g.neg_bucket:
            yield f"histogram {name}{where} has negative buckets, so it must not have _sum", g.line
        elif g.sum < 0:
            yield f"histogram {name}{where}: _sum is negative ({g.sum})", g.line
    if g.has_gsum and g.gsum < 0 and not g.neg_bucket:
        yield f"gauge histogram {name}{where}: _gsum is negative but no bucket is", g.line


def _group_rules(fam: Family) -> Iterator[tuple[str, int]]:
    """Histogram and summary samples come in groups (one per label set) that must
    be contiguous; histogram groups must also add up."""
    skip = "quantile" if fam.type == "summary" else "le"
    hist = fam.type in ("histogram", "gaugehistogram")
    seen: set[object] = set()
    current: object = None
    group: _Group | None = None
    where = ""
    for s in fam.samples:
        suffix = s.name[len(fam.name) :]
        if suffix == "_created":
            continue
        rest = {k: v for k, v in s.labels.items() if k != skip}
        key = (tuple(sorted(rest.items())), s.timestamp_ms)
        if key != current:
            if key in seen:
                yield (
                    f"{s.name}{_show(rest)}: this label set's samples are not together "
                    f"(they must be contiguous within family {fam.name!r})"
                ), s.line
                return
            if group is not None and hist:
                yield from _finish_group(fam, group, where)
            seen.add(key)
            current = key
            group = _Group(s.line)
            where = _show(rest) if rest else ""
        if not hist or group is None:
            continue
        if suffix == "_bucket":
            try:
                le = parse_float(s.labels.get("le", ""), True, "le")
            except LineError:
                continue  # already reported by the sample rules
            if group.last_le is not None and le <= group.last_le:
                yield f"{s.name}: bucket le={s.labels['le']!r} is out of order", s.line
            if group.last_bucket is not None and s.value < group.last_bucket:
                yield (
                    f"{s.name}{_show(s.labels)}: bucket counts must not decrease "
                    f"({s.value} after {group.last_bucket})"
                ), s.line
            group.last_le, group.last_bucket = le, s.value
            group.neg_bucket |= le < 0
            if math.isinf(le) and le > 0:
                group.inf = s.value
        elif suffix in ("_count", "_gcount"):
            group.count = s.value
        elif suffix == "_sum":
            group.has_sum, group.sum = True, s.value
        elif suffix == "_gsum":
            group.has_gsum, group.gsum = True, s.value
    if group is not None and hist:
        yield from _finish_group(fam, group, where)


def check_family(fam: Family) -> Iterator[tuple[str, int]]:
    """Every OpenMetrics rule a finished family breaks, as ``(message, line)``."""
    if fam.unit:
        if fam.type in ("info", "stateset"):
            yield f"{fam.type} {fam.name!r} must not have a unit", fam.line
        elif not fam.name.endswith("_" + fam.unit):
            yield f"family {fam.name!r} has unit {fam.unit!r}, so its name must end in _{fam.unit}", fam.line
    for s in fam.samples:
        yield from _sample_rules(fam, s)
    if fam.type in ("histogram", "gaugehistogram", "summary"):
        yield from _group_rules(fam)


# --- text 0.0.4, pedantic: what promtool rejects but Prometheus's scraper lets by ---

_ESCAPE_RE = re.compile(r"\\(.)")


def text_help_problem(raw: str) -> str | None:
    for m in _ESCAPE_RE.finditer(raw):
        if m.group(1) not in "\\n":
            return f"invalid escape sequence '\\{m.group(1)}' in help text (allowed: \\\\ and \\n)"
    return None


def text_sample_problems(fam: Family, s: Sample, raw: str, key: str) -> Iterator[str]:
    """``raw`` is the sample line, ``key`` its series text (where escapes live)."""
    if "\\" in key:
        for m in _ESCAPE_RE.finditer(key):
            if m.group(1) not in '\\"n':
                yield (
                    f"invalid escape sequence '\\{m.group(1)}' in a label value "
                    '(allowed: \\\\, \\" and \\n)'
                )
                break
    if "__name__" in s.labels:
        yield "label name '__name__' is reserved"
    if raw[-1:] in (" ", "\t"):
        yield "trailing whitespace at the end of the line"
    special = None
    if fam.type == "histogram" and s.name == fam.name + "_bucket":
        special = "le"
    elif fam.type == "summary" and s.name == fam.name:
        special = "quantile"
    if special is not None:
        if special not in s.labels:
            yield f"{s.name} needs a {special!r} label"
        else:
            try:
                parse_float(s.labels[special], False, special)
            except LineError as exc:
                yield str(exc)
