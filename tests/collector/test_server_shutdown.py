"""SIGTERM the real collector and start it again: nothing committed is lost.

The store no longer cuts its head into chunks on the way out (the write-ahead
log and the checkpoint already hold it; the next start rebuilds the head from
them), so these tests check what that must keep true: a query at a fixed time
answers the same before the shutdown and after the restart, also after
restarts in quick succession (no flush in between) and after a SIGTERM that
lands while a long query runs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.collector.test_server_crash import collector_and_target
from tests.helpers import http_get, running, wait_for_http

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

SERIES = 50


def _query(base: str, expr: str, at: float) -> dict[str, list[tuple[int, float]]]:
    """``expr`` (a range selector) at ``at``, as {series text: [(t_ms, value)]}."""
    q = urllib.parse.urlencode({"query": expr, "time": f"{at:.3f}"})
    status, _, body = http_get(f"{base}/api/v1/query?{q}", timeout=30)
    payload = json.loads(body)
    assert status == 200 and payload["status"] == "success", payload
    return {
        json.dumps(item["metric"], sort_keys=True): [(round(float(t) * 1000), float(v)) for t, v in item["values"]]
        for item in payload["data"]["result"]
    }


def _everything(base: str, at: float) -> dict[str, list[tuple[int, float]]]:
    return {**_query(base, "crash_series[10m]", at), **_query(base, "up[10m]", at)}


def _sigterm(proc: subprocess.Popen[bytes]) -> int:
    os.kill(proc.pid, signal.SIGTERM)
    return proc.wait(timeout=60)


@pytest.fixture
def setup(tmp_path: Path) -> tuple[list[str], str, Path, list[str]]:
    cmd, base, target = collector_and_target(tmp_path, SERIES)
    return cmd, base, tmp_path, target


def _start(cmd: list[str], base: str, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    wait_for_http(f"{base}/-/ready", timeout=30, proc=proc)
    return proc


def _wait_for_scrapes(base: str, n: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        got = _query(base, "up[10m]", time.time())
        if got and len(next(iter(got.values()))) >= n:
            return
        time.sleep(0.2)
    raise AssertionError(f"fewer than {n} scrapes stored within 30s")


def test_sigterm_then_restart_answers_the_same(setup: tuple[list[str], str, Path, list[str]]) -> None:
    cmd, base, tmp, target = setup
    log = tmp / "collector.log"
    with running(target):
        proc = _start(cmd, base, log)
        try:
            _wait_for_scrapes(base, 12)  # past a flush: part checkpoint, part log only
            at = time.time()
            before = _everything(base, at)
        finally:
            code = _sigterm(proc)
        assert code == 0
        assert len(before) == SERIES + 1 and all(len(v) >= 12 for v in before.values())
        # Twice in quick succession: the second run stops before its first flush.
        for _ in range(2):
            proc = _start(cmd, base, log)
            try:
                assert _everything(base, at) == before
            finally:
                assert _sigterm(proc) == 0
    text = log.read_text()
    assert "Traceback" not in text, text
    assert text.count("WAL replay completed") >= 2, text


def test_sigterm_during_a_long_query(setup: tuple[list[str], str, Path, list[str]]) -> None:
    cmd, base, tmp, target = setup
    log = tmp / "collector.log"
    # A subquery of 600,000 steps over every series: it runs far longer than the test waits.
    slow = urllib.parse.urlencode({"query": "sum(max_over_time(crash_series[10m:1ms]))"})
    outcome: list[object] = []

    def ask() -> None:
        try:
            with urllib.request.urlopen(f"{base}/api/v1/query?{slow}", timeout=120) as resp:
                outcome.append(resp.status)
        except urllib.error.HTTPError as exc:
            outcome.append(exc.code)
            exc.close()
        except (urllib.error.URLError, OSError) as exc:  # the connection closed under it
            outcome.append(exc)

    with running(target):
        proc = _start(cmd, base, log)
        try:
            _wait_for_scrapes(base, 8)
            at = time.time()
            before = _everything(base, at)
            client = threading.Thread(target=ask, daemon=True)
            client.start()
            _wait_for_running_query(base)
        finally:
            code = _sigterm(proc)
        client.join(timeout=60)
        assert not client.is_alive() and outcome, "the query's client was left hanging"
        assert code == 0
        proc = _start(cmd, base, log)
        try:
            assert _everything(base, at) == before
        finally:
            assert _sigterm(proc) == 0
    assert "Traceback" not in log.read_text()


def _wait_for_running_query(base: str) -> None:
    """Until the collector's own metrics show a query in flight."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        _, _, body = http_get(f"{base}/metrics", timeout=10)
        for line in body.decode().splitlines():
            if line.startswith("prometheus_engine_queries ") and float(line.split()[1]) >= 1:
                return
        time.sleep(0.05)
    raise AssertionError("the slow query never showed in prometheus_engine_queries")


def test_stop_wakes_the_http_loop_instead_of_waiting_for_its_poll() -> None:
    """The serve loop polls rarely (each wake-up costs the scrapes CPU); stopping
    it must not wait for the poll: a loop polling once an hour still ends."""
    from metricslib.collector.server import _shutdown_now
    from metricslib.collector.web.server import CollectorHTTPServer

    http = CollectorHTTPServer(("127.0.0.1", 0), None)
    loop = threading.Thread(target=http.serve_forever, kwargs={"poll_interval": 3600}, daemon=True)
    loop.start()
    try:
        stopper = threading.Thread(target=_shutdown_now, args=(http,), daemon=True)
        stopper.start()
        stopper.join(60)
        loop.join(60)
        assert not stopper.is_alive() and not loop.is_alive()
    finally:
        http.server_close()
