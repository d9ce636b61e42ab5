"""One real Alertmanager hears the same alert from a real Prometheus 2.42 and from the collector.

Both servers read the same rule file and scrape the same target, each with
its own config differing only in the external label ``sender`` (so
Alertmanager keeps their alerts apart) and both sending to one Alertmanager
(Debian ``prometheus-alertmanager``) on 127.0.0.1. The target's value comes
from a file the test writes: 0 (no alert), then high (pending, then firing
after ``for``), then 0 again (resolved). Alertmanager's ``/api/v2/alerts``
shows the firing alerts; the webhook it notifies shows their resolution.

The two servers evaluate the group at the same instants (same file, same
group name), but each scrapes the target at its own moment, so one may see
the file's change an evaluation later than the other: times are compared
within one evaluation interval, everything else exactly.
"""

from __future__ import annotations

import textwrap
import urllib.parse
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.collector.alertmanager import (
    am_alerts,
    parse_time,
    running_alertmanager,
    wait_for,
    webhook_receiver,
)
from tests.collector.rules.test_prometheus_differential import api, collector_cmd
from tests.helpers import PYTHON, free_port, http_get, require_tool, running

pytestmark = pytest.mark.integration

EVALUATION_INTERVAL_S = 2

TARGET = textwrap.dedent(
    """
    import sys
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            with open(sys.argv[2]) as f:
                value = f.read().strip()
            body = f'disk_errors{{device="sda"}} {value}\\n'.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
    """
)

RULES = textwrap.dedent(
    f"""
    groups:
      - name: disks
        interval: {EVALUATION_INTERVAL_S}s
        rules:
          - alert: DiskErrors
            expr: disk_errors{{job="disks", device=~"sd."}} * on(instance) group_left up > 1e2
            for: 2s
            labels:
              severity: page
              device_copy: "{{{{ $labels.device }}}}"
            annotations:
              summary: "{{{{ $labels.device }}}} on {{{{ $labels.instance }}}} has errors"
              value: "{{{{ $value }}}} ({{{{ $value | humanize }}}})"
              detail: '{{{{ $labels.device | toUpper }}}} {{{{ printf "%.1f" $value }}}}, up {{{{ with query "up" }}}}{{{{ . | first | value }}}}{{{{ end }}}}'
              sender: "sent by {{{{ $externalLabels.sender }}}}"
    """
)


def config(sender: str, target: str, alertmanager: str) -> str:
    return textwrap.dedent(
        f"""
        global:
          scrape_interval: 500ms
          evaluation_interval: {EVALUATION_INTERVAL_S}s
          external_labels: {{sender: {sender}}}
        rule_files: [rules.yml]
        alerting:
          alertmanagers:
            - static_configs:
                - targets: ["{alertmanager}"]
        scrape_configs:
          - job_name: disks
            static_configs:
              - targets: ["{target}"]
        """
    )


@pytest.fixture
def level(tmp_path: Path) -> Path:
    path = tmp_path / "level"
    path.write_text("0")
    return path


@pytest.fixture
def target(tmp_path: Path, level: Path) -> Iterator[str]:
    script = tmp_path / "target.py"
    script.write_text(TARGET)
    port = free_port()
    with running([PYTHON, str(script), str(port), str(level)], ready_url=f"http://127.0.0.1:{port}/metrics"):
        yield f"127.0.0.1:{port}"


def by_sender(alerts: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The DiskErrors alerts, keyed by their sender label (the last one seen of each)."""
    return {a["labels"]["sender"]: a for a in alerts if a["labels"].get("alertname") == "DiskErrors"}


def without_sender(labels: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in labels.items() if k != "sender"}


def test_alertmanager_receives_the_same_alerts_from_prometheus_and_the_collector(
        tmp_path: Path, target: str, level: Path) -> None:
    prometheus = require_tool("prometheus", "prometheus")
    (tmp_path / "rules.yml").write_text(RULES)
    prom_port, our_port = free_port(), free_port()
    prom, ours = f"http://127.0.0.1:{prom_port}", f"http://127.0.0.1:{our_port}"
    with ExitStack() as stack:
        hook = stack.enter_context(webhook_receiver())
        am = stack.enter_context(running_alertmanager(tmp_path, hook.url, group_by=("alertname", "sender")))
        (tmp_path / "prometheus.yml").write_text(config("prometheus", target, am))
        (tmp_path / "metricslib.yml").write_text(config("metricslib", target, am))
        stack.enter_context(running(
            [prometheus, f"--config.file={tmp_path / 'prometheus.yml'}", f"--storage.tsdb.path={tmp_path / 'prom'}",
             f"--web.listen-address=127.0.0.1:{prom_port}", f"--web.external-url={prom}"],
            ready_url=f"{prom}/-/ready", timeout=60))
        stack.enter_context(running(
            collector_cmd(tmp_path / "metricslib.yml", tmp_path / "ours", our_port, f"--web.external-url={ours}"),
            ready_url=f"{ours}/-/ready", timeout=60))

        # Before the alert: both know the Alertmanager (Prometheus applies discovery every 5s,
        # and drops what it has nowhere to send) and both have the target's quiet value.
        for base in (prom, ours):
            wait_for(lambda b=base: api(b, "/api/v1/alertmanagers")["activeAlertmanagers"], timeout=30,
                     interval=0.5)
            wait_for(lambda b=base: api(b, "/api/v1/query", query="disk_errors == 0")["result"], timeout=30,
                     interval=0.5)

        level.write_text("1234.5")
        firing = wait_for(lambda: len(s := by_sender(am_alerts(am, active="true", silenced="false"))) == 2 and s,
                          timeout=60, interval=0.5)
        theirs, mine = firing["prometheus"], firing["metricslib"]
        assert without_sender(mine["labels"]) == without_sender(theirs["labels"]) == {
            "alertname": "DiskErrors", "device": "sda", "device_copy": "sda", "instance": target, "job": "disks",
            "severity": "page"}
        assert without_sender(mine["annotations"]) == without_sender(theirs["annotations"]) == {
            "summary": f"sda on {target} has errors", "value": "1234.5 (1.234k)", "detail": "SDA 1234.5, up 1"}
        assert (mine["annotations"]["sender"], theirs["annotations"]["sender"]) == (
            "sent by metricslib", "sent by prometheus")
        assert abs(parse_time(mine["startsAt"]) - parse_time(theirs["startsAt"])) <= EVALUATION_INTERVAL_S
        # A firing alert is valid for four resend delays (1m) from its last send.
        assert abs(parse_time(mine["endsAt"]) - parse_time(theirs["endsAt"])) <= EVALUATION_INTERVAL_S
        assert parse_time(mine["endsAt"]) - parse_time(mine["startsAt"]) == pytest.approx(240, abs=0.001)
        assert mine["status"]["state"] == theirs["status"]["state"] == "active"
        # Each links to the expression on its own UI, in 2.42's spelling; the links differ in nothing else.
        expr = urllib.parse.quote_plus('disk_errors{device=~"sd.",job="disks"} * on (instance) group_left () up > 100')
        assert theirs["generatorURL"] == f"{prom}/graph?g0.expr={expr}&g0.tab=1"
        assert mine["generatorURL"] == f"{ours}/graph?g0.expr={expr}&g0.tab=1"
        status, headers, _ = http_get(mine["generatorURL"])
        assert status == 200 and headers["Content-Type"].startswith("text/html")

        # Both went pending before firing, at the evaluations they saw the change.
        for base in (prom, ours):
            states = {s["metric"]["alertstate"]
                      for s in api(base, "/api/v1/query", query='ALERTS{alertname="DiskErrors"}[1m]')["result"]}
            assert states == {"pending", "firing"}, base

        level.write_text("0")
        resolved = wait_for(lambda: len(s := by_sender(hook.alerts("resolved"))) == 2 and s, timeout=60,
                            interval=0.5)
        done_theirs, done_mine = resolved["prometheus"], resolved["metricslib"]
        for done, fired in ((done_theirs, theirs), (done_mine, mine)):
            assert done["labels"] == fired["labels"] and done["annotations"] == fired["annotations"]
            # The API writes milliseconds always ("04.700Z"), the webhook Go's shortest form ("04.7Z").
            assert parse_time(done["startsAt"]) == parse_time(fired["startsAt"])
            assert done["generatorURL"] == fired["generatorURL"]
            assert parse_time(done["startsAt"]) < parse_time(done["endsAt"]) < parse_time(fired["endsAt"])
        assert abs(parse_time(done_mine["endsAt"]) - parse_time(done_theirs["endsAt"])) <= EVALUATION_INTERVAL_S
        # Alertmanager no longer lists them as active.
        assert by_sender(am_alerts(am, active="true")) == {}
        # Alertmanager had notified both firing before their resolution.
        assert set(by_sender(hook.alerts("firing"))) == {"prometheus", "metricslib"}
