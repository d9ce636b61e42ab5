"""The alert and query data the golden cases were recorded with (see ``golden.py``)."""

from __future__ import annotations

from metricslib.collector.template import AlertTemplateData, TemplateSample

LABELS = {"__name__": "m", "instance": "host1.dc1:9100", "job": "node"}
SERIES = [
    TemplateSample(dict(LABELS), 0.1234),
    TemplateSample({"__name__": "m", "instance": "host2.dc1:9100", "job": "api"}, 1234567.5),
]


def query(q: str) -> list[TemplateSample]:
    """The answers Prometheus gave the golden templates' queries over the two series."""
    if q == "sort(m)":  # sorted by value: host1 (0.1234), then host2; promtool keeps no other order
        return list(SERIES)
    if q == 'm{job="node"}':
        return [s for s in SERIES if s.labels["job"] == "node"]
    if q == "nothing":
        return []
    raise ValueError(f"unexpected query {q!r}")


def alert_data(external_url: str = "") -> AlertTemplateData:
    return AlertTemplateData(dict(LABELS), {}, external_url, 0.1234)
