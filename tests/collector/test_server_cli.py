"""``metricslib collector`` as an operator meets it: Prometheus's command line,
one-line operational errors, lifecycle and the admin API round trip.

Real processes on 127.0.0.1, stopped by PID.
"""

from __future__ import annotations

import json
import socket
import subprocess
import textwrap
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metricslib.collector.model import make_labels
from metricslib.collector.storage import open_storage
from tests.helpers import PYTHON, free_port, http_get, running

pytestmark = pytest.mark.integration

COLLECTOR = [PYTHON, "-m", "metricslib", "collector"]


def self_scrape_config(port: int) -> str:
    return textwrap.dedent(
        f"""
        global:
          scrape_interval: 1s
        scrape_configs:
          - job_name: prometheus
            static_configs:
              - targets: ["127.0.0.1:{port}"]
        """
    )


def query(base: str, expr: str) -> list[dict[str, Any]]:
    status, _, body = http_get(f"{base}/api/v1/query?{urllib.parse.urlencode({'query': expr})}")
    payload = json.loads(body)
    assert status == 200 and payload["status"] == "success", payload
    result: list[dict[str, Any]] = payload["data"]["result"]
    return result


def send(url: str, method: str = "POST") -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=b"", method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_until(predicate: Any, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} not met within {timeout}s")


def test_prometheus_command_line_from_a_unit_file(tmp_path: Path) -> None:
    """The ExecStart of Prometheus's docs and Debian's unit file, keeping only the
    flags we implement, with both --flag=value and --flag value spellings."""
    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(self_scrape_config(port))
    base = f"http://127.0.0.1:{port}"
    cmd = [*COLLECTOR,
           f"--config.file={config}",
           "--storage.tsdb.path", str(tmp_path / "prometheus"),
           "--storage.tsdb.retention.time=15d",
           "--storage.tsdb.retention.size=1GB",
           f"--web.listen-address=127.0.0.1:{port}",
           "--web.external-url", f"http://127.0.0.1:{port}/",
           "--web.enable-lifecycle",
           "--query.timeout=2m", "--query.max-samples=50000000", "--query.lookback-delta=5m",
           "--query.max-concurrency", "20",
           "--log.level=info", "--log.format=logfmt"]
    with running(cmd, ready_url=f"{base}/-/ready") as proc:
        wait_until(lambda: bool(query(base, 'up{job="prometheus"} == 1')), what="self scrape up")
        flags = json.loads(http_get(f"{base}/api/v1/status/flags")[2])["data"]
        assert flags["config.file"] == str(config)
        assert flags["storage.tsdb.path"] == str(tmp_path / "prometheus")
        assert flags["storage.tsdb.retention.size"] == "1GB"
        assert flags["query.max-concurrency"] == "20"
        assert flags["web.enable-lifecycle"] == "true" and flags["web.enable-admin-api"] == "false"
        assert (tmp_path / "prometheus").is_dir()
        # /-/quit ends the process cleanly.
        assert send(f"{base}/-/quit") == (200, b"Requesting termination... Goodbye!")
        assert proc.wait(timeout=30) == 0


def run_cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*COLLECTOR, *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def assert_one_line_error(result: subprocess.CompletedProcess[str], *needles: str, status: int = 2) -> None:
    # Exit statuses as Prometheus's: 2 for a bad flag or config, 1 for a port or data dir in use.
    assert result.returncode == status
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.endswith("\n"), result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


def test_missing_config_is_one_line_and_creates_nothing(tmp_path: Path) -> None:
    result = run_cli(["--config.file=missing.yml"], tmp_path)
    assert_one_line_error(result, "missing.yml", "No such file")
    assert list(tmp_path.iterdir()) == []  # no ./data


def test_bad_config_is_one_line_and_creates_nothing(tmp_path: Path) -> None:
    (tmp_path / "prometheus.yml").write_text("global:\n  scrape_interval: soon\n")
    result = run_cli([], tmp_path)  # --config.file defaults to prometheus.yml, as Prometheus
    assert_one_line_error(result, "prometheus.yml", "scrape_interval")
    assert [p.name for p in tmp_path.iterdir()] == ["prometheus.yml"]


@pytest.mark.parametrize(("flag", "needles"), [
    ("--storage.tsdb.retention.time=15x", ["--storage.tsdb.retention.time", "15x"]),
    ("--query.timeout=soon", ["--query.timeout", "soon"]),
    ("--query.lookback-delta=-1m", ["--query.lookback-delta"]),
    ("--storage.tsdb.retention.size=lots", ["--storage.tsdb.retention.size", "lots"]),
    ("--web.listen-address=nonsense", ["--web.listen-address", "nonsense"]),
    ("--web.read-timeout=5m", ["--web.read-timeout"]),
    ("--web.enable", ["--web.enable"]),
    ("--query.processes=-1", ["--query.processes", "-1"]),
])
def test_bad_flags_are_one_line_and_create_nothing(tmp_path: Path, flag: str, needles: list[str]) -> None:
    (tmp_path / "prometheus.yml").write_text("scrape_configs: []\n")
    result = run_cli([flag], tmp_path)
    assert_one_line_error(result, *needles)
    assert [p.name for p in tmp_path.iterdir()] == ["prometheus.yml"]


def test_port_in_use_is_one_line_and_creates_nothing(tmp_path: Path) -> None:
    (tmp_path / "prometheus.yml").write_text("scrape_configs: []\n")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_cli([f"--web.listen-address=127.0.0.1:{port}"], tmp_path)
    assert_one_line_error(result, f"127.0.0.1:{port}", "in use", status=1)
    assert [p.name for p in tmp_path.iterdir()] == ["prometheus.yml"]


def test_locked_data_dir_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "prometheus.yml").write_text("scrape_configs: []\n")
    store = open_storage(tmp_path / "data", background=False)
    try:
        result = run_cli([f"--web.listen-address=127.0.0.1:{free_port()}"], tmp_path)
    finally:
        store.close()
    assert_one_line_error(result, "data", "in use by another process", status=1)


def test_version_and_help_show_prometheus_flags_with_defaults(tmp_path: Path) -> None:
    version = subprocess.run([PYTHON, "-m", "metricslib", "--version"], capture_output=True, text=True, timeout=60)
    assert version.returncode == 0 and version.stdout.startswith("metricslib, version ")
    helped = run_cli(["--help"], tmp_path)
    assert helped.returncode == 0
    text = " ".join(helped.stdout.split())
    assert "--config.file CONFIG, --config CONFIG" in text
    assert "(default: 15d)" in text and "(default: 127.0.0.1:9090)" in text


def test_admin_round_trip_delete_snapshot_restart(tmp_path: Path) -> None:
    """Delete a series, snapshot, start a new collector from the snapshot: it has
    what the first one had, minus the deleted series."""
    data = tmp_path / "data"
    now_ms = int(time.time() * 1000)
    store = open_storage(data, background=False)
    app = store.appender()
    for k in ("a", "b"):
        for i in range(10):
            app.append(make_labels({"__name__": "backfilled", "k": k}), now_ms - 600_000 + i * 1000, float(i))
    app.commit()
    store.close()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config = tmp_path / "prometheus.yml"
    config.write_text(self_scrape_config(port))
    cmd = [*COLLECTOR, f"--config.file={config}", f"--storage.tsdb.path={data}",
           f"--web.listen-address=127.0.0.1:{port}", "--web.enable-admin-api"]
    with running(cmd, ready_url=f"{base}/-/ready"):
        # Lifecycle stays off: the admin flag does not open it.
        assert send(f"{base}/-/reload")[0] == 403
        wait_until(lambda: bool(query(base, 'up{job="prometheus"}')), what="self scrape")
        assert len(query(base, "last_over_time(backfilled[1h])")) == 2
        status, body = send(f"{base}/api/v1/admin/tsdb/delete_series?match[]=backfilled{{k=%22a%22}}", "PUT")
        assert (status, body) == (204, b"")
        assert [r["metric"]["k"] for r in query(base, "last_over_time(backfilled[1h])")] == ["b"]
        assert send(f"{base}/api/v1/admin/tsdb/clean_tombstones") == (204, b"")
        status, body = send(f"{base}/api/v1/admin/tsdb/snapshot")
        assert status == 200
        name = json.loads(body)["data"]["name"]
        assert (data / "snapshots" / name).is_dir()
    snap = data / "snapshots" / name
    port2 = free_port()
    base2 = f"http://127.0.0.1:{port2}"
    config.write_text("scrape_configs: []\n")
    cmd2 = [*COLLECTOR, f"--config.file={config}", f"--storage.tsdb.path={snap}",
            f"--web.listen-address=127.0.0.1:{port2}"]
    with running(cmd2, ready_url=f"{base2}/-/ready"):
        result = query(base2, "last_over_time(backfilled[1h])")
        assert [(r["metric"]["k"], r["value"][1]) for r in result] == [("b", "9")]
        assert query(base2, 'last_over_time(up{job="prometheus"}[1h])')  # head samples made it too
        # Without --web.enable-admin-api the admin API answers as Prometheus does.
        status, body = send(f"{base2}/api/v1/admin/tsdb/snapshot")
        assert (status, json.loads(body)["error"]) == (500, "admin APIs disabled")


# Classic panels of the "Prometheus 2.0 Stats" dashboard, over the collector scraping itself.
STATS_QUERIES = (
    "rate(prometheus_tsdb_head_samples_appended_total[1m])",
    'prometheus_target_interval_length_seconds{quantile="0.99"}',
    "rate(prometheus_http_requests_total[1m])",
    "prometheus_tsdb_head_series",
    "prometheus_tsdb_head_chunks",
    "prometheus_tsdb_storage_blocks_bytes",
    'prometheus_engine_query_duration_seconds{quantile="0.9"}',
    "prometheus_engine_queries",
    "sum(prometheus_sd_discovered_targets)",
    "prometheus_target_scrape_pool_targets",
    "rate(prometheus_target_scrapes_exceeded_sample_limit_total[1m])",
    "histogram_quantile(0.9, rate(prometheus_http_request_duration_seconds_bucket[1m]))",
    "prometheus_config_last_reload_successful",
    "time() - prometheus_config_last_reload_success_timestamp_seconds",
    "prometheus_build_info",
    "rate(process_cpu_seconds_total[1m])",
    "process_resident_memory_bytes",
)


def test_stats_dashboard_queries_answer_and_sighup_reloads_without_lifecycle(tmp_path: Path) -> None:
    import os
    import signal

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config = tmp_path / "prometheus.yml"
    config.write_text(self_scrape_config(port))
    cmd = [*COLLECTOR, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'data'}",
           f"--web.listen-address=127.0.0.1:{port}"]
    with running(cmd, ready_url=f"{base}/-/ready") as proc:
        query(base, "up")  # one query, so the engine's summary has an observation
        missing = list(STATS_QUERIES)

        def all_answer() -> bool:
            missing[:] = [q for q in missing if not query(base, q)]
            return not missing

        wait_until(all_answer, timeout=60, what=f"stats queries answer (still empty: {missing})")
        # SIGHUP reloads whatever the lifecycle flag says: a bad file is refused ...
        config.write_text("global:\n  scrape_interval: soon\n")
        os.kill(proc.pid, signal.SIGHUP)
        wait_until(lambda: query(base, "prometheus_config_last_reload_successful == 0") != [],
                   what="failed reload is visible")
        # ... and a good one applied: a second job appears.
        config.write_text(self_scrape_config(port) + '  - job_name: again\n    static_configs:\n'
                          f'      - targets: ["127.0.0.1:{port}"]\n')
        os.kill(proc.pid, signal.SIGHUP)
        wait_until(lambda: bool(query(base, 'up{job="again"} == 1')), what="reloaded job scraped")
        assert query(base, "prometheus_config_last_reload_successful == 1")
        assert send(f"{base}/-/reload")[0] == 403


def options(*flags: str) -> Any:
    from metricslib.cli import build_parser
    from metricslib.collector.server import _options_from_args

    return _options_from_args(build_parser().parse_args(["collector", *flags]))


def test_prometheus_flag_values_reach_the_server_options() -> None:
    o = options("--web.listen-address=:9091", "--storage.tsdb.retention.size=2GB", "--query.lookback-delta=1m",
                "--web.external-url=http://example.invalid/prom/", "--query.max-concurrency=3",
                "--web.enable-admin-api", "--retention=1d")
    assert (o.host, o.port) == ("0.0.0.0", 9091)
    assert o.retention_bytes == 2 << 30 and o.retention_ms == 86_400_000
    assert o.lookback_delta_ms == 60_000 and o.query_max_concurrency == 3
    assert o.route_prefix == "/prom" and o.flags["web.route-prefix"] == "/prom"
    assert o.enable_admin_api and not o.enable_lifecycle
    assert options("--web.route-prefix=/").route_prefix == ""
    assert options("--web.external-url=http://h/a/", "--web.route-prefix=b/").route_prefix == "/b"
    defaults = options()
    assert (defaults.host, defaults.port, defaults.config_file) == ("127.0.0.1", 9090, "prometheus.yml")
    assert defaults.retention_bytes == 0 and defaults.route_prefix == ""
    assert defaults.query_processes == 1 and options("--query.processes=0").query_processes == 0


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=10**6), st.sampled_from(["B", "KB", "MB", "GB", "TB", "KiB", "MiB", "GiB"]))
def test_retention_size_round_trip(n: int, unit: str) -> None:
    from metricslib.collector.server import parse_retention_size

    power = {"B": 0, "K": 1, "M": 2, "G": 3, "T": 4}[unit[0]]
    assert parse_retention_size(f"{n}{unit}") == n * 1024**power


@pytest.mark.parametrize("text", ["", "GB", "1XB", "-1GB", "1 GB", "1gb", "1.GB"])
def test_bad_retention_sizes_name_the_flag(text: str) -> None:
    from metricslib.collector.server import parse_retention_size

    with pytest.raises(ValueError, match=r"--storage\.tsdb\.retention\.size"):
        parse_retention_size(text)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=10**4), st.sampled_from(["ms", "s", "m", "h", "d", "w"]),
       st.sampled_from(["+", "-"]))
def test_relative_times_move_now_by_the_duration(n: int, unit: str, sign: str) -> None:
    from metricslib.collector.config.durations import parse_duration
    from metricslib.collector.querycli import resolve_time

    resolved = resolve_time(f"now{sign}{n}{unit}", 1_000_000.0)
    offset = int(parse_duration(f"{n}{unit}")) / 1000
    assert resolved is not None
    assert float(resolved) == pytest.approx(1_000_000.0 + (offset if sign == "+" else -offset), abs=1e-3)
