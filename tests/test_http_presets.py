"""Naming presets and overrides of the HTTP middleware, through the real adapters."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest
from flask import Flask
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from werkzeug.test import Client

from metricslib._http_presets import naming
from metricslib.asgi import MetricsMiddleware as ASGIMetrics
from metricslib.errors import DuplicateMetricError, InvalidMetricError
from metricslib.exposition import generate_latest
from metricslib.flask import FlaskMetrics
from metricslib.registry import Registry


def _gallery(registry: Registry, **options: object) -> Flask:
    app = Flask("gallery")

    @app.get("/images/<int:image_id>")
    def image(image_id: int) -> str:
        return "ok"

    FlaskMetrics(app, registry=registry, namespace="image_gallery", **options)  # type: ignore[arg-type]
    return app


def test_promhttp_preset_gives_the_scenario_dashboard_its_names() -> None:
    registry = Registry()
    client = _gallery(registry, preset="promhttp").test_client()
    client.get("/images/1")
    client.get("/images/2")
    assert registry.get_sample_value("image_gallery_requests_total", {"code": "200", "method": "get"}) == 2.0
    assert registry.get_sample_value("image_gallery_in_flight_requests") == 0.0
    text = generate_latest(registry).decode()
    assert 'image_gallery_request_duration_seconds_count{code="200",method="get"} 2.0' in text
    assert "route=" not in text  # one series per code and method, as promhttp exposes
    assert "image_gallery_requests_in_flight" not in text


def test_one_name_and_the_labels_overridden_in_one_line() -> None:
    registry = Registry()
    client = _gallery(
        registry, names={"requests_in_flight": "image_gallery_in_flight_requests"}, labels=("code", "method"),
    ).test_client()
    client.get("/images/1")
    assert registry.get_sample_value("image_gallery_requests_total", {"code": "200", "method": "GET"}) == 1.0
    assert registry.get_sample_value("image_gallery_in_flight_requests") == 0.0


def test_without_route_the_exceptions_counter_drops_it_too() -> None:
    registry = Registry()
    app = Flask("boom")

    @app.get("/")
    def fail() -> str:
        raise RuntimeError("no")

    FlaskMetrics(app, registry=registry, namespace="svc", labels=("method", "code"))
    app.test_client().get("/")
    assert registry.get_sample_value(
        "svc_request_exceptions_total", {"method": "GET", "exception": "RuntimeError"}) == 1.0


def test_asgi_middleware_takes_the_same_options() -> None:
    registry = Registry()

    async def home(request: object) -> PlainTextResponse:
        return PlainTextResponse("hi")

    app = ASGIMetrics(Starlette(routes=[Route("/", home)]), registry=registry, namespace="iotd", preset="promhttp")
    async def get() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            assert (await client.get("/")).status_code == 200

    asyncio.run(get())
    assert registry.get_sample_value("iotd_requests_total", {"code": "200", "method": "get"}) == 1.0


def test_default_naming_is_unchanged() -> None:
    scheme = naming("http")
    assert scheme.labels == ("method", "code", "route")
    assert scheme.name("requests_in_flight") == "http_requests_in_flight"
    assert not scheme.lowercase_methods


@pytest.mark.parametrize(("options", "message"), [
    ({"preset": "nope"}, "unknown preset 'nope'"),
    ({"names": {"in_flight": "x"}}, "names: unknown metric 'in_flight'"),
    ({"names": {"requests_total": ""}}, "names['requests_total'] must be a metric name"),
    ({"labels": ("code", "path")}, "each must be one of method, code, route"),
    ({"labels": "code"}, "got the string 'code'"),
])
def test_bad_options_name_what_is_wrong(options: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidMetricError, match=message.replace("[", r"\[").replace("(", r"\(")):
        naming("http", **options)  # type: ignore[arg-type]


def test_a_second_app_with_other_naming_for_the_namespace_is_refused() -> None:
    registry = Registry()
    _gallery(registry, preset="promhttp")
    with pytest.raises(DuplicateMetricError, match="other options"):
        _gallery(registry)
    _gallery(registry, preset="promhttp")  # the same options share the set


@pytest.mark.parametrize("option", [{"labels": ("code",)}, {"request_size": True}, {"response_size": True}])
def test_an_incumbent_preset_refuses_options_that_would_change_its_set(option: dict[str, object]) -> None:
    with pytest.raises(InvalidMetricError, match="preset 'starlette_exporter' reproduces that library's metric set"):
        naming("http", "starlette_exporter", **option)  # type: ignore[arg-type]


def test_names_override_a_preset_role_and_unknown_roles_name_the_preset() -> None:
    scheme = naming("http", "fastapi_instrumentator", {"requests_total": "api_requests_total"})
    assert scheme.name("requests_total") == "api_requests_total"
    assert scheme.name("request_duration_highr_seconds") == "http_request_duration_highr_seconds"
    with pytest.raises(InvalidMetricError, match="unknown metric 'requests_in_flight' for preset 'fastapi_instrumentator'"):
        naming("http", "fastapi_instrumentator", {"requests_in_flight": "x"})


def test_namespace_replaces_the_incumbents_prefix() -> None:
    assert naming("shop", "prometheus_flask_exporter").name("requests_total") == "shop_http_request_total"
    assert naming("shop", "starlette_exporter").name("requests_in_flight") == "shop_requests_in_progress"
    assert naming("shop", "fastapi_instrumentator").name("requests_total") == "shop_http_requests_total"
    assert naming("http", "fastapi_instrumentator").name("requests_total") == "http_requests_total"


def test_starlette_exporter_preset_does_not_record_unmatched_requests_on_flask() -> None:
    registry = Registry()
    client = _gallery(registry, preset="starlette_exporter").test_client()
    client.get("/images/1")
    client.get("/nope")
    client.post("/images/1")  # 405: the path matched, the method did not
    labels = {"method": "GET", "path": "/images/<int:image_id>", "status_code": "200", "app_name": "starlette"}
    assert registry.get_sample_value("image_gallery_requests_total", labels) == 1.0
    text = generate_latest(registry).decode()
    assert "/nope" not in text and 'status_code="405"' not in text
    in_progress = {"method": "POST", "app_name": "starlette"}
    assert registry.get_sample_value("image_gallery_requests_in_progress", in_progress) == 0.0


def test_unmatched_route_renames_the_instrumentators_none() -> None:
    registry = Registry()
    client = _gallery(registry, preset="fastapi_instrumentator", unmatched_route="unknown").test_client()
    client.get("/nope")
    assert registry.get_sample_value(
        "image_gallery_http_requests_total", {"method": "GET", "status": "4xx", "handler": "unknown"}) == 1.0


def test_unmatched_route_keeps_what_starlette_exporter_would_drop() -> None:
    registry = Registry()
    client = _gallery(registry, preset="starlette_exporter", unmatched_route="__unknown__").test_client()
    client.get("/nope")
    client.post("/images/1")
    labels = {"method": "GET", "path": "__unknown__", "status_code": "404", "app_name": "starlette"}
    assert registry.get_sample_value("image_gallery_requests_total", labels) == 1.0
    labels = {**labels, "method": "POST", "status_code": "405"}
    assert registry.get_sample_value("image_gallery_requests_total", labels) == 1.0


def test_instrumentator_sizes_on_plain_wsgi_come_from_content_length() -> None:
    from metricslib.wsgi import MetricsMiddleware as WSGIMetrics

    def app(environ: dict[str, object], start_response: Callable[..., object]) -> list[bytes]:
        if environ["PATH_INFO"] == "/fail":
            raise RuntimeError("before any response")
        start_response("201 Created", [("Content-Length", "7")])
        return [b"abc", b"defg"]

    registry = Registry()
    wrapped = WSGIMetrics(app, registry=registry, preset="fastapi_instrumentator")
    client = Client(wrapped)
    client.post("/", data=b"12345")
    with pytest.raises(RuntimeError):
        client.get("/fail")
    handler = {"handler": "none"}
    assert registry.get_sample_value("http_request_size_bytes_sum", handler) == 5.0
    assert registry.get_sample_value("http_response_size_bytes_sum", handler) == 7.0  # the failure adds 0
    assert registry.get_sample_value("http_response_size_bytes_count", handler) == 2.0
    assert registry.get_sample_value("http_requests_total", {**handler, "method": "GET", "status": "5xx"}) == 1.0


def test_starlette_exporter_in_progress_by_method_while_a_request_runs() -> None:
    registry = Registry()
    app = Flask("slow")
    seen: list[float | None] = []

    @app.put("/items/<int:item>")
    def put(item: int) -> str:
        seen.append(registry.get_sample_value(
            "starlette_requests_in_progress", {"method": "PUT", "app_name": "starlette"}))
        return "ok"

    FlaskMetrics(app, registry=registry, preset="starlette_exporter")
    client = app.test_client()
    client.put("/items/1")
    client.open("/items/1", method="BREW")  # not a standard method: "other"
    assert seen == [1.0]
    assert registry.get_sample_value("starlette_requests_in_progress", {"method": "PUT", "app_name": "starlette"}) == 0.0
    assert registry.get_sample_value("starlette_requests_in_progress", {"method": "other", "app_name": "starlette"}) == 0.0
    assert registry.get_sample_value("starlette_requests_in_progress", {"method": "GET", "app_name": "starlette"}) is None
