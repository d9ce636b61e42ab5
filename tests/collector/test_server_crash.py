"""kill -9 the real collector during ingestion, many times: no committed scrape is lost.

A target on 127.0.0.1 numbers the scrapes it serves (``crash_scrape_seq``,
also the value of each of its ``crash_series``) and logs every one it has
fully sent. The collector (``python -m metricslib collector``, 200 ms scrape
interval, 1 s flush) is killed with SIGKILL at random moments, more than 20
times, and restarted on the same data directory each time.

"Committed" is what the API showed: just before each kill the test reads
``up`` and ``crash_scrape_seq`` over the last minutes; every sample it saw
must be there after the restarts. A scrape the target sent but the API had
not shown yet may or may not survive (the kill may land before its commit).
No corruption: every stored scrape is one the target served, served once,
stored once, and whole (all its series at its timestamp, or none).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import textwrap
import time
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import PYTHON, free_port, http_get, running, wait_for_http

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

KILLS = 22
SERIES = 200
BUDGET_S = 150.0  # the kills stop early (and the test fails) past this

TARGET = textwrap.dedent(
    """
    import sys, time
    from http.server import BaseHTTPRequestHandler, HTTPServer
    port, log_path, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    log = open(log_path, "a", buffering=1)
    seq = 0

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            global seq
            seq += 1
            lines = [f"crash_scrape_seq {seq}"]
            lines += [f'crash_series{{i="{i}"}} {seq}' for i in range(n)]
            body = ("\\n".join(lines) + "\\n").encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
            log.write(f"{seq} {int(time.time() * 1000)}\\n")  # fully sent

        def log_message(self, *args):
            pass

    HTTPServer(("127.0.0.1", port), Handler).serve_forever()
    """
)


def collector_and_target(tmp_path: Path, series: int) -> tuple[list[str], str, list[str]]:
    """The collector's command and base URL, and the target's command, for a run in
    ``tmp_path``: one target serving ``series`` series (logging what it served to
    ``served.log``), scraped every 200 ms, the data in ``data/``."""
    target_port, port = free_port(), free_port()
    (tmp_path / "target.py").write_text(TARGET)
    config = tmp_path / "collector.yml"
    config.write_text(textwrap.dedent(
        f"""
        global:
          scrape_interval: 200ms
          scrape_timeout: 200ms
        scrape_configs:
          - job_name: crash
            static_configs: [{{targets: ["127.0.0.1:{target_port}"]}}]
        """
    ))
    cmd = [PYTHON, "-m", "metricslib", "collector", "--config", str(config), "--data-dir", str(tmp_path / "data"),
           "--listen", f"127.0.0.1:{port}", "--flush-interval", "1s"]
    target = [PYTHON, str(tmp_path / "target.py"), str(target_port), str(tmp_path / "served.log"), str(series)]
    return cmd, f"http://127.0.0.1:{port}", target


def _matrix(base: str, expr: str) -> dict[str, list[tuple[int, float]]]:
    """``expr`` (a range selector) at now, as {series text: [(t_ms, value)]}."""
    status, _, body = http_get(f"{base}/api/v1/query?{urllib.parse.urlencode({'query': expr})}", timeout=20)
    payload = json.loads(body)
    assert status == 200 and payload["status"] == "success", payload
    out: dict[str, list[tuple[int, float]]] = {}
    for item in payload["data"]["result"]:
        key = json.dumps(item["metric"], sort_keys=True)
        out[key] = [(round(float(t) * 1000), float(v)) for t, v in item["values"]]
    return out


def _visible(base: str) -> tuple[set[int], set[tuple[int, float]]]:
    """Timestamps of ``up`` and (t, seq) pairs the API shows now."""
    up = {t for samples in _matrix(base, "up[10m]").values() for t, _ in samples}
    seq = {p for samples in _matrix(base, "crash_scrape_seq[10m]").values() for p in samples}
    return up, seq


def _kill(proc: subprocess.Popen[bytes]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def test_sigkill_during_ingestion_loses_no_committed_scrape(tmp_path: Path) -> None:
    seed = int(os.environ.get("CRASH_SEED", "0")) or random.SystemRandom().getrandbits(32)
    rng = random.Random(seed)
    seed_note = f"(kill moments from CRASH_SEED={seed})"
    served_log = tmp_path / "served.log"
    cmd, base, target = collector_and_target(tmp_path, SERIES)
    seen_up: set[int] = set()
    seen_seq: set[tuple[int, float]] = set()
    start = time.monotonic()
    with running(target):
        kills = 0
        while kills < KILLS:
            assert time.monotonic() - start < BUDGET_S, f"only {kills} kills in {BUDGET_S}s {seed_note}"
            with open(tmp_path / f"collector-{kills}.log", "wb") as out:
                proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
            try:
                wait_for_http(f"{base}/-/ready", timeout=30, proc=proc)
                # Everything seen before this kill must have survived the earlier ones.
                up, seq = _visible(base)
                assert seen_up <= up, f"up samples lost: {sorted(seen_up - up)[:5]} {seed_note}"
                assert seen_seq <= seq, f"scrapes lost: {sorted(seen_seq - seq)[:5]} {seed_note}"
                time.sleep(rng.uniform(0.2, 1.5))  # a random moment in ingestion and flushing
                up, seq = _visible(base)
                time.sleep(rng.uniform(0.0, 0.05))
            finally:
                _kill(proc)
            kills += 1
            seen_up |= up
            seen_seq |= seq
        with running(cmd, ready_url=f"{base}/-/ready", timeout=30) as proc:
            up, seq = _visible(base)
            series = _matrix(base, "crash_series[10m]")
            status, _, body = http_get(f"{base}/api/v1/status/walreplay")
    assert kills >= 20
    assert seen_up <= up, f"up samples lost: {sorted(seen_up - up)[:5]} {seed_note}"
    assert seen_seq <= seq, f"scrapes lost: {sorted(seen_seq - seq)[:5]} {seed_note}"
    assert len(seen_seq) > 3 * kills, "too few scrapes were seen to test anything"
    # No corruption: each stored scrape was served, once, and is stored whole.
    served = [int(line.split()[0]) for line in served_log.read_text().split("\n") if line]
    stored = sorted(seq)
    values = [int(v) for _, v in stored]
    assert values == sorted(set(values)), f"a scrape stored twice or out of order {seed_note}"
    assert set(values) <= set(served)
    assert len(series) == SERIES
    for samples in series.values():
        assert samples == stored, f"a scrape stored in part {seed_note}"
    # Each restart logged its replay (the first run had nothing to replay).
    log_text = (tmp_path / f"collector-{kills - 1}.log").read_text()
    assert "WAL segment loaded: segment=" in log_text and "WAL replay completed" in log_text, log_text
    payload: dict[str, Any] = json.loads(body)
    assert status == 200 and set(payload["data"]) == {"min", "max", "current"}
    assert payload["data"]["current"] == payload["data"]["max"] >= payload["data"]["min"] >= 1
