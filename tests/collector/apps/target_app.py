"""A scrape target for the collector's integration tests, instrumented with metricslib.

    python tests/collector/apps/target_app.py --port 8000

Paths, one per kind of target the collector must cope with:

* ``/metrics`` — real metrics (text or OpenMetrics by ``Accept``, gzip when asked);
  every scrape increments ``target_app_scrapes_total``.
* ``/hang`` — answers only after ``--hang`` seconds (past any sane scrape timeout).
* ``/garbage`` — 200 OK with a body that is not exposition format.
* ``/big`` — 500 series (for ``sample_limit`` / ``body_size_limit``).
* ``/conflict`` — series whose own ``job``/``instance`` labels clash with the
  target's (for ``honor_labels`` and ``exported_`` renaming).
* ``/healthz`` — readiness.

Binds 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import gzip
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from metricslib import CollectorRegistry, Counter, Gauge, choose_encoder

REGISTRY = CollectorRegistry()
SCRAPES = Counter("target_app_scrapes_total", "Scrapes served.", ["path"], registry=REGISTRY)
TEMPERATURE = Gauge("target_app_temperature_celsius", "A steady gauge.", registry=REGISTRY)
TEMPERATURE.set(21.5)
CONFLICT = (
    b'# TYPE conflict_metric gauge\n'
    b'conflict_metric{job="inner",instance="elsewhere",exported_job="pre"} 1\n'
    b'conflict_metric{zone="a"} 2\n'
)
BIG = "".join(f'target_app_big{{i="{i}"}} {i}\n' for i in range(500)).encode()


class Handler(BaseHTTPRequestHandler):
    hang_s = 5.0

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass

    def _send(self, body: bytes, content_type: str = "text/plain; version=0.0.4") -> None:
        if "gzip" in (self.headers.get("Accept-Encoding") or ""):
            body = gzip.compress(body)
            self.send_response(200)
            self.send_header("Content-Encoding", "gzip")
        else:
            self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path == "/metrics":
            SCRAPES.labels(path).inc()
            encoder, content_type = choose_encoder(self.headers.get("Accept"))
            self._send(encoder(REGISTRY), content_type)
        elif path == "/hang":
            time.sleep(self.hang_s)
            self._send(b"late 1\n")
        elif path == "/garbage":
            self._send(b"<html>this is { not exposition format</html>\n")
        elif path == "/conflict":
            self._send(CONFLICT)
        elif path == "/big":
            self._send(BIG)
        elif path == "/healthz":
            self._send(b"ok\n")
        else:
            self.send_error(404)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--hang", type=float, default=5.0)
    args = parser.parse_args()
    Handler.hang_s = args.hang
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
