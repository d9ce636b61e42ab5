"""The examples under real servers: exact counts under gunicorn, uvicorn and a real Prometheus.

Each test starts a server on a free 127.0.0.1 port, sends a known mix of
requests (200s, 404 floods on distinct paths, a raising handler, a stream,
excluded paths), then scrapes ``/metrics`` several times — under pre-fork
workers each scrape may be answered by a different worker — and requires
exactly those counts under the right route templates.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import PYTHON, REPO_ROOT, free_port, require_tool, running

pytestmark = pytest.mark.integration

EXAMPLES = REPO_ROOT / "examples"
BIN = Path(PYTHON).parent

Totals = dict[tuple[str, str], float]  # (route, code) -> count summed over methods


def http_get(url: str, timeout: float = 30.0) -> tuple[int, dict[str, str], bytes]:
    """Like tests.helpers.http_get, but closes error responses (no ResourceWarning)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, dict(resp.headers.items()), resp.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, dict(exc.headers.items()), exc.read()


def scrape_totals(base: str, metric: str) -> Totals:
    status, _, body = http_get(base + "/metrics")
    assert status == 200, body[:500]
    totals: Totals = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            if sample.name == metric:
                key = (sample.labels["route"], sample.labels["code"])
                totals[key] = totals.get(key, 0.0) + sample.value
    return totals


def scraped_samples(base: str, metric: str) -> list[tuple[dict[str, str], float]]:
    _, _, body = http_get(base + "/metrics")
    return [
        (dict(sample.labels), sample.value)
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
        if sample.name == metric
    ]


def send_all(base: str, paths: Iterable[str], workers: int = 8) -> Counter[int]:
    """GET every path concurrently; the status codes received, counted."""

    def one(path: str) -> int:
        return http_get(base + path, timeout=30)[0]

    with ThreadPoolExecutor(workers) as pool:
        return Counter(pool.map(one, list(paths)))


def run_ab(url: str, requests: int, concurrency: int = 16) -> int:
    ab = require_tool("ab", "apache2-utils")
    out = subprocess.run(
        [ab, "-q", "-n", str(requests), "-c", str(concurrency), url],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    complete = int(re.search(r"Complete requests:\s+(\d+)", out).group(1))  # type: ignore[union-attr]
    failed = int(re.search(r"Failed requests:\s+(\d+)", out).group(1))  # type: ignore[union-attr]
    assert failed == 0, out
    return complete


def assert_totals(base: str, metric: str, expected: Totals, scrapes: int = 6) -> None:
    # Several scrapes: with N workers, different ones answer; all must agree.
    for _ in range(scrapes):
        assert scrape_totals(base, metric) == expected


def wait_until(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def gunicorn_cmd(port: int, *extra: str) -> list[str]:
    return [
        str(BIN / "gunicorn"),
        "-c",
        str(EXAMPLES / "gunicorn.conf.py"),
        "-b",
        f"127.0.0.1:{port}",
        "--chdir",
        str(EXAMPLES),
        "--graceful-timeout",
        "5",
        *extra,
        "flask_app:create_app()",
    ]


def uvicorn_cmd(port: int, target: str, workers: int) -> list[str]:
    return [
        PYTHON,
        "-m",
        "uvicorn",
        "--app-dir",
        str(EXAMPLES),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "critical",
        target,
    ]


GALLERY_MIX = (
    [f"/images/{1 + i % 3}" for i in range(150)]
    + [f"/api/v1/albums/trip{i}" for i in range(30)]
    + [f"/images/{100 + i}" for i in range(20)]  # matched route, 404 from the handler
    + [f"/wp-admin/{i}/login.php" for i in range(80)]  # 404 flood, all different paths
    + ["/boom"] * 5
    + ["/slideshow"] * 4
    + ["/healthz"] * 7  # excluded: answered (404) but never counted
)
GALLERY_EXPECTED: Totals = {
    ("/images/<int:image_id>", "200"): 150,
    ("/api/v1/albums/<name>", "200"): 30,
    ("/images/<int:image_id>", "404"): 20,
    ("<unmatched>", "404"): 80,
    ("/boom", "500"): 5,
    ("/slideshow", "200"): 4,
}


@pytest.mark.parametrize("worker_class", ["sync", "gthread"])
def test_gunicorn_four_workers_flask_example_exact_counts(tmp_path: Path, worker_class: str) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    extra = ["-w", "4", "-k", worker_class] + (["--threads", "4"] if worker_class == "gthread" else [])
    env = {"METRICS_MULTIPROC_DIR": str(tmp_path)}
    with running(gunicorn_cmd(port, *extra), ready_url=base + "/metrics", env=env, cwd=REPO_ROOT):
        codes = send_all(base, GALLERY_MIX)
        assert codes == Counter({200: 184, 404: 107, 500: 5})
        assert_totals(base, "image_gallery_requests_total", GALLERY_EXPECTED)

        sent = run_ab(base + "/images/2", 5000 if worker_class == "sync" else 2000)
        expected = dict(GALLERY_EXPECTED)
        expected[("/images/<int:image_id>", "200")] += sent
        assert_totals(base, "image_gallery_requests_total", expected)
        assert sum(scrape_totals(base, "image_gallery_requests_total").values()) == sum(GALLERY_EXPECTED.values()) + sent
        # Every counted request was also timed, once.
        assert scrape_totals(base, "image_gallery_request_duration_seconds_count") == expected
        # Idle again: the in-flight gauge is one series (livesum over the
        # live workers, no pid label) and the scrape itself is not in it.
        in_flight = scraped_samples(base, "image_gallery_requests_in_flight")
        assert in_flight == [({}, 0.0)]


STARLETTE_MIX = (
    [f"/photos/{1 + i % 3}" for i in range(120)]
    + [f"/photos/{500 + i}" for i in range(10)]
    + [f"/api/v1/albums/a{i}" for i in range(25)]
    + [f"/.env.{i}" for i in range(60)]
    + [f"/api/v1/nothing/{i}" for i in range(15)]  # inside the mount, no route
    + ["/boom"] * 3
    + ["/slideshow"] * 4
    + ["/healthz"] * 5
)
STARLETTE_EXPECTED: Totals = {
    ("/photos/{photo_id:int}", "200"): 120,
    ("/photos/{photo_id:int}", "404"): 10,
    ("/api/v1/albums/{name}", "200"): 25,
    ("<unmatched>", "404"): 75,
    ("/boom", "500"): 3,
    ("/slideshow", "200"): 4,
}


def test_uvicorn_four_workers_starlette_example_exact_counts(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"METRICS_MULTIPROC_DIR": str(tmp_path)}
    cmd = uvicorn_cmd(port, "starlette_app:app", workers=4)
    with running(cmd, ready_url=base + "/metrics", env=env, cwd=REPO_ROOT, timeout=60):
        codes = send_all(base, STARLETTE_MIX)
        assert codes == Counter({200: 149, 404: 90, 500: 3})
        assert_totals(base, "http_requests_total", STARLETTE_EXPECTED)

        sent = run_ab(base + "/photos/3", 5000)
        expected = dict(STARLETTE_EXPECTED)
        expected[("/photos/{photo_id:int}", "200")] += sent
        assert_totals(base, "http_requests_total", expected)
        assert sum(scrape_totals(base, "http_requests_total").values()) == sum(STARLETTE_EXPECTED.values()) + sent


def test_uvicorn_fastapi_example_templates_for_routers_and_sub_apps(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = uvicorn_cmd(port, "fastapi_app:app", workers=1)
    with running(cmd, ready_url=base + "/metrics", cwd=REPO_ROOT, timeout=60):
        mix = (
            [f"/v1/items/{1 + i % 3}" for i in range(40)]
            + ["/v1/items/77"] * 6
            + ["/v1/items/not-a-number"] * 4
            + ["/admin/stats"] * 5
            + ["/export"] * 3
            + ["/boom"] * 2
            + [f"/admin/missing/{i}" for i in range(9)]
            + [f"/random/{i}" for i in range(11)]
        )
        codes = send_all(base, mix)
        assert codes == Counter({200: 48, 404: 26, 422: 4, 500: 2})
        assert_totals(
            base,
            "http_requests_total",
            {
                ("/v1/items/{item_id}", "200"): 40,
                ("/v1/items/{item_id}", "404"): 6,
                ("/v1/items/{item_id}", "422"): 4,
                ("/admin/stats", "200"): 5,
                ("/export", "200"): 3,
                ("/boom", "500"): 2,
                ("<unmatched>", "404"): 20,
            },
            scrapes=2,
        )
        _, _, body = http_get(base + "/metrics")
        assert 'exception="RuntimeError"' in body.decode()


def test_real_prometheus_scrapes_the_flask_example(tmp_path: Path) -> None:
    prometheus = require_tool("prometheus", "prometheus")
    app_port, prom_port = free_port(), free_port()
    app_base = f"http://127.0.0.1:{app_port}"
    prom_base = f"http://127.0.0.1:{prom_port}"
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n"
        "scrape_configs:\n  - job_name: image_gallery\n"
        f"    static_configs:\n      - targets: ['127.0.0.1:{app_port}']\n"
    )
    app_cmd = [PYTHON, str(EXAMPLES / "flask_app.py"), "--port", str(app_port)]
    prom_cmd = [
        prometheus,
        f"--config.file={config}",
        f"--web.listen-address=127.0.0.1:{prom_port}",
        f"--storage.tsdb.path={tmp_path / 'data'}",
    ]
    with (
        running(app_cmd, ready_url=app_base + "/metrics", cwd=REPO_ROOT),
        running(prom_cmd, ready_url=prom_base + "/-/ready", timeout=60),
    ):
        paths = (
            [f"/images/{1 + i % 3}" for i in range(37)]
            + [f"/api/v1/albums/x{i}" for i in range(5)]
            + [f"/nope/{i}" for i in range(13)]
        )
        codes = send_all(app_base, paths)
        assert codes == Counter({200: 42, 404: 13})

        def query(promql: str) -> list[dict[str, object]]:
            url = prom_base + "/api/v1/query?" + urllib.parse.urlencode({"query": promql})
            status, _, body = http_get(url)
            assert status == 200, body
            result: list[dict[str, object]] = json.loads(body)["data"]["result"]
            return result

        scenario = 'sum(image_gallery_requests_total{code="200"}) without(instance)'

        def total() -> float:
            return sum(float(r["value"][1]) for r in query(scenario))  # type: ignore[index]

        wait_until(lambda: total() == 42, f"Prometheus to see 42 for {scenario}")
        by_route = {
            r["metric"]["route"]: float(r["value"][1])  # type: ignore[index]
            for r in query("sum by (route, code) (image_gallery_requests_total)")
        }
        assert by_route == {"/images/<int:image_id>": 37, "/api/v1/albums/<name>": 5, "<unmatched>": 13}
