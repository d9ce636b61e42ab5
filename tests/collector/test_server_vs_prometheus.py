"""The same command line run as ``prometheus`` (2.42, Debian) and as ``metricslib
collector``: lifecycle and admin endpoints answer alike, with the flags and without.

Both servers bound to 127.0.0.1 on free ports, started here and stopped by PID.
"""

from __future__ import annotations

import json
import re
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
