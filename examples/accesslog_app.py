"""A plain WSGI service that writes an access log, instrumented with metricslib.

The demo runs three replicas; the board sums their access-log lines across
replicas. Route templates come from a ``route_getter``, as a framework without
an adapter would provide them.

    python examples/accesslog_app.py --port 8004
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from metricslib import Counter
from metricslib.wsgi import MetricsMiddleware

LINES = Counter("accesslog_lines_total", "Access-log lines written, by status class.", ["status"])
ROUTES = [(re.compile(r"^/$"), "/"), (re.compile(r"^/orders/\d+$"), "/orders/{id}"), (re.compile(r"^/health$"), "/health")]


def route_of(environ: dict[str, Any]) -> str:
    path = environ.get("PATH_INFO", "")
    return next((template for pattern, template in ROUTES if pattern.match(path)), "<unmatched>")


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    route = route_of(environ)
    status = "200 OK" if route != "<unmatched>" else "404 Not Found"
    LINES.labels(status=f"{status[0]}xx").inc()
    sys.stdout.write(f'{environ.get("REMOTE_ADDR", "-")} "{environ["REQUEST_METHOD"]} {environ.get("PATH_INFO", "")}" {status[:3]}\n')
    start_response(status, [("Content-Type", "text/plain")])
    return [status.encode()]


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass  # the app writes its own access log


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8004)
    args = parser.parse_args()
    wrapped = MetricsMiddleware(app, namespace="accesslog", route_getter=route_of)
    with make_server("127.0.0.1", args.port, wrapped, handler_class=QuietHandler) as server:
        server.serve_forever()


if __name__ == "__main__":
    main()
