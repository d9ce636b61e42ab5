"""The notifier against a real Alertmanager (Debian ``prometheus-alertmanager``) on 127.0.0.1.

Alerts are read back with Alertmanager's own ``/api/v2/alerts``; resolution
is seen through a webhook receiver the test runs, since Alertmanager's API
stops listing an alert once it is resolved.
"""

from __future__ import annotations

import json
import socket
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from metricslib.collector.config.config import parse_config
from metricslib.collector.notifier.alert import Alert
from metricslib.collector.notifier.manager import NotifierManager
from tests.collector.alertmanager import (
    Webhook,
    am_alerts,
    parse_time,
    running_alertmanager,
    wait_for,
    webhook_receiver,
)
from tests.collector.discovery.test_dns_integration import ZONE, Dnsmasq
from tests.helpers import free_port

pytestmark = pytest.mark.integration


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    with webhook_receiver() as hook:
        yield hook


@pytest.fixture
def alertmanager(tmp_path: Path, webhook: Webhook) -> Iterator[str]:
    """A real Alertmanager (clustering off) whose one receiver is the test's webhook; yields host:port."""
    with running_alertmanager(tmp_path, webhook.url) as address:
        yield address


def notifier(text: str, **kw: Any) -> NotifierManager:
    return NotifierManager(parse_config(textwrap.dedent(text), "prometheus.yml"), **kw)


def test_alerts_arrive_with_their_fields_and_resolve(alertmanager: str, webhook: Webhook) -> None:
    m = notifier(f"""\
        global:
          external_labels: {{cluster: eu, replica: a}}
        alerting:
          alert_relabel_configs:
          - action: labeldrop
            regex: replica
          alertmanagers:
          - static_configs:
            - targets: ['{alertmanager}']
        """)
    now = round(time.time(), 3)
    firing = Alert({"alertname": "HighErrorRatio", "job": "image-gallery", "severity": "page"},
                   {"summary": "5% of requests fail", "runbook": "docs/runbook.md"},
                   starts_at=now - 60, ends_at=now + 3600,
                   generator_url="http://127.0.0.1:9090/graph?g0.expr=errors&g0.tab=1")
    m.start()
    try:
        m.send([firing])
        (got,) = wait_for(lambda: am_alerts(alertmanager))
        assert got["labels"] == {"alertname": "HighErrorRatio", "job": "image-gallery", "severity": "page",
                                 "cluster": "eu"}
        assert got["annotations"] == {"summary": "5% of requests fail", "runbook": "docs/runbook.md"}
        assert parse_time(got["startsAt"]) == pytest.approx(now - 60, abs=0.001)
        assert parse_time(got["endsAt"]) == pytest.approx(now + 3600, abs=0.001)
        assert got["generatorURL"] == firing.generator_url
        assert got["status"]["state"] == "active"

        resolved_at = round(time.time(), 3)
        m.send([Alert(firing.labels, firing.annotations, firing.starts_at, resolved_at, firing.generator_url)])
        (done,) = wait_for(lambda: webhook.alerts("resolved"))
        assert done["labels"]["alertname"] == "HighErrorRatio" and done["labels"]["cluster"] == "eu"
        assert parse_time(done["endsAt"]) == pytest.approx(resolved_at, abs=0.001)
        assert done["generatorURL"] == firing.generator_url
        wait_for(lambda: am_alerts(alertmanager) == [])
        wait_for(lambda: m.stats()[f"http://{alertmanager}/api/v2/alerts"].sent == 2)
        stats = m.stats()[f"http://{alertmanager}/api/v2/alerts"]
        assert (stats.errors, stats.dropped) == (0, 0)
    finally:
        m.stop()


def test_a_stopped_and_a_hanging_alertmanager_do_not_delay_a_healthy_one(alertmanager: str) -> None:
    stopped = f"127.0.0.1:{free_port()}"  # nothing listens there
    with socket.socket() as hanging:
        hanging.bind(("127.0.0.1", 0))
        hanging.listen(8)  # the kernel accepts connections; nobody ever answers
        hang = f"127.0.0.1:{hanging.getsockname()[1]}"
        m = notifier(f"""\
            alerting:
              alertmanagers:
              - timeout: 2m
                static_configs:
                - targets: ['{hang}', '{stopped}', '{alertmanager}']
            """, drain_on_stop=0.0)
        m.start()
        try:
            m.send([Alert({"alertname": "A"}, {}, time.time())])
            wait_for(lambda: am_alerts(alertmanager))
            # Delivered while the hanging Alertmanager's request is still open (its timeout is 2m,
            # wait_for gives up after 20s): a send that waited on it could not have arrived yet.
            wait_for(lambda: m.stats()[f"http://{alertmanager}/api/v2/alerts"].sent == 1)
            hung = m.stats()[f"http://{hang}/api/v2/alerts"]
            assert (hung.sent, hung.errors) == (0, 0)
            wait_for(lambda: m.stats()[f"http://{stopped}/api/v2/alerts"].errors >= 1)
        finally:
            m.stop()


def test_alertmanagers_found_through_file_sd(alertmanager: str, tmp_path: Path) -> None:
    sd = tmp_path / "alertmanagers.json"
    sd.write_text(json.dumps([{"targets": [alertmanager, "10.0.0.1:9093"]}]))
    cfg = parse_config(textwrap.dedent("""\
        alerting:
          alertmanagers:
          - file_sd_configs:
            - files: [alertmanagers.json]
            relabel_configs:
            - source_labels: [__address__]
              regex: '10\\..*'
              action: drop
        """), "prometheus.yml", base_dir=str(tmp_path))
    m = NotifierManager(cfg)
    m.start()
    try:
        assert m.alertmanagers() == {
            "activeAlertmanagers": [{"url": f"http://{alertmanager}/api/v2/alerts"}],
            "droppedAlertmanagers": [{"url": "http://10.0.0.1:9093/api/v2/alerts"}],
        }
        m.send([Alert({"alertname": "FromFileSD"}, {}, time.time())])
        (got,) = wait_for(lambda: am_alerts(alertmanager))
        assert got["labels"] == {"alertname": "FromFileSD"}
    finally:
        m.stop()


def test_alertmanagers_found_through_dns_sd(alertmanager: str, tmp_path: Path) -> None:
    dns = Dnsmasq(tmp_path)
    dns.write_hosts("127.0.0.1")
    dns.start()
    try:
        port = alertmanager.rpartition(":")[2]
        m = notifier(f"""\
            alerting:
              alertmanagers:
              - api_version: v1
                dns_sd_configs:
                - names: [web.{ZONE}]
                  type: A
                  port: {port}
            """, dns_resolver=("127.0.0.1", dns.port))
        m.start()
        try:
            assert m.alertmanagers()["activeAlertmanagers"] == [{"url": f"http://{alertmanager}/api/v1/alerts"}]
            m.send([Alert({"alertname": "FromDNS"}, {"via": "v1"}, time.time())])
            (got,) = wait_for(lambda: am_alerts(alertmanager))
            assert got["labels"] == {"alertname": "FromDNS"} and got["annotations"] == {"via": "v1"}
        finally:
            m.stop()
    finally:
        dns.stop()
