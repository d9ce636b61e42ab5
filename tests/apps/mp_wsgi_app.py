"""A WSGI app counting its requests, run by gunicorn with gunicorn_conf.py.

``/work`` counts a request; ``/metrics`` serves the totals of all workers
(with an ``X-Worker`` header naming the pid that answered); ``/hold`` (with
MP_HOLD_DIR set) drops a file named after the worker's pid and sleeps, so a
test can SIGKILL a worker that has been serving traffic.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import metricslib  # noqa: F401  (the SDK's default collectors, e.g. process metrics)
from metricslib import multiprocess
from metricslib.instruments import Counter, Gauge, Histogram
from metricslib.serve import make_wsgi_app

REQUESTS = Counter("app_requests", "Requests handled.", ["path"])
LATENCY = Histogram("app_request_seconds", "Time handling requests.", buckets=(0.01, 0.1))
WORKERS = Gauge("app_workers", "Live workers.", multiprocess_mode="livesum")
WORKERS.set(1)

# The directory comes from multiprocess.configure() in gunicorn_conf.py.
multiprocess.setup()
metrics = make_wsgi_app()


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if environ["PATH_INFO"] == "/metrics":

        def with_pid(status: str, headers: list[tuple[str, str]]) -> Any:
            return start_response(status, [*headers, ("X-Worker", str(os.getpid()))])

        return metrics(environ, with_pid)
    if environ["PATH_INFO"] == "/hold" and "MP_HOLD_DIR" in os.environ:
        (Path(os.environ["MP_HOLD_DIR"]) / str(os.getpid())).write_text("")
        time.sleep(60)
    REQUESTS.labels("/work").inc()
    LATENCY.observe(0.005)
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]
