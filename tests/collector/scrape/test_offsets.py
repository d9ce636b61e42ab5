"""Prometheus 2.42's per-target scrape offsets: the hashes against published
values and Go's encodings, and the phases against a real Prometheus."""

from __future__ import annotations

import statistics
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metricslib.collector.model.hashing import fnv64a, xxh64
from metricslib.collector.scrape.manager import Collector
from metricslib.collector.scrape.offsets import (
    hostname,
    jitter_seed,
    labels_hash,
    next_slot,
    offset_ns,
    target_hash,
)
from metricslib.collector.storage import open_storage
from tests.helpers import free_port, require_tool, running, wait_for_http

# --- the hashes ----------------------------------------------------------------------


def test_labels_hash_is_xxhash64_of_sorted_pairs_each_closed_by_0xff() -> None:
    flat = b"__address__\xffh:1\xffjob\xffa\xff"
    assert labels_hash([("job", "a"), ("__address__", "h:1")]) == xxh64(flat)
    assert labels_hash([("job", "a"), ("__address__", "h:1"), ("empty", "")]) == xxh64(flat)
    # Long label sets: Go streams them past 1 kB; the digest is the one-shot one.
    big = [(f"l{i:03d}", "v" * 20) for i in range(100)]
    assert labels_hash(big) == xxh64(b"".join(k.encode() + b"\xff" + v.encode() + b"\xff" for k, v in big))


def test_target_hash_is_fnv_of_the_zero_padded_decimal_label_hash_then_the_url() -> None:
    labels = [("__address__", "h:1"), ("job", "a")]
    assert target_hash(labels, "http://h:1/metrics") == fnv64a(
        b"%016d" % labels_hash(labels) + b"http://h:1/metrics")
    # The padding only widens short numbers; a 20-digit hash is written whole.
    assert b"%016d" % 12 == b"0000000000000012" and len(b"%016d" % (2**64 - 1)) == 20


def test_jitter_seed_is_fnv_of_the_host_then_the_external_labels_as_go_prints_them() -> None:
    assert jitter_seed("vm") == fnv64a(b"vm{}")
    assert jitter_seed("h.example.", [("zone", 'a"b'), ("dc", "x")]) == fnv64a(b'h.example.{dc="x", zone="a\\"b"}')


def test_offset_is_the_seeded_target_hash_modulo_the_interval() -> None:
    labels = [("__address__", "h:1"), ("job", "a")]
    seed = jitter_seed("vm", [("dc", "x")])
    got = offset_ns(labels, "http://h:1/metrics", 5 * 10**9, seed)
    assert got == (target_hash(labels, "http://h:1/metrics") ^ seed) % (5 * 10**9)
    assert got != offset_ns(labels, "http://h:1/metrics", 5 * 10**9, seed ^ 1)


def test_hostname_is_a_name() -> None:
    name = hostname()
    assert name and name == hostname() and " " not in name


@given(
    now_ns=st.integers(min_value=0, max_value=2 * 10**21),
    interval_ns=st.integers(min_value=1, max_value=3_600 * 10**9),
    data=st.data(),
)
def test_next_slot_is_the_first_slot_after_now_at_the_offset(now_ns: int, interval_ns: int, data: st.DataObject) -> None:
    offset = data.draw(st.integers(min_value=0, max_value=interval_ns - 1))
    slot, due = next_slot(now_ns, offset, interval_ns, None)
    assert due == offset + slot * interval_ns
    assert now_ns < due <= now_ns + interval_ns
    # Never a slot already used, even when the clock stepped back.
    again, due_again = next_slot(now_ns - 5 * interval_ns, offset, interval_ns, slot)
    assert again == slot + 1 and due_again == due + interval_ns


# --- against Prometheus 2.42 -----------------------------------------------------------

INTERVAL_NS = 2 * 10**9
TOLERANCE_NS = INTERVAL_NS // 20  # 5 % of the interval: a loaded machine delays scrapes, never moves slots
SCRAPES = 4  # per target and server
CONFIG = """\
global:
  scrape_interval: 2s
  scrape_timeout: 1s
  external_labels: {{dc: 'eu "1"', replica: a}}
scrape_configs:
  - job_name: plain
    static_configs: [{{targets: [{plain}], labels: {{team: x}}}}]
  - job_name: probed
    metrics_path: /probe
    params: {{module: [http 2xx]}}
    static_configs: [{{targets: [{probed}]}}]
"""


class _Recorder(BaseHTTPRequestHandler):
    """Answers every scrape with one sample; notes when each server's request came."""

    seen: dict[tuple[str, int], list[int]]  # (server, port) -> request times, ns since the epoch
    lock = threading.Lock()

    def do_GET(self) -> None:
        now = time.time_ns()
        who = "prometheus" if self.headers.get("User-Agent", "").startswith("Prometheus/") else "ours"
        with self.lock:
            self.seen[(who, self.server.server_address[1])].append(now)
        body = b"m 1\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def endpoints() -> Iterator[tuple[list[int], dict[tuple[str, int], list[int]]]]:
    seen: dict[tuple[str, int], list[int]] = defaultdict(list)
    handler = type("Recorder", (_Recorder,), {"seen": seen})
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), handler) for _ in range(6)]
    threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
               for s in servers]
    for t in threads:
        t.start()
    try:
        yield [int(s.server_address[1]) for s in servers], seen
    finally:
        for s in servers:
            s.shutdown()
            s.server_close()
        for t in threads:
            t.join(5)


def _gap(a: int, b: int) -> int:
    """Distance between two phases on the interval's circle, in ns."""
    d = (a - b) % INTERVAL_NS
    return min(d, INTERVAL_NS - d)


def _phase(times: list[int]) -> int:
    """A target's phase: the median of its request times' lateness past the
    first one's phase (requests come at or a little after their slots)."""
    ref = times[0] % INTERVAL_NS
    lateness = [((t - ref + INTERVAL_NS // 2) % INTERVAL_NS) - INTERVAL_NS // 2 for t in times]
    return (ref + int(statistics.median(lateness))) % INTERVAL_NS


@pytest.mark.integration
def test_every_target_is_scraped_at_prometheus_phase(
    tmp_path: Path, endpoints: tuple[list[int], dict[tuple[str, int], list[int]]]
) -> None:
    """Differential: Prometheus 2.42 and our collector scrape the same targets with
    the same file; each target's requests come at the same phase from both, the
    one ``offsets`` predicts."""
    prometheus = require_tool("prometheus", "prometheus")
    ports, seen = endpoints
    plain, probed = ports[:4], ports[4:]
    config = tmp_path / "prometheus.yml"
    config.write_text(CONFIG.format(plain=", ".join(f"'127.0.0.1:{p}'" for p in plain),
                                    probed=", ".join(f"'127.0.0.1:{p}'" for p in probed)))
    seed = jitter_seed(hostname(), [("dc", 'eu "1"'), ("replica", "a")])
    predicted = {}
    for port in ports:
        address = f"127.0.0.1:{port}"
        labels = [("__address__", address), ("__scheme__", "http"), ("__scrape_interval__", "2s"),
                  ("__scrape_timeout__", "1s"), ("instance", address)]
        if port in plain:
            labels += [("__metrics_path__", "/metrics"), ("job", "plain"), ("team", "x")]
            url = f"http://{address}/metrics"
        else:
            labels += [("__metrics_path__", "/probe"), ("job", "probed"), ("__param_module", "http 2xx")]
            url = f"http://{address}/probe?module=http+2xx"
        predicted[port] = offset_ns(labels, url, INTERVAL_NS, seed)

    web = free_port()
    prom_cmd = [prometheus, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'prom'}",
                f"--web.listen-address=127.0.0.1:{web}"]
    storage = open_storage(tmp_path / "data", flush_interval_s=0.5)
    collector = Collector(str(config), storage)
    try:
        with running(prom_cmd):
            wait_for_http(f"http://127.0.0.1:{web}/-/ready", timeout=30)
            collector.start()
            try:
                deadline = time.monotonic() + 40
                while time.monotonic() < deadline:
                    with _Recorder.lock:
                        if all(len(seen[(who, p)]) >= SCRAPES for who in ("ours", "prometheus") for p in ports):
                            break
                    time.sleep(0.2)
            finally:
                collector.stop()
    finally:
        storage.close()
    with _Recorder.lock:
        counts = {key: len(times) for key, times in seen.items()}
        phases = {key: _phase(times) for key, times in seen.items() if len(times) >= SCRAPES}
    assert len(phases) == 2 * len(ports), f"not every target scraped {SCRAPES} times by both within 40 s: {counts}"
    for port in ports:
        ours, theirs = phases[("ours", port)], phases[("prometheus", port)]
        detail = f"port {port}: ours {ours / 1e6:.1f} ms, Prometheus {theirs / 1e6:.1f} ms, " \
                 f"predicted {predicted[port] / 1e6:.1f} ms (of {INTERVAL_NS // 10**6} ms)"
        assert _gap(theirs, predicted[port]) <= TOLERANCE_NS, detail
        assert _gap(ours, predicted[port]) <= TOLERANCE_NS, detail
        assert _gap(ours, theirs) <= TOLERANCE_NS, detail
