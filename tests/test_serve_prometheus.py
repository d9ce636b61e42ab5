"""A real Prometheus 2.42 scrapes start_http_server and returns what the app set."""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from metricslib.instruments import Counter, Enum, Gauge, Histogram, Info, Summary
from metricslib.registry import Registry
from metricslib.serve import start_http_server
from tests.helpers import free_port, http_get, require_tool, running


def build_registry() -> Registry:
    reg = Registry(default_labels={"team": "shop"})
    orders = Counter("orders", "Orders placed.", ["country"], registry=reg)
    orders.labels("fr").inc(3)
    orders.labels(country="de").inc(1.5)
    Gauge("queue_depth", "Items waiting.", ["queue"], registry=reg).labels("mail").set(-7.25)
    latency = Histogram(
        "latency_seconds", "Latency.", ["route"], buckets=(0.1, 0.5), unit="seconds", registry=reg
    )
    for v in (0.05, 0.3, 0.3, 2.0):
        latency.labels("/cart").observe(v)
    size = Summary("payload_bytes", "Payload size.", ["kind"], registry=reg)
    size.labels("json").observe(100)
    size.labels("json").observe(300)
    Info("build", "Build information.", registry=reg).info({"version": "1.2.3", "commit": "abc"})
    Enum("phase", "Phase.", ["shard"], states=["idle", "busy"], registry=reg).labels("0").state(
        "busy"
    )
    return reg


EXPECTED = {
    'orders_total{country="fr"}': 3.0,
    'orders_total{country="de"}': 1.5,
    'queue_depth{queue="mail"}': -7.25,
    'latency_seconds_bucket{route="/cart",le="0.1"}': 1.0,
    'latency_seconds_bucket{route="/cart",le="0.5"}': 3.0,
    'latency_seconds_bucket{route="/cart",le="+Inf"}': 4.0,
    'latency_seconds_count{route="/cart"}': 4.0,
    'latency_seconds_sum{route="/cart"}': 2.65,
    'payload_bytes_count{kind="json"}': 2.0,
    'payload_bytes_sum{kind="json"}': 400.0,
    'build_info{version="1.2.3",commit="abc"}': 1.0,
    'phase{shard="0",phase="busy"}': 1.0,
    'phase{shard="0",phase="idle"}': 0.0,
}


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[tuple[str, int]]:
    binary = require_tool("prometheus", "prometheus")
    server, thread = start_http_server(0, registry=build_registry())
    app_port = server.server_port
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n"
        "  scrape_interval: 1s\n"
        "scrape_configs:\n"
        "  - job_name: app\n"
        "    static_configs:\n"
        f"      - targets: ['127.0.0.1:{app_port}']\n"
    )
    port = free_port()
    cmd = [
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={tmp_path / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    ]
    try:
        with running(cmd, ready_url=f"http://127.0.0.1:{port}/-/ready", timeout=30):
            yield f"http://127.0.0.1:{port}", app_port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def query(base: str, promql: str) -> list[dict[str, object]]:
    url = f"{base}/api/v1/query?query={urllib.parse.quote(promql)}"
    status, _, body = http_get(url)
    assert status == 200, body
    doc = json.loads(body)
    assert doc["status"] == "success", doc
    result: list[dict[str, object]] = doc["data"]["result"]
    return result


@pytest.mark.integration
def test_prometheus_scrapes_every_instrument_type(prometheus: tuple[str, int]) -> None:
    base, app_port = prometheus
    deadline = time.monotonic() + 30
    while not query(base, 'up{job="app"} == 1'):
        assert time.monotonic() < deadline, "Prometheus never scraped the app successfully"
        time.sleep(0.25)
    for selector, value in EXPECTED.items():
        # The default label is on every series, and the value is what the app set.
        (series,) = query(base, selector.replace("{", '{team="shop",', 1))
        metric = series["metric"]
        assert isinstance(metric, dict) and metric["instance"] == f"127.0.0.1:{app_port}"
        sample = series["value"]
        assert isinstance(sample, list)
        assert float(sample[1]) == pytest.approx(value), selector
    # Prometheus 2.42 asks for OpenMetrics first; the scrape used it (no _created in text).
    assert query(base, 'orders_created{country="fr"}')
