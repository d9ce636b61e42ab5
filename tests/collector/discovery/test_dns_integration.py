"""DNS service discovery against a real dnsmasq on 127.0.0.1 (on a free port)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from metricslib.collector.config.config import DNSSDConfig
from metricslib.collector.config.durations import Duration
from metricslib.collector.discovery.dns import DNSProvider, make_resolver
from metricslib.collector.scrape.manager import Collector
from tests.collector.apps.fakes import FakeStorage, FakeTransport
from tests.helpers import free_port, require_tool, stop_process

pytestmark = pytest.mark.integration

ZONE = "metricslib.test"


def wait_for(predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"condition not met within {timeout}s")


class Dnsmasq:
    def __init__(self, tmp_path: Path) -> None:
        self.binary = require_tool("dnsmasq", "dnsmasq-base")
        self.hosts = tmp_path / "hosts"
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def write_hosts(self, *addresses: str) -> None:
        self.hosts.write_text("".join(f"{a} web.{ZONE}\n" for a in addresses))

    def start(self) -> None:
        cmd = [
            self.binary, "--no-daemon", "--keep-in-foreground", f"--port={self.port}",
            "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv", "--no-hosts",
            f"--addn-hosts={self.hosts}", "--conf-file=/dev/null", "--local-ttl=0",
            f"--local=/{ZONE}/",  # authoritative for the zone: unknown names are NXDOMAIN
            f"--srv-host=_metrics._tcp.{ZONE},web.{ZONE},9100,0,10",
            f"--srv-host=_metrics._tcp.{ZONE},api.{ZONE},9200,0,20",
        ]
        if os.geteuid() == 0:
            cmd.append("--user=root")  # dnsmasq drops to "nobody" otherwise, which may not exist
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        resolver = make_resolver(("127.0.0.1", self.port))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                out = self.proc.stdout.read().decode() if self.proc.stdout else ""
                raise AssertionError(f"dnsmasq exited: {out}")
            try:
                resolver.resolve(f"web.{ZONE}", "A", lifetime=0.5, search=False)
                return
            except Exception:
                time.sleep(0.1)
        raise AssertionError("dnsmasq did not answer")

    def reload(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGHUP)  # dnsmasq re-reads --addn-hosts files

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            if self.proc.stdout is not None:
                self.proc.stdout.close()


@pytest.fixture
def dnsmasq(tmp_path: Path) -> Iterator[Dnsmasq]:
    server = Dnsmasq(tmp_path)
    server.write_hosts("127.0.0.1")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_a_records_become_targets_with_meta_labels(dnsmasq: Dnsmasq) -> None:
    provider = DNSProvider(DNSSDConfig((f"web.{ZONE}",), "A", 9100, Duration(1000)),
                           make_resolver(("127.0.0.1", dnsmasq.port)))
    groups = provider.poll(0)
    assert groups is not None
    assert groups[0].source == f"web.{ZONE}"
    assert [dict(t) for t in groups[0].targets] == [
        {"__address__": "127.0.0.1:9100", "__meta_dns_name": f"web.{ZONE}"}]


def test_srv_records_use_target_and_port(dnsmasq: Dnsmasq) -> None:
    provider = DNSProvider(DNSSDConfig((f"_metrics._tcp.{ZONE}",), "SRV", 0, Duration(1000)),
                           make_resolver(("127.0.0.1", dnsmasq.port)))
    groups = provider.poll(0)
    assert groups is not None
    targets = sorted(dict(t)["__address__"] for t in groups[0].targets)
    assert targets == [f"api.{ZONE}:9200", f"web.{ZONE}:9100"]
    web = next(dict(t) for t in groups[0].targets if dict(t)["__address__"].startswith("web"))
    assert web["__meta_dns_srv_record_target"] == f"web.{ZONE}."
    assert web["__meta_dns_srv_record_port"] == "9100"
    assert web["__meta_dns_name"] == f"_metrics._tcp.{ZONE}"


def test_refused_lookup_is_an_error(dnsmasq: Dnsmasq) -> None:
    provider = DNSProvider(DNSSDConfig(("web.elsewhere.test",), "A", 80, Duration(1000)),
                           make_resolver(("127.0.0.1", dnsmasq.port)))
    assert provider.poll(0) is None
    assert "REFUSED" in provider.errors["web.elsewhere.test"]


def test_unknown_name_gives_no_targets_and_no_error(dnsmasq: Dnsmasq) -> None:
    provider = DNSProvider(DNSSDConfig((f"missing.{ZONE}",), "A", 80, Duration(1000)),
                           make_resolver(("127.0.0.1", dnsmasq.port)))
    groups = provider.poll(0)
    assert groups is None or all(not g.targets for g in groups)
    assert provider.errors == {}


def test_going_from_one_to_three_records_adds_targets(dnsmasq: Dnsmasq, tmp_path: Path) -> None:
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "scrape_configs:\n  - job_name: dns\n    scrape_interval: 1s\n    scrape_timeout: 500ms\n"
        f"    dns_sd_configs:\n      - names: [web.{ZONE}]\n        type: A\n        port: 9100\n"
        "        refresh_interval: 1s\n")
    transport = FakeTransport()
    for host in ("127.0.0.1", "127.0.0.2", "127.0.0.3"):
        transport.set_body(f"http://{host}:9100/metrics", "node_up 1\n")
    c = Collector(str(config), FakeStorage(), transport=transport,  # type: ignore[arg-type]
                  dns_resolver=("127.0.0.1", dnsmasq.port))

    def instances() -> list[str]:
        active = c.targets("active")["activeTargets"]
        assert isinstance(active, list)
        return sorted(t["labels"]["instance"] for t in active)

    c.start()
    try:
        wait_for(lambda: instances() == ["127.0.0.1:9100"])
        dnsmasq.write_hosts("127.0.0.1", "127.0.0.2", "127.0.0.3")
        dnsmasq.reload()
        wait_for(lambda: instances() == ["127.0.0.1:9100", "127.0.0.2:9100", "127.0.0.3:9100"])
        active = c.targets("active")["activeTargets"]
        assert isinstance(active, list)
        assert {t["discoveredLabels"]["__meta_dns_name"] for t in active} == {f"web.{ZONE}"}
    finally:
        c.stop()
