"""``/federate``: the newest sample of every series matching ``match[]``, as text 0.0.4.

Like Prometheus, each series' value is its latest sample within the lookback
window (stale series are left out), the sample carries its own timestamp, and
external labels are added where the series does not already have them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from metricslib.collector.model import Labels, Matcher, is_stale_nan
from metricslib.collector.storage.base import Querier
from metricslib.collector.web.api.v1 import (
    APIError,
    Request,
    Response,
    error_response,
    matcher_sets,
)
from metricslib.model import escape_label_value, format_value

__all__ = ["federate", "make_federate_handler"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def federate(
    querier: Querier,
    matcher_sets: Sequence[Sequence[Matcher]],
    now_ms: int,
    lookback_ms: int = 300_000,
    external_labels: Mapping[str, str] | None = None,
) -> bytes:
    latest: dict[Labels, tuple[int, float]] = {}
    for matchers in matcher_sets:
        for series in querier.select(matchers, now_ms - lookback_ms + 1, now_ms):
            if len(series) == 0 or series.labels in latest:
                continue
            value = float(series.values[-1])
            if is_stale_nan(value):
                continue
            latest[series.labels] = (int(series.timestamps[-1]), value)
    extra = dict(external_labels or {})
    lines: list[str] = []
    last_name = None
    for labels in sorted(latest, key=lambda ls: (dict(ls).get("__name__", ""), ls)):
        as_dict = dict(labels)
        name = as_dict.pop("__name__", "")
        for key, extra_value in extra.items():
            as_dict.setdefault(key, extra_value)
        if name != last_name:
            lines.append(f"# TYPE {name} untyped")
            last_name = name
        rendered = ",".join(f'{k}="{escape_label_value(v)}"' for k, v in sorted(as_dict.items()))
        t_ms, value = latest[labels]
        lines.append(f"{name}{{{rendered}}} {format_value(value)} {t_ms}")
    return ("\n".join(lines) + "\n").encode() if lines else b""


def make_federate_handler(
    querier_factory: Callable[[], Querier],
    parse_selector: Callable[[str], Sequence[Matcher]],
    clock: Callable[[], float],
    external_labels: Callable[[], Mapping[str, str]],
) -> Callable[[Request], Response]:
    def handle(request: Request) -> Response:
        try:
            # No match[] selects nothing: 200 with an empty body, as Prometheus answers.
            sets = matcher_sets(request, parse_selector)
        except APIError as exc:
            return error_response(exc.error_type, str(exc))
        body = federate(querier_factory(), sets, round(clock() * 1000), external_labels=external_labels())
        return Response(200, body, CONTENT_TYPE)

    return handle

