"""metricslib.flask with real Flask apps and Flask's test client."""

from __future__ import annotations

import gzip
from collections.abc import Iterator

import flask as real_flask
import pytest
from flask import Blueprint, Flask, Response, abort, stream_with_context

import metricslib.flask
from metricslib import wsgi as wsgi_module
from metricslib.errors import InvalidMetricError
from metricslib.flask import FlaskMetrics
from metricslib.registry import Registry


class FakeClock:
    def __init__(self) -> None:
        self.now = 10.0

    def __call__(self) -> float:
        return self.now


class Boom(RuntimeError):
    pass


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(wsgi_module, "perf_counter", fake)
    return fake


def make_app(clock: FakeClock | None = None, testing: bool = False) -> Flask:
    app = Flask("gallery")
    app.config["TESTING"] = testing

    @app.get("/")
    def index() -> str:
        return "home"

    @app.get("/items/<int:item_id>")
    def item(item_id: int) -> str:
        return f"item {item_id}"

    @app.get("/boom")
    def boom() -> str:
        raise Boom("handler failed")

    @app.get("/gone")
    def gone() -> str:
        abort(410)

    @app.get("/stream")
    def stream() -> Response:
        def generate() -> Iterator[str]:
            for i in range(3):
                if clock is not None:
                    clock.now += 3.0
                yield f"chunk{i}\n"

        response = Response(stream_with_context(generate()), mimetype="text/plain")
        if clock is not None:
            fake = clock

            def after() -> None:
                fake.now += 50.0  # work after the body: must not be timed

            response.call_on_close(after)
        return response

    api = Blueprint("api", __name__, url_prefix="/api")

    @api.get("/users/<name>")
    def user(name: str) -> str:
        return name

    app.register_blueprint(api)
    return app


def value(reg: Registry, name: str, **labels: str) -> float | None:
    return reg.get_sample_value(name, labels)


def exposed(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample in exposition text (any label order)."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text.replace("# EOF\n", "")):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return None


def routes_seen(reg: Registry) -> set[str]:
    return {
        s.labels["route"] for fam in reg.collect() for s in fam.samples if s.name == "http_requests_total"
    }


def get(app: Flask, path: str, **kwargs: object) -> tuple[int, bytes]:
    with app.test_client() as client:
        resp = client.get(path, **kwargs)  # type: ignore[arg-type]
        data = resp.get_data()
        resp.close()
        return resp.status_code, data


def test_imports_the_real_flask() -> None:
    assert metricslib.flask.flask is real_flask


def test_route_templates_from_url_rule_including_blueprints() -> None:
    app = make_app()
    reg = Registry()
    FlaskMetrics(app, registry=reg)
    assert get(app, "/items/3") == (200, b"item 3")
    get(app, "/items/4")
    get(app, "/api/users/ada")
    get(app, "/")
    assert value(reg, "http_requests_total", method="GET", code="200", route="/items/<int:item_id>") == 2
    assert value(reg, "http_requests_total", method="GET", code="200", route="/api/users/<name>") == 1
    assert value(reg, "http_requests_total", method="GET", code="200", route="/") == 1
    assert value(reg, "http_requests_in_flight") == 0


def test_404_flood_and_converter_misses_share_one_value() -> None:
    app = make_app()
    reg = Registry()
    FlaskMetrics(app, registry=reg)
    for i in range(200):
        assert get(app, f"/random/{i}")[0] == 404
    assert get(app, "/items/not-an-int")[0] == 404
    assert value(reg, "http_requests_total", method="GET", code="404", route="<unmatched>") == 201
    assert routes_seen(reg) == {"<unmatched>"}


def test_abort_keeps_the_route() -> None:
    app = make_app()
    reg = Registry()
    FlaskMetrics(app, registry=reg)
    assert get(app, "/gone")[0] == 410
    assert value(reg, "http_requests_total", method="GET", code="410", route="/gone") == 1
    assert routes_seen(reg) == {"/gone"}


def test_exception_turned_into_500_by_flask_is_still_counted() -> None:
    app = make_app(testing=False)
    reg = Registry()
    FlaskMetrics(app, registry=reg)
    assert get(app, "/boom")[0] == 500
    assert value(reg, "http_requests_total", method="GET", code="500", route="/boom") == 1
    assert value(reg, "http_request_exceptions_total", method="GET", route="/boom", exception="Boom") == 1


def test_propagated_exception_counted_once_and_unchanged() -> None:
    app = make_app(testing=True)
    reg = Registry()
    FlaskMetrics(app, registry=reg)
    with pytest.raises(Boom, match="handler failed"):
        get(app, "/boom")
    assert value(reg, "http_requests_total", method="GET", code="500", route="/boom") == 1
    assert value(reg, "http_request_exceptions_total", method="GET", route="/boom", exception="Boom") == 1
    assert value(reg, "http_requests_in_flight") == 0


def test_stream_timed_to_last_chunk_not_call_on_close(clock: FakeClock) -> None:
    app = make_app(clock)
    reg = Registry()
    FlaskMetrics(app, registry=reg)
    assert get(app, "/stream") == (200, b"chunk0\nchunk1\nchunk2\n")
    labels = {"method": "GET", "code": "200", "route": "/stream"}
    assert value(reg, "http_request_duration_seconds_sum", **labels) == 9.0


def test_early_answer_from_a_before_request_hook_keeps_the_route() -> None:
    app = make_app()

    @app.before_request
    def deny() -> tuple[str, int]:
        return "no", 401

    reg = Registry()
    FlaskMetrics(app, registry=reg)
    assert get(app, "/items/1")[0] == 401
    assert value(reg, "http_requests_total", method="GET", code="401", route="/items/<int:item_id>") == 1


def test_metrics_endpoint_default_path_negotiation_gzip_and_not_counted() -> None:
    app = make_app()
    reg = Registry()
    FlaskMetrics(app, registry=reg)
    get(app, "/")
    status, body = get(app, "/metrics")
    assert status == 200
    assert exposed(body.decode(), "http_requests_total", method="GET", code="200", route="/") == 1
    with app.test_client() as client:
        resp = client.get(
            "/metrics",
            headers={"Accept": "application/openmetrics-text; version=1.0.0", "Accept-Encoding": "gzip"},
        )
        assert resp.headers["Content-Type"].startswith("application/openmetrics-text")
        assert resp.headers["Content-Encoding"] == "gzip"
        assert gzip.decompress(resp.get_data()).endswith(b"# EOF\n")
    assert routes_seen(reg) == {"/"}


def test_excluded_paths_and_disabled_metrics_path() -> None:
    app = make_app()
    reg = Registry()
    FlaskMetrics(app, registry=reg, exclude_paths=["/"], metrics_path=None)
    get(app, "/")
    assert get(app, "/metrics")[0] == 404
    assert routes_seen(reg) == {"<unmatched>"}


def test_app_factory_and_one_metric_set_for_two_apps() -> None:
    reg = Registry()
    metrics = FlaskMetrics(registry=reg, namespace="image_gallery")
    first, second = make_app(), make_app()
    metrics.init_app(first)
    metrics.init_app(second)
    get(first, "/")
    get(second, "/")
    assert value(reg, "image_gallery_requests_total", method="GET", code="200", route="/") == 2


def test_two_flask_metrics_on_one_registry_share_the_set() -> None:
    reg = Registry()
    first, second = make_app(), make_app()
    FlaskMetrics(first, registry=reg)
    FlaskMetrics(second, registry=reg)
    get(first, "/")
    get(second, "/")
    assert value(reg, "http_requests_total", method="GET", code="200", route="/") == 2


def test_second_init_on_the_same_app_is_an_error_naming_the_app() -> None:
    app = make_app()
    metrics = FlaskMetrics(app, registry=Registry())
    with pytest.raises(InvalidMetricError, match="'gallery' is already instrumented"):
        metrics.init_app(app)


def test_custom_request_class_and_url_rule_still_work_for_the_app() -> None:
    class MyRequest(real_flask.Request):
        pass

    app = make_app()
    app.request_class = MyRequest

    @app.get("/rule/<x>")
    def rule(x: str) -> str:
        assert isinstance(real_flask.request, MyRequest)
        assert real_flask.request.url_rule is not None
        return real_flask.request.url_rule.rule

    reg = Registry()
    FlaskMetrics(app, registry=reg)
    assert get(app, "/rule/1") == (200, b"/rule/<x>")
    assert value(reg, "http_requests_total", method="GET", code="200", route="/rule/<x>") == 1


def test_method_not_allowed_and_slash_redirects_are_unmatched() -> None:
    app = make_app()

    @app.get("/albums/")
    def albums() -> str:
        return "albums"

    reg = Registry()
    FlaskMetrics(app, registry=reg)
    client = app.test_client()
    for method, path, status in (("POST", "/items/1", 405), ("GET", "/albums", 308)):
        assert client.open(path, method=method).status_code == status  # 308: Flask's strict-slash redirect
    assert value(reg, "http_requests_total", method="POST", code="405", route="<unmatched>") == 1
    assert value(reg, "http_requests_total", method="GET", code="308", route="<unmatched>") == 1


def test_test_client_requests_count_when_only_the_status_is_read() -> None:
    """`client.get(...).status_code` never reads the body; that is not a disconnect."""
    registry = Registry()
    app = Flask(__name__)
    FlaskMetrics(app, registry=registry)

    @app.get("/items/<int:item>")
    def item(item: int) -> str:
        return "x" * item

    client = app.test_client()
    assert client.get("/items/3").status_code == 200
    labels = {"method": "GET", "code": "200", "route": "/items/<int:item>"}
    assert registry.get_sample_value("http_requests_total", labels) == 1.0
    assert registry.get_sample_value("http_requests_total", {**labels, "code": "499"}) is None


@pytest.mark.parametrize("testing", [False, True])
def test_error_pages_404s_and_raising_handlers_count_at_once_without_reading_the_body(testing: bool) -> None:
    """Werkzeug's error pages, redirects and HEAD answers: visible before any body is read."""
    app = make_app(testing=testing)
    reg = Registry()
    FlaskMetrics(app, registry=reg)
    client = app.test_client()
    unmatched = {"method": "GET", "code": "404", "route": "<unmatched>"}
    assert client.get("/nope").status_code == 404
    assert value(reg, "http_requests_total", **unmatched) == 1
    assert client.get("/nope/again").status_code == 404
    assert value(reg, "http_requests_total", **unmatched) == 2  # two 404s share one series
    assert value(reg, "http_request_duration_seconds_count", **unmatched) == 2
    assert client.get("/gone").status_code == 410
    assert value(reg, "http_requests_total", method="GET", code="410", route="/gone") == 1
    assert client.head("/items/1").status_code == 200
    assert value(reg, "http_requests_total", method="HEAD", code="200", route="/items/<int:item_id>") == 1
    if testing:  # TESTING propagates the exception out of the app
        with pytest.raises(Boom):
            client.get("/boom")
    else:
        assert client.get("/boom").status_code == 500
    assert value(reg, "http_requests_total", method="GET", code="500", route="/boom") == 1
    assert value(reg, "http_request_exceptions_total", method="GET", route="/boom", exception="Boom") == 1
    assert value(reg, "http_requests_in_flight") == 0


def test_a_stream_not_read_is_not_recorded_until_the_client_closes_it(clock: FakeClock) -> None:
    app = make_app(clock)
    reg = Registry()
    FlaskMetrics(app, registry=reg)
    labels = {"method": "GET", "code": "200", "route": "/stream"}
    response = app.test_client().get("/stream", buffered=False)
    assert value(reg, "http_requests_in_flight") == 1  # still being produced
    assert value(reg, "http_requests_total", **labels) is None
    assert response.get_data() == b"chunk0\nchunk1\nchunk2\n"
    response.close()
    assert value(reg, "http_request_duration_seconds_sum", **labels) == 9.0  # to the last chunk
    assert value(reg, "http_requests_in_flight") == 0
