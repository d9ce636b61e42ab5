"""The same command line run as ``prometheus`` (2.42, Debian) and as ``metricslib
collector``: lifecycle and admin endpoints answer alike, with the flags and without.

Both servers bound to 127.0.0.1 on free ports, started here and stopped by PID.
"""

from __future__ import annotations

import json
import re
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import PYTHON, free_port, require_tool, running

pytestmark = pytest.mark.integration

ADMIN = "/api/v1/admin/tsdb/"


def send(url: str, method: str) -> tuple[int, bytes, str]:
    request = urllib.request.Request(url, data=None if method == "GET" else b"", method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, resp.read(), resp.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), exc.headers.get("Content-Type", "")


def answer(base: str, method: str, path: str) -> tuple[int, object]:
    """Status and body; JSON bodies compared as data (Go and Python space them differently)."""
    status, body, content_type = send(base + path, method)
    if content_type.startswith("application/json"):
        data = json.loads(body)
        if isinstance(data.get("data"), dict) and "name" in data["data"]:
            # Snapshot names are a UTC time and 16 random hex digits.
            assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{16}", data["data"]["name"]), data
            data["data"]["name"] = "<name>"
        return status, data
    return status, body


def both(tmp_path: Path, flags: list[str], requests: list[tuple[str, str]]) -> tuple[list[object], list[object]]:
    prometheus = require_tool("prometheus", "prometheus")
    config = tmp_path / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 15s\n")
    results: list[list[object]] = []
    for name, binary in (("prom", [prometheus]), ("ours", [PYTHON, "-m", "metricslib", "collector"])):
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        cmd = [*binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / name}",
               f"--web.listen-address=127.0.0.1:{port}", *flags]
        with running(cmd, ready_url=f"{base}/-/ready", timeout=60):
            results.append([(method, path, answer(base, method, path)) for method, path in requests])
    return results[0], results[1]


def test_lifecycle_and_admin_are_off_by_default_as_in_prometheus(tmp_path: Path) -> None:
    requests = [(m, p) for p in ("/-/reload", "/-/quit") for m in ("GET", "POST", "PUT")]
    requests += [(m, ADMIN + p) for p in ("delete_series?match[]=up", "clean_tombstones", "snapshot")
                 for m in ("GET", "POST", "PUT")]
    theirs, ours = both(tmp_path, [], requests)
    assert ours == theirs


def test_enabled_admin_api_answers_as_prometheus(tmp_path: Path) -> None:
    requests = [
        ("POST", "/-/reload"),
        ("POST", ADMIN + "delete_series"),
        ("POST", ADMIN + "delete_series?match[]=up&start=abc"),
        ("POST", ADMIN + "delete_series?match[]=up&end=xyz"),
        ("PUT", ADMIN + "delete_series?match[]=up"),
        ("POST", ADMIN + "delete_series?match[]=up&start=10&end=5"),
        ("POST", ADMIN + "delete_series?match[]=%7Bjob%3D~%22.%2B%22%7D&start=2026-01-01T00:00:00Z"),
        ("POST", ADMIN + "clean_tombstones"),
        ("POST", ADMIN + "snapshot"),
        ("PUT", ADMIN + "snapshot?skip_head=true"),
        ("POST", ADMIN + "snapshot?skip_head=xyz"),
        ("GET", ADMIN + "snapshot"),
    ]
    theirs, ours = both(tmp_path, ["--web.enable-lifecycle", "--web.enable-admin-api"], requests)
    assert ours == theirs


def query_range(base: str, expr: str, start: float, end: float, step: str) -> object:
    params = urllib.parse.urlencode({"query": expr, "start": start, "end": end, "step": step})
    status, body, _ = send(f"{base}/api/v1/query_range?{params}", "GET")
    assert status == 200, body
    return json.loads(body)["data"]


def series(base: str, match: str) -> object:
    status, body, _ = send(f"{base}/api/v1/series?{urllib.parse.urlencode({'match[]': match})}", "GET")
    assert status == 200, body
    return sorted(json.dumps(s, sort_keys=True) for s in json.loads(body)["data"])


def test_delete_series_removes_the_same_samples_as_prometheus(tmp_path: Path) -> None:
    """The fleet workload backfilled into both; the same deletions; the same data left."""
    from tests.collector.workload import prometheus_and_collector, write_workload

    prometheus = require_tool("prometheus", "prometheus")
    promtool = require_tool("promtool", "prometheus")
    workload = write_workload(tmp_path / "data.om", duration_s=3600)
    middle = workload.start_s + 1200
    deletions = [
        # part of one series: a window in the middle
        {"match[]": 'room_temperature_celsius{room="attic"}', "start": str(middle), "end": str(middle + 600)},
        # every sample of one series
        {"match[]": 'process_resident_memory_bytes{instance="app-0:8000"}'},
        # everything after a time, across two matcher sets
        {"match[]": ['image_gallery_requests_total{code="500"}', 'image_gallery_requests_total{code="404"}'],
         "start": str(middle)},
    ]
    with prometheus_and_collector(tmp_path, workload, prometheus=prometheus, promtool=promtool,
                                  flags=["--web.enable-admin-api"]) as servers:
        for params in deletions:
            query = urllib.parse.urlencode(params, doseq=True)
            for base in (servers.prometheus, servers.ours):
                assert send(f"{base}{ADMIN}delete_series?{query}", "POST")[:2] == (204, b"")
        window = (workload.start_s - 60, workload.end_s + 60)
        for expr in ("room_temperature_celsius", "process_resident_memory_bytes",
                     'image_gallery_requests_total{route="/"}'):
            theirs = query_range(servers.prometheus, expr, *window, "15s")
            ours = query_range(servers.ours, expr, *window, "15s")
            assert ours == theirs, expr
            if expr == "room_temperature_celsius":  # the comparison is not between two empty answers
                points = {r["metric"]["room"]: len(r["values"]) for r in theirs["result"]}  # type: ignore[index]
                assert 0 < points["attic"] < points["cellar"]
        for match in ("process_resident_memory_bytes", "room_temperature_celsius"):
            assert series(servers.ours, match) == series(servers.prometheus, match), match
