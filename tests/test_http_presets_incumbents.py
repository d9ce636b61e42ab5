"""Each incumbent preset against the real library: same app, same requests, same families.

Both sides get a fresh registry; both expositions are parsed with
prometheus_client's parser and compared family by family: name, type, every
sample's name, labels and value. Left aside: ``_created`` samples, process
and platform metrics, the incumbent's own version gauge
(``flask_exporter_info``), and the values that depend on the clock (the
duration histograms' ``_sum`` and finite buckets; their ``le`` sets, counts
and ``+Inf`` buckets are compared).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from fastapi import HTTPException as FastAPIHTTPException
from fastapi.responses import StreamingResponse as FastAPIStreamingResponse
from flask import Flask, Response, abort
from prometheus_client import CollectorRegistry
from prometheus_client import generate_latest as client_generate_latest
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, StreamingResponse
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from metricslib.asgi import MetricsMiddleware
from metricslib.exposition import generate_latest
from metricslib.flask import FlaskMetrics
from metricslib.registry import Registry

Families = dict[str, tuple[str, frozenset[tuple[str, tuple[tuple[str, str], ...], float | None]]]]

_ASIDE = ("process_", "python_", "flask_exporter_info")


def families(text: str, timed: tuple[str, ...]) -> Families:
    """Family name -> (type, samples), with clock-dependent values blanked."""
    found: Families = {}
    for family in text_string_to_metric_families(text):
        # prometheus_client's text format writes `_created` as gauge families of their own.
        if family.name.startswith(_ASIDE) or family.name.endswith("_created"):
            continue
        samples = set()
        for sample in family.samples:
            if sample.name.endswith("_created"):
                continue
            clocked = family.name in timed and (
                sample.name.endswith("_sum")
                or (sample.name.endswith("_bucket") and sample.labels["le"] != "+Inf")
            )
            labels = tuple(sorted(sample.labels.items()))
            samples.add((sample.name, labels, None if clocked else float(sample.value)))
        found[family.name] = (family.type, frozenset(samples))
    return found


def assert_same(theirs: Families, ours: Families) -> None:
    assert sorted(ours) == sorted(theirs)
    for name in theirs:
        assert ours[name][0] == theirs[name][0], name
        missing, extra = theirs[name][1] - ours[name][1], ours[name][1] - theirs[name][1]
        assert (sorted(missing), sorted(extra)) == ([], []), name


# --- prometheus-flask-exporter ---------------------------------------------------------------


def flask_app() -> Flask:
    app = Flask("shop")

    @app.get("/")
    def index() -> str:
        return "home"

    @app.get("/items/<int:item_id>")
    def item(item_id: int) -> str:
        return f"item {item_id}"

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("handler failed")

    @app.get("/gone")
    def gone() -> str:
        abort(410)

    @app.get("/stream")
    def stream() -> Response:
        def chunks() -> Iterator[str]:
            yield "a"
            yield "b"

        return Response(chunks())

    return app


FLASK_REQUESTS = [
    ("GET", "/"), ("GET", "/items/1"), ("GET", "/items/2"), ("GET", "/items/2"), ("POST", "/items/1"),
    ("GET", "/nope"), ("GET", "/nope"), ("GET", "/boom"), ("GET", "/gone"), ("HEAD", "/"),
    ("GET", "/stream"), ("DELETE", "/"), ("GET", "/items/x"),
]


def run_flask(app: Flask) -> None:
    client = app.test_client()
    for method, path in FLASK_REQUESTS:
        with client.open(path, method=method) as response:
            response.get_data()


def test_prometheus_flask_exporter_preset_matches_the_library() -> None:
    from prometheus_flask_exporter import PrometheusMetrics  # type: ignore[import-untyped]

    theirs_registry = CollectorRegistry()
    theirs = flask_app()
    PrometheusMetrics(theirs, registry=theirs_registry)
    ours_registry = Registry()
    ours = flask_app()
    FlaskMetrics(ours, registry=ours_registry, preset="prometheus_flask_exporter")
    run_flask(theirs)
    run_flask(ours)
    timed = ("flask_http_request_duration_seconds",)
    expected = families(client_generate_latest(theirs_registry).decode(), timed)
    got = families(generate_latest(ours_registry).decode(), timed)
    assert_same(expected, got)
    # The comparison is about something: the raw path and the numeric status.
    assert ("flask_http_request_duration_seconds_count",
            (("method", "GET"), ("path", "/nope"), ("status", "404")), 2.0) in got[
        "flask_http_request_duration_seconds"][1]
    assert ("flask_http_request_exceptions_total", (("method", "GET"), ("status", "500")), 1.0) in got[
        "flask_http_request_exceptions"][1]


# --- starlette_exporter -----------------------------------------------------------------------


async def _home(request: Request) -> PlainTextResponse:
    return PlainTextResponse("home")


async def _item(request: Request) -> PlainTextResponse:
    return PlainTextResponse(f"item {request.path_params['item_id']}")


async def _boom(request: Request) -> PlainTextResponse:
    raise RuntimeError("handler failed")


async def _gone(request: Request) -> PlainTextResponse:
    raise HTTPException(410)


async def _stream(request: Request) -> StreamingResponse:
    async def chunks() -> Any:
        yield b"a"
        yield b"b"

    return StreamingResponse(chunks())


async def _static(scope: Any, receive: Any, send: Any) -> None:
    await PlainTextResponse("file")(scope, receive, send)


def starlette_app() -> Starlette:
    return Starlette(routes=[
        Route("/", _home),
        Route("/items/{item_id:int}", _item),
        Route("/boom", _boom),
        Route("/gone", _gone),
        Route("/stream", _stream),
        Mount("/api", routes=[Route("/users/{name}", _item)]),
        Mount("/static", app=_static),
    ])


STARLETTE_REQUESTS = [
    ("GET", "/"), ("GET", "/items/1"), ("GET", "/items/2"), ("POST", "/items/1"), ("GET", "/nope"),
    ("GET", "/boom"), ("GET", "/gone"), ("HEAD", "/"), ("GET", "/stream"), ("GET", "/api/users/ada"),
    ("GET", "/api/nope"), ("GET", "/static/app.css"), ("PUT", "/nowhere"),
]


def run_asgi(app: Any, requests: list[tuple[str, str]]) -> None:
    with TestClient(app, raise_server_exceptions=False) as client:
        for method, path in requests:
            client.request(method, path)


@pytest.fixture
def starlette_exporter_registry(monkeypatch: pytest.MonkeyPatch) -> CollectorRegistry:
    """starlette_exporter registers in prometheus_client's global REGISTRY and
    keeps its metrics on the class: point both at a fresh registry for the test."""
    import starlette_exporter.middleware as middleware

    registry = CollectorRegistry()
    for name in ("Counter", "Gauge", "Histogram"):
        monkeypatch.setattr(middleware, name, functools.partial(getattr(middleware, name), registry=registry))
    monkeypatch.setattr(middleware.PrometheusMiddleware, "_metrics", {})
    return registry


@pytest.mark.parametrize(("their_options", "our_options"), [
    ({}, {}),
    ({"group_unhandled_paths": True, "filter_unhandled_paths": False}, {"unmatched_route": "__unknown__"}),
])
def test_starlette_exporter_preset_matches_the_library(
    starlette_exporter_registry: CollectorRegistry, their_options: dict[str, Any], our_options: dict[str, Any],
) -> None:
    from starlette_exporter import PrometheusMiddleware

    theirs = starlette_app()
    theirs.add_middleware(PrometheusMiddleware, **their_options)
    ours_registry = Registry()
    ours = starlette_app()
    ours.add_middleware(MetricsMiddleware, registry=ours_registry, preset="starlette_exporter", **our_options)
    run_asgi(theirs, STARLETTE_REQUESTS)
    run_asgi(ours, STARLETTE_REQUESTS)
    timed = ("starlette_request_duration_seconds",)
    expected = families(client_generate_latest(starlette_exporter_registry).decode(), timed)
    got = families(generate_latest(ours_registry).decode(), timed)
    assert_same(expected, got)
    labels = (("app_name", "starlette"), ("method", "GET"), ("path", "/items/{item_id:int}"), ("status_code", "200"))
    assert ("starlette_requests_total", labels, 2.0) in got["starlette_requests"][1]
    assert ("starlette_requests_in_progress", (("app_name", "starlette"), ("method", "PUT")), 0.0) in got[
        "starlette_requests_in_progress"][1]


# --- prometheus-fastapi-instrumentator ---------------------------------------------------------


def fastapi_app() -> FastAPI:
    app = FastAPI()
    router = APIRouter(prefix="/v1")

    @app.get("/")
    async def home() -> str:
        return "home"

    @router.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    @router.post("/items")
    async def create(body: dict[str, Any]) -> dict[str, Any]:
        return body

    @app.get("/boom")
    async def boom() -> str:
        raise RuntimeError("handler failed")

    @app.get("/gone")
    async def gone() -> str:
        raise FastAPIHTTPException(410)

    @app.get("/stream")
    async def stream() -> FastAPIStreamingResponse:
        async def chunks() -> Any:
            yield b"abc"
            yield b"de"

        return FastAPIStreamingResponse(chunks())

    app.include_router(router)
    app.mount("/static", _static)
    return app


FASTAPI_REQUESTS = [
    ("GET", "/"), ("GET", "/v1/items/1"), ("GET", "/v1/items/2"), ("DELETE", "/v1/items/1"),
    ("GET", "/nope"), ("GET", "/boom"), ("GET", "/gone"), ("GET", "/stream"), ("GET", "/v1/items/x"),
    ("GET", "/static/app.css"), ("PATCH", "/"),
]


def run_fastapi(app: FastAPI) -> None:
    run_asgi(app, FASTAPI_REQUESTS)
    with TestClient(app) as client:
        client.post("/v1/items", json={"name": "x" * 40})


def test_fastapi_instrumentator_preset_matches_the_library() -> None:
    from prometheus_fastapi_instrumentator import Instrumentator

    theirs_registry = CollectorRegistry()
    theirs = fastapi_app()
    Instrumentator(registry=theirs_registry).instrument(theirs)
    ours_registry = Registry()
    ours = fastapi_app()
    ours.add_middleware(MetricsMiddleware, registry=ours_registry, preset="fastapi_instrumentator")
    run_fastapi(theirs)
    run_fastapi(ours)
    timed = ("http_request_duration_seconds", "http_request_duration_highr_seconds")
    expected = families(client_generate_latest(theirs_registry).decode(), timed)
    got = families(generate_latest(ours_registry).decode(), timed)
    assert_same(expected, got)
    assert ("http_requests_total", (("handler", "none"), ("method", "GET"), ("status", "4xx")), 1.0) in got[
        "http_requests"][1]
    assert ("http_request_size_bytes_sum", (("handler", "/v1/items"),), 51.0) in got["http_request_size_bytes"][1]


# --- every preset on every middleware ------------------------------------------------------------


def _flask_plain(registry: Registry, preset: str) -> Callable[[], None]:
    app = Flask("plain")

    @app.get("/")
    def index() -> str:
        return "home"

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("handler failed")

    FlaskMetrics(app, registry=registry, preset=preset)
    return lambda: run_flask_plain(app)


def run_flask_plain(app: Flask) -> None:
    client = app.test_client()
    for path in ("/", "/", "/nope", "/boom"):
        client.get(path)


def _starlette_plain(registry: Registry, preset: str) -> Callable[[], None]:
    app = Starlette(routes=[Route("/", _home), Route("/boom", _boom)])
    app.add_middleware(MetricsMiddleware, registry=registry, preset=preset)
    return lambda: run_asgi(app, [("GET", "/"), ("GET", "/"), ("GET", "/nope"), ("GET", "/boom")])


@pytest.mark.parametrize("preset", ["prometheus_flask_exporter", "starlette_exporter", "fastapi_instrumentator"])
def test_each_preset_exposes_the_same_families_from_flask_and_starlette(preset: str) -> None:
    """Flask (the WSGI middleware) and Starlette (ASGI) agree under every preset."""
    flask_registry, starlette_registry = Registry(), Registry()
    _flask_plain(flask_registry, preset)()
    _starlette_plain(starlette_registry, preset)()
    # Durations depend on the clock, sizes on each framework's own error pages.
    timed = tuple(f.name for f in flask_registry.collect() if "duration" in f.name or "size" in f.name)
    from_flask = families(generate_latest(flask_registry).decode(), timed)
    from_starlette = families(generate_latest(starlette_registry).decode(), timed)
    assert from_flask
    assert_same(from_flask, from_starlette)
