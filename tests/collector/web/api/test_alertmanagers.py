from __future__ import annotations

import json

from metricslib.collector.web.api.v1 import PrometheusAPI, Request


def _api(**kw: object) -> PrometheusAPI:
    return PrometheusAPI(engine_factory=lambda t: None, querier_factory=lambda: None,  # type: ignore[arg-type,return-value]
                         parse_selector=lambda s: [], **kw)  # type: ignore[arg-type]


def test_alertmanagers_endpoint_in_prometheus_shape() -> None:
    data = {"activeAlertmanagers": [{"url": "http://127.0.0.1:9093/api/v2/alerts"}],
            "droppedAlertmanagers": [{"url": "http://10.0.0.1:9093/api/v2/alerts"}]}
    resp = _api(alertmanagers=lambda: data).handle(Request("GET", "/api/v1/alertmanagers"))
    assert resp.status == 200
    assert json.loads(resp.body) == {"status": "success", "data": data}


def test_alertmanagers_endpoint_without_a_notifier_is_empty() -> None:
    resp = _api().handle(Request("GET", "/api/v1/alertmanagers"))
    assert json.loads(resp.body)["data"] == {"activeAlertmanagers": [], "droppedAlertmanagers": []}
