"""`make demo` runs examples/demo.py: the fleet comes up, gets scraped, and the scenario query answers."""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.parse
from pathlib import Path

import pytest

from tests.helpers import PYTHON, REPO_ROOT, free_port, http_get, stop_process

pytestmark = pytest.mark.integration


def test_demo_starts_the_fleet_the_board_answers_and_the_alert_fires(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [PYTHON, str(REPO_ROOT / "examples" / "demo.py"), "--port", str(port), "--duration", "120",
         "--data-dir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        assert proc.stdout is not None
        banner = ""
        deadline = time.monotonic() + 110
        while "Press Ctrl-C" not in banner and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            banner += line
        url = re.search(r"Open:\s+(\S+)", banner)
        assert url, banner
        base = f"http://127.0.0.1:{port}"
        assert url.group(1) == f"{base}/d/scenario"
        board = json.loads(http_get(f"{base}/api/ui/dashboards/scenario")[2])["data"]
        assert [p["title"] for p in board["panels"]][:4] == [
            "Requests with code 200 (all replicas)", "In-flight requests", "Memory", "Access-log lines across replicas"]
        query = urllib.parse.urlencode({"query": 'sum(image_gallery_requests_total{code="200"}) without(instance)'})
        result: list[object] = []
        while not result and time.monotonic() < deadline:
            time.sleep(1)
            result = json.loads(http_get(f"{base}/api/v1/query?{query}")[2])["data"]["result"]
        assert result, "the scenario query stayed empty"
        # Targets are scraped at their own offsets within the 5 s interval: wait for all eight.
        up: list[dict[str, object]] = []
        while time.monotonic() < deadline:
            up = json.loads(http_get(f"{base}/api/v1/query?query=up")[2])["data"]["result"]
            if len(up) == 8 and all(r["value"][1] == "1" for r in up):  # type: ignore[index]
                break
            time.sleep(1)
        assert len(up) == 8 and all(r["value"][1] == "1" for r in up), up  # type: ignore[index]
        # The demo's rule sees the gallery's steady failures: the alert fires,
        # and reaches Alertmanager when the demo could start one.
        firing: list[dict[str, object]] = []
        while not firing and time.monotonic() < deadline:
            alerts = json.loads(http_get(f"{base}/api/v1/alerts")[2])["data"]["alerts"]
            firing = [a for a in alerts if a["labels"]["alertname"] == "ImageGalleryHighErrorRatio"
                      and a["state"] == "firing"]
            time.sleep(1)
        assert firing, "ImageGalleryHighErrorRatio did not fire"
        assert firing[0]["annotations"]["summary"].startswith("image_gallery: ")  # type: ignore[index]
        manager = re.search(r"Alertmanager: http://(\S+)/#/alerts", banner)
        if manager:
            received: list[dict[str, object]] = []
            while not received and time.monotonic() < deadline:
                received = json.loads(http_get(f"http://{manager.group(1)}/api/v2/alerts")[2])
                time.sleep(1)
            assert [a["labels"]["alertname"] for a in received] == ["ImageGalleryHighErrorRatio"]  # type: ignore[index]
        else:
            assert "install the Debian package prometheus-alertmanager" in banner
    finally:
        stop_process(proc)
        if proc.stdout is not None:
            proc.stdout.close()
