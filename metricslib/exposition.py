"""Sans-I/O writers: Prometheus text 0.0.4 and OpenMetrics 1.0, and format negotiation.

Functions here turn metric families (or a whole registry) into bytes; the
HTTP side lives in ``metricslib.serve``. ``render_text`` and
``render_openmetrics`` accept any iterable of families, so aggregated
families (e.g. from several workers) are written by the same code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Protocol

from metricslib.errors import InvalidValueError
from metricslib.model import (
    FamilyLike,
    MetricFamily,
    SampleLike,
    escape_help,
    escape_label_value,
    exemplar_text,
    format_value,
)
from metricslib.registry import REGISTRY, Registry

__all__ = [
    "CONTENT_TYPE_LATEST",
    "CONTENT_TYPE_OPENMETRICS",
    "CONTENT_TYPE_PLAIN",
    "choose_encoder",
    "generate_latest",
    "generate_openmetrics",
    "render_openmetrics",
    "render_text",
]

CONTENT_TYPE_PLAIN = "text/plain; version=0.0.4; charset=utf-8"
CONTENT_TYPE_LATEST = CONTENT_TYPE_PLAIN
CONTENT_TYPE_OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"

# How text 0.0.4 names the types OpenMetrics added.
_TEXT_TYPES = {"info": "gauge", "stateset": "gauge", "gaugehistogram": "histogram", "unknown": "untyped"}


class _Collectable(Protocol):
    def collect(self) -> Iterable[MetricFamily]: ...


Encoder = Callable[..., bytes]


def _label_text(labels: Mapping[str, str]) -> str:
    if not labels:
        return ""
    # Sorted by name, as prometheus_client writes them: identical registries give identical bytes.
    # str(): custom collectors sometimes pass numbers as label values.
    return "{" + ",".join(f'{k}="{escape_label_value(str(v))}"' for k, v in sorted(labels.items())) + "}"


# -- text 0.0.4 -------------------------------------------------------------------------------


def _number(sample: SampleLike, what: str, value: object) -> float:
    """``float(value)``, or an error naming the sample (custom collectors can add anything)."""
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidValueError(
            f"sample {sample.name}{_label_text(sample.labels)} has {what} {value!r}, not a number"
        ) from None


def _text_line(sample: SampleLike) -> str:
    ts = "" if sample.timestamp is None else f" {int(_number(sample, 'timestamp', sample.timestamp) * 1000)}"
    value = format_value(_number(sample, "value", sample.value))
    return f"{sample.name}{_label_text(sample.labels)} {value}{ts}\n"


def _write_text_family(out: list[str], family: FamilyLike) -> None:
    name, typ = family.name, family.type
    if typ == "counter":
        name += "_total"
    elif typ == "info":
        name += "_info"
    out.append(f"# HELP {name} {escape_help(family.documentation)}\n")
    out.append(f"# TYPE {name} {_TEXT_TYPES.get(typ, typ)}\n")
    created = family.name + "_created"
    # Gauge histograms' _gsum/_gcount have no place in text 0.0.4: expose them as gauges after.
    extra_names = (family.name + "_gsum", family.name + "_gcount")
    extra: dict[str, list[str]] = {}
    for sample in family.samples:
        if sample.name == created:
            continue  # _created is OpenMetrics only
        if sample.name in extra_names:
            extra.setdefault(sample.name, []).append(_text_line(sample))
        else:
            out.append(_text_line(sample))
    for extra_name, lines in sorted(extra.items()):
        out.append(f"# HELP {extra_name} {escape_help(family.documentation)}\n")
        out.append(f"# TYPE {extra_name} gauge\n")
        out.extend(lines)


def render_text(families: Iterable[FamilyLike]) -> bytes:
    """Prometheus text format 0.0.4 for these families (no ``_created``, no exemplars)."""
    out: list[str] = []
    for family in families:
        _write_text_family(out, family)
    return "".join(out).encode("utf-8")


def generate_latest(registry: _Collectable = REGISTRY) -> bytes:
    """Text 0.0.4 exposition of a registry (or anything with ``collect()``)."""
    if not isinstance(registry, Registry):
        return render_text(registry.collect())
    out: list[str] = []
    defaults = registry._default_labels
    target = registry._target_info_family()
    if target is not None:
        _write_text_family(out, registry._adjust(target, defaults))
    for collector in registry._snapshot():
        if getattr(collector, "_fast_text", False):
            # Our own instruments render straight from their cells with cached label text.
            collector._write_text(out, defaults)  # type: ignore[attr-defined]
        else:
            for family in collector.collect():
                _write_text_family(out, registry._adjust(family, defaults))
    return "".join(out).encode("utf-8")


# -- OpenMetrics 1.0 --------------------------------------------------------------------------


def _om_number(value: float) -> str:
    as_float = float(value)
    return str(int(as_float)) if as_float.is_integer() else repr(as_float)


def _exemplar_allowed(family: FamilyLike, sample: SampleLike) -> bool:
    if family.type == "counter":
        return sample.name == family.name + "_total"
    if family.type in ("histogram", "gaugehistogram"):
        return sample.name == family.name + "_bucket"
    return False


def _om_line(family: FamilyLike, sample: SampleLike) -> str:
    ts = "" if sample.timestamp is None else " " + _om_number(_number(sample, "timestamp", sample.timestamp))
    exemplar = ""
    ex = sample.exemplar
    # OpenMetrics allows exemplars only on counters' _total and buckets; elsewhere they are dropped.
    if ex is not None and _exemplar_allowed(family, sample):
        exemplar = exemplar_text(ex)
    value = format_value(_number(sample, "value", sample.value))
    return f"{sample.name}{_label_text(sample.labels)} {value}{ts}{exemplar}\n"


def _write_om_family(out: list[str], family: FamilyLike) -> None:
    name = family.name
    out.append(f"# HELP {name} {escape_help(family.documentation, openmetrics=True)}\n")
    out.append(f"# TYPE {name} {family.type}\n")
    if family.unit:
        out.append(f"# UNIT {name} {family.unit}\n")
    skip = _groups_without_sum(family) if family.type == "histogram" else set()
    drop = (name + "_sum", name + "_count")
    for sample in family.samples:
        if skip and sample.name in drop and _group(sample.labels) in skip:
            continue
        out.append(_om_line(family, sample))


def _group(labels: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in labels.items() if k != "le"))


def _groups_without_sum(family: FamilyLike) -> set[tuple[tuple[str, str], ...]]:
    """Histogram series whose ``_sum``/``_count`` OpenMetrics forbids.

    A histogram with a negative bucket bound, or whose sum went negative,
    may not expose ``_sum`` (a counter-like value) and then not ``_count``.
    Text 0.0.4 has no such rule and keeps them.
    """
    groups: set[tuple[tuple[str, str], ...]] = set()
    bucket, total = family.name + "_bucket", family.name + "_sum"
    for sample in family.samples:
        if sample.name == bucket:
            try:
                negative = float(sample.labels.get("le", "0")) < 0
            except ValueError:
                negative = False
        else:
            negative = sample.name == total and sample.value < 0
        if negative:
            groups.add(_group(sample.labels))
    return groups


def render_openmetrics(families: Iterable[FamilyLike]) -> bytes:
    """OpenMetrics 1.0 text for these families, ending with ``# EOF``."""
    out: list[str] = []
    for family in families:
        _write_om_family(out, family)
    out.append("# EOF\n")
    return "".join(out).encode("utf-8")


def generate_openmetrics(registry: _Collectable = REGISTRY) -> bytes:
    """OpenMetrics exposition of a registry (units, ``_created`` unless disabled, exemplars)."""
    if not isinstance(registry, Registry):
        return render_openmetrics(registry.collect())
    out: list[str] = []
    defaults = registry._default_labels
    created = registry._created_enabled()
    target = registry._target_info_family()
    if target is not None:
        _write_om_family(out, registry._adjust(target, defaults))
    for collector in registry._snapshot():
        if getattr(collector, "_fast_text", False):
            collector._write_openmetrics(out, defaults, created)  # type: ignore[attr-defined]
        else:
            for family in collector.collect():
                _write_om_family(out, registry._adjust(family, defaults))
    out.append("# EOF\n")
    return "".join(out).encode("utf-8")


# -- negotiation ------------------------------------------------------------------------------


def _quality(params: list[str]) -> float:
    for param in params:
        key, _, value = param.strip().partition("=")
        if key.strip().lower() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0


def choose_encoder(accept_header: str | None) -> tuple[Encoder, str]:
    """Pick the exposition format for an HTTP ``Accept`` header.

    OpenMetrics when the client lists ``application/openmetrics-text`` with a
    quality at least that of plain text; text 0.0.4 otherwise (also for an
    empty or missing header). Returns ``(encoder(registry) -> bytes, content_type)``.
    """
    om_q = 0.0
    text_q = 0.0
    for part in (accept_header or "").split(","):
        media, *params = part.split(";")
        media = media.strip().lower()
        q = _quality(params)
        if media == "application/openmetrics-text":
            om_q = max(om_q, q)
        elif media in ("text/plain", "text/*", "*/*"):
            text_q = max(text_q, q)
    if om_q > 0 and om_q >= text_q:
        return generate_openmetrics, CONTENT_TYPE_OPENMETRICS
    return generate_latest, CONTENT_TYPE_LATEST
