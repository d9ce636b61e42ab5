"""`make demo`: a small fleet of instrumented apps, light traffic, and the collector scraping it.

Starts two replicas of the Flask image gallery, two of the Starlette app,
one FastAPI app and three replicas of a plain WSGI access-log service on
127.0.0.1, sends them a trickle of requests (some 404s, some errors, some
streams), runs ``metricslib collector`` on them with the scenario's board
(``examples/dashboards/``), and prints the board's URL: requests with code 200
summed without instance, in-flight requests, memory and access-log lines
across replicas. A rule file (``examples/rules/``) records the error ratio and
alerts when it passes 1%; when Debian's ``prometheus-alertmanager`` is
installed the demo starts one on 127.0.0.1 and the collector sends it the
alert. Everything stops on Ctrl-C (or after ``--duration``),
each process by its PID. Samples are kept in ``demo-data/`` between runs.

    python examples/demo.py [--port 9090] [--duration SECONDS] [--data-dir demo-data]
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SCENARIO = 'sum(image_gallery_requests_total{code="200"}) without(instance)'

# (job, example script, replicas, paths the traffic generator requests)
FLEET = [
    ("image_gallery", "flask_app.py", 2,
     ["/", "/images/1", "/images/2", "/images/3", "/images/9", "/images/2/thumbnail/small",
      "/api/v1/albums/holidays", "/slideshow", "/boom", "/no/such/page"]),
    ("starlette_example", "starlette_app.py", 2,
     ["/", "/photos/1", "/photos/42", "/api/v1/albums/cats", "/slideshow", "/boom", "/missing"]),
    ("fastapi_example", "fastapi_app.py", 1,
     ["/v1/items/1", "/v1/items/7", "/export", "/boom", "/nothing-here"]),
    ("accesslog", "accesslog_app.py", 3,
     ["/", "/orders/1", "/orders/2", "/health", "/orders/x", "/missing"]),
]


def free_port(preferred: int = 0) -> int:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", preferred))
        except OSError:
            s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"demo: {proc.args!r} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise SystemExit(f"demo: {url} did not answer within {timeout}s")


def write_config(path: Path, targets: dict[str, list[str]], alertmanager: str | None) -> None:
    lines = ["# Written by examples/demo.py: the fleet it started.", "global:", "  scrape_interval: 5s",
             "  evaluation_interval: 5s", "rule_files:", f'  - "{HERE / "rules" / "*.yml"}"']
    if alertmanager:
        lines += ["alerting:", "  alertmanagers:", "    - static_configs:", f'        - targets: ["{alertmanager}"]']
    lines.append("scrape_configs:")
    for job, addresses in targets.items():
        listed = ", ".join(f'"{a}"' for a in addresses)
        lines += [f"  - job_name: {job}", "    static_configs:", f"      - targets: [{listed}]"]
    path.write_text("\n".join(lines) + "\n")


def start_alertmanager(data_dir: Path, logs: Any, procs: list[subprocess.Popen[bytes]]) -> str | None:
    """A real Alertmanager on 127.0.0.1 when Debian's prometheus-alertmanager is installed."""
    binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if binary is None:
        return None
    config = data_dir / "alertmanager.yml"
    # One receiver that does nothing: the alerts are to be seen in Alertmanager's own UI.
    config.write_text("route:\n  receiver: demo\n  group_wait: 5s\nreceivers:\n  - name: demo\n")
    port = free_port()
    proc = subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.path={data_dir / 'alertmanager'}",
         f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
        stdout=logs, stderr=logs,
    )
    procs.append(proc)
    wait_ready(f"http://127.0.0.1:{port}/-/ready", proc)
    return f"127.0.0.1:{port}"


def traffic(targets: dict[str, list[str]], stop: threading.Event) -> None:
    """A few requests a second to random replicas; errors are expected, not reported.

    Every 25th request fails on the image gallery, so its error ratio stays
    above the demo rule's 1% and the alert fires within a minute."""
    rng = random.Random()
    paths = {job: p for job, _, _, p in FLEET}
    sent = 0
    while not stop.wait(rng.uniform(0.02, 0.15)):
        sent += 1
        job = "image_gallery" if sent % 25 == 0 else rng.choice(list(targets))
        address = rng.choice(targets[job])
        path = "/boom" if sent % 25 == 0 else rng.choices(paths[job], weights=[8] + [3] * (len(paths[job]) - 3) + [1, 1])[0]
        try:
            with urllib.request.urlopen(f"http://{address}{path}", timeout=5) as resp:
                resp.read()
        except (urllib.error.URLError, OSError, http.client.HTTPException):
            pass  # an app stopping mid-answer (at shutdown) cuts its chunked body short


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=9090, help="collector port (another is picked if taken)")
    parser.add_argument("--data-dir", default="demo-data")
    parser.add_argument("--duration", type=float, default=0, help="stop after this many seconds (0: run until Ctrl-C)")
    args = parser.parse_args()

    data_dir = Path(args.data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    procs: list[subprocess.Popen[bytes]] = []
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    logs = open(data_dir / "demo.log", "ab")  # noqa: SIM115 - closed in finally
    try:
        targets: dict[str, list[str]] = {}
        for job, script, replicas, _ in FLEET:
            for _ in range(replicas):
                port = free_port()
                # The gallery names its metrics as Go's promhttp does: the board's names.
                extra = ["--preset", "promhttp"] if job == "image_gallery" else []
                proc = subprocess.Popen([sys.executable, str(HERE / script), "--port", str(port), *extra],
                                        stdout=logs, stderr=logs)
                procs.append(proc)
                wait_ready(f"http://127.0.0.1:{port}/metrics", proc)
                targets.setdefault(job, []).append(f"127.0.0.1:{port}")
        alertmanager = start_alertmanager(data_dir, logs, procs)
        config = data_dir / "prometheus.yml"
        write_config(config, targets, alertmanager)
        port = free_port(args.port)
        collector = subprocess.Popen(
            [sys.executable, "-m", "metricslib", "collector", "--config", str(config),
             "--data-dir", str(data_dir / "data"), "--listen", f"127.0.0.1:{port}",
             "--dashboards", str(HERE / "dashboards")],
            stdout=logs, stderr=logs,
        )
        procs.append(collector)
        base = f"http://127.0.0.1:{port}"
        wait_ready(f"{base}/-/ready", collector)
        generator = threading.Thread(target=traffic, args=(targets, stop), daemon=True)
        generator.start()
        alerting = (f"Alertmanager: http://{alertmanager}/#/alerts (receives the alerts)" if alertmanager else
                    "Alertmanager: not installed; to see alerts delivered, install the Debian package "
                    "prometheus-alertmanager and run the demo again")
        graph = f"{base}/graph?" + urllib.parse.urlencode({"g0.expr": SCENARIO, "g0.tab": "0", "g0.range_input": "15m"})
        print(f"""
metricslib demo is running: {sum(len(v) for v in targets.values())} instrumented app replicas,
light traffic, and the collector scraping them every 5 s (data in {data_dir}).

  Open:     {base}/d/scenario   (the scenario's dashboard)
  Query:    {graph}
  Alerts:   {base}/alerts   (ImageGalleryHighErrorRatio fires within a minute)
  {alerting}
  Targets:  {base}/targets
  API:      {base}/api/v1/query?query=up   (point Grafana or promtool here)
  Config:   {config}

Press Ctrl-C to stop.""", flush=True)
        deadline = time.monotonic() + args.duration if args.duration else None
        while not stop.is_set():
            if deadline is not None and time.monotonic() >= deadline:
                break
            if collector.poll() is not None:
                print(f"demo: the collector exited with {collector.returncode}; see {data_dir / 'demo.log'}")
                return 1
            stop.wait(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        for proc in reversed(procs):
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
        logs.close()
    print("demo stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
