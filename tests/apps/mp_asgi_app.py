"""An ASGI app counting its requests, run by ``uvicorn --workers N``.

uvicorn has no config hooks: the app joins the aggregation itself. The test
passes the directory through MP_TEST_DIR (app configuration, not a library
requirement).
"""

from __future__ import annotations

import os
from typing import Any

import metricslib  # noqa: F401  (the SDK's default collectors, e.g. process metrics)
from metricslib import multiprocess
from metricslib.instruments import Counter, Gauge, Histogram
from metricslib.serve import make_asgi_app

REQUESTS = Counter("app_requests", "Requests handled.", ["path"])
LATENCY = Histogram("app_request_seconds", "Time handling requests.", buckets=(0.01, 0.1))
WORKERS = Gauge("app_workers", "Live workers.", multiprocess_mode="livesum")
WORKERS.set(1)

multiprocess.setup(os.environ["MP_TEST_DIR"], snapshot_interval=1.0)
metrics = make_asgi_app()


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http" or scope["path"] == "/metrics":
        await metrics(scope, receive, send)
        return
    REQUESTS.labels("/work").inc()
    LATENCY.observe(0.005)
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain"), (b"x-worker", str(os.getpid()).encode())],
        }
    )
    await send({"type": "http.response.body", "body": b"ok"})
