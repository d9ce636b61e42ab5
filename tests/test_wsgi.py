"""metricslib.wsgi: direct WSGI calls, a controllable clock, real exposition."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest
from werkzeug.test import Client, EnvironBuilder

from metricslib import wsgi as wsgi_module
from metricslib.errors import DuplicateMetricError, InvalidNameError
from metricslib.registry import Registry
from metricslib.wsgi import ROUTE_KEY, MetricsMiddleware

Environ = dict[str, Any]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(wsgi_module, "perf_counter", fake)
    return fake


class Boom(RuntimeError):
    pass


def routed_app(clock: FakeClock | None = None) -> Callable[[Environ, Any], Iterable[bytes]]:
    """A tiny WSGI app that knows its own route templates, like a framework would."""

    def app(environ: Environ, start_response: Any) -> Iterable[bytes]:
        path = environ["PATH_INFO"]
        if path.startswith("/items/"):
            environ[ROUTE_KEY] = "/items/<id>"
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"item ", path[7:].encode()]
        if path == "/boom":
            environ[ROUTE_KEY] = "/boom"
            raise Boom("handler failed")
        if path == "/stream":
            environ[ROUTE_KEY] = "/stream"
            start_response("200 OK", [("Content-Type", "text/plain")])
            return stream(clock)
        if path == "/late":
            environ[ROUTE_KEY] = "/late"
            return late_start(start_response)
        if path == "/healthz":
            start_response("204 No Content", [])
            return []
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]

    return app


def stream(clock: FakeClock | None) -> Iterator[bytes]:
    for i in range(3):
        if clock is not None:
            clock.now += 4.0  # each chunk takes 4 "seconds" to produce
        yield b"chunk%d\n" % i


def late_start(start_response: Any) -> Iterator[bytes]:
    # start_response deferred until the first chunk, which WSGI allows.
    start_response("201 Created", [])
    yield b"made"


def environ_for(path: str, method: str = "GET", **kwargs: Any) -> Environ:
    env: Environ = EnvironBuilder(path=path, method=method, **kwargs).get_environ()
    return env


def call(app: Any, path: str, method: str = "GET", **kwargs: Any) -> tuple[str, bytes]:
    got: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        got.append(status)
        return lambda data: None

    body = app(environ_for(path, method, **kwargs), start_response)
    try:
        data = b"".join(body)
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
    return got[-1], data


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


def route_values(reg: Registry, name: str = "http_requests_total") -> set[str]:
    return {
        s.labels["route"] for fam in reg.collect() for s in fam.samples if s.name == name
    }


def test_counts_method_code_and_route_template(clock: FakeClock) -> None:
    reg = Registry()
    app = MetricsMiddleware(routed_app(), registry=reg)
    for i in range(3):
        assert call(app, f"/items/{i}") == ("200 OK", f"item {i}".encode())
    call(app, "/items/9", method="POST")
    assert value(reg, "http_requests_total", method="GET", code="200", route="/items/<id>") == 3
    assert value(reg, "http_requests_total", method="POST", code="200", route="/items/<id>") == 1
    assert value(reg, "http_request_duration_seconds_count", method="GET", code="200", route="/items/<id>") == 3
    assert value(reg, "http_requests_in_flight") == 0


def test_404_flood_on_many_paths_shares_one_route_value() -> None:
    reg = Registry()
    app = MetricsMiddleware(routed_app(), registry=reg)
    for i in range(300):
        assert call(app, f"/scan/{i}/wp-login.php")[0] == "404 Not Found"
    assert value(reg, "http_requests_total", method="GET", code="404", route="<unmatched>") == 300
    assert route_values(reg) == {"<unmatched>"}


def test_unmatched_route_value_is_configurable() -> None:
    reg = Registry()
    app = MetricsMiddleware(routed_app(), registry=reg, unmatched_route="none")
    call(app, "/nope")
    assert route_values(reg) == {"none"}


def test_unknown_methods_fold_into_other() -> None:
    reg = Registry()
    app = MetricsMiddleware(routed_app(), registry=reg)
    for verb in ("BREW", "PROPFIND", "get"):
        call(app, "/items/1", method=verb)
    assert value(reg, "http_requests_total", method="other", code="200", route="/items/<id>") == 3


def test_raising_handler_counts_500_and_propagates_the_same_exception() -> None:
    reg = Registry()
    app = MetricsMiddleware(routed_app(), registry=reg)
    with pytest.raises(Boom, match="handler failed"):
        call(app, "/boom")
    assert value(reg, "http_requests_total", method="GET", code="500", route="/boom") == 1
    assert value(reg, "http_request_exceptions_total", method="GET", route="/boom", exception="Boom") == 1
    assert value(reg, "http_requests_in_flight") == 0


def test_stream_is_timed_until_the_last_chunk(clock: FakeClock) -> None:
    reg = Registry()
    app = MetricsMiddleware(routed_app(clock), registry=reg)
    labels = {"method": "GET", "code": "200", "route": "/stream"}
    seen: list[str] = []
    body = app(environ_for("/stream"), lambda status, headers, exc_info=None: seen.append(status))
    iterator = iter(body)
    next(iterator)
    # Mid-stream: not recorded yet, still in flight.
    assert value(reg, "http_requests_total", **labels) is None
    assert value(reg, "http_requests_in_flight") == 1
    assert list(iterator) == [b"chunk1\n", b"chunk2\n"]
    body.close()  # type: ignore[attr-defined]
    assert value(reg, "http_requests_total", **labels) == 1
    assert value(reg, "http_request_duration_seconds_sum", **labels) == 12.0
    assert value(reg, "http_request_duration_seconds_bucket", le="10.0", **labels) == 0
    assert value(reg, "http_requests_in_flight") == 0


def test_work_done_in_close_after_the_last_chunk_is_not_timed(clock: FakeClock) -> None:
    class Body:
        def __iter__(self) -> Iterator[bytes]:
            clock.now += 1.0
            yield b"x"

        def close(self) -> None:
            clock.now += 100.0  # e.g. Flask's call_on_close callbacks

    def app(environ: Environ, start_response: Any) -> Iterable[bytes]:
        environ[ROUTE_KEY] = "/bg"
        start_response("200 OK", [])
        return Body()

    reg = Registry()
    call(MetricsMiddleware(app, registry=reg), "/bg")
    assert value(reg, "http_request_duration_seconds_sum", method="GET", code="200", route="/bg") == 1.0


def test_client_disconnect_mid_stream_is_recorded_as_499(clock: FakeClock) -> None:
    reg = Registry()
    app = MetricsMiddleware(routed_app(clock), registry=reg)
    body = app(environ_for("/stream"), lambda *a: None)
    iterator = iter(body)
    next(iterator)
    body.close()  # type: ignore[attr-defined]  # the server gives up: client went away
    del iterator
    assert value(reg, "http_requests_total", method="GET", code="499", route="/stream") == 1
    assert value(reg, "http_requests_total", method="GET", code="200", route="/stream") is None
    assert value(reg, "http_requests_in_flight") == 0


def test_body_raising_mid_stream_counts_500_and_exception() -> None:
    def app(environ: Environ, start_response: Any) -> Iterator[bytes]:
        environ[ROUTE_KEY] = "/broken"
        start_response("200 OK", [])
        yield b"first"
        raise Boom("stream failed")

    reg = Registry()
    with pytest.raises(Boom):
        call(MetricsMiddleware(app, registry=reg), "/broken")
    assert value(reg, "http_requests_total", method="GET", code="500", route="/broken") == 1
    assert value(reg, "http_request_exceptions_total", method="GET", route="/broken", exception="Boom") == 1


def test_deferred_start_response_status_is_used() -> None:
    reg = Registry()
    call(MetricsMiddleware(routed_app(), registry=reg), "/late")
    assert value(reg, "http_requests_total", method="GET", code="201", route="/late") == 1


def test_excluded_paths_pass_through_unrecorded() -> None:
    reg = Registry()
    app = MetricsMiddleware(routed_app(), registry=reg, exclude_paths=["/healthz"])
    assert call(app, "/healthz")[0] == "204 No Content"
    assert route_values(reg) == set()
    assert value(reg, "http_requests_in_flight") == 0


def test_metrics_endpoint_is_served_and_not_counted() -> None:
    reg = Registry()
    app = MetricsMiddleware(routed_app(), registry=reg, metrics_path="/metrics")
    call(app, "/items/1")
    status, body = call(app, "/metrics")
    assert status.startswith("200")
    assert exposed(body.decode(), "http_requests_total", method="GET", code="200", route="/items/<id>") == 1
    call(app, "/metrics")
    assert route_values(reg) == {"/items/<id>"}


def test_metrics_endpoint_counted_when_asked() -> None:
    reg = Registry()
    app = MetricsMiddleware(routed_app(), registry=reg, metrics_path="/metrics", count_metrics_path=True)
    call(app, "/metrics")
    second = call(app, "/metrics")[1]
    assert exposed(second.decode(), "http_requests_total", method="GET", code="200", route="/metrics") == 1
    assert value(reg, "http_requests_total", method="GET", code="200", route="/metrics") == 2


def test_metrics_endpoint_negotiates_openmetrics_and_gzip() -> None:
    reg = Registry()
    app = MetricsMiddleware(routed_app(), registry=reg, metrics_path="/metrics")
    call(app, "/items/1")
    client = Client(app)
    resp = client.get(
        "/metrics",
        headers={"Accept": "application/openmetrics-text; version=1.0.0", "Accept-Encoding": "gzip"},
    )
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("application/openmetrics-text")
    assert resp.headers["Content-Encoding"] == "gzip"
    text = gzip.decompress(resp.data).decode()
    assert text.endswith("# EOF\n")
    assert exposed(text, "http_requests_total", method="GET", code="200", route="/items/<id>") == 1
    plain = client.get("/metrics")
    assert plain.headers["Content-Type"].startswith("text/plain")
    assert "Content-Encoding" not in plain.headers


def test_namespace_replaces_the_http_prefix() -> None:
    reg = Registry()
    app = MetricsMiddleware(routed_app(), registry=reg, namespace="image_gallery")
    call(app, "/items/1")
    assert value(reg, "image_gallery_requests_total", method="GET", code="200", route="/items/<id>") == 1
    assert value(reg, "http_requests_total", method="GET", code="200", route="/items/<id>") is None


@pytest.mark.parametrize("bad", ["", "9lives", "has space", "dash-ed"])
def test_invalid_namespace_is_rejected_with_its_value(bad: str) -> None:
    with pytest.raises(InvalidNameError, match="namespace"):
        MetricsMiddleware(routed_app(), registry=Registry(), namespace=bad)


def test_request_and_response_sizes() -> None:
    reg = Registry()
    app = MetricsMiddleware(routed_app(), registry=reg, request_size=True, response_size=True)
    call(app, "/items/12", method="POST", data=b"x" * 100)
    labels = {"method": "POST", "code": "200", "route": "/items/<id>"}
    assert value(reg, "http_request_size_bytes_sum", **labels) == 100
    assert value(reg, "http_response_size_bytes_sum", **labels) == len(b"item 12")


def test_route_getter_supplies_templates_for_plain_apps() -> None:
    def app(environ: Environ, start_response: Any) -> Iterable[bytes]:
        start_response("200 OK", [])
        return [b"ok"]

    reg = Registry()
    mw = MetricsMiddleware(app, registry=reg, route_getter=lambda env: "/users/{id}")
    call(mw, "/users/7")
    assert route_values(reg) == {"/users/{id}"}


def test_an_app_built_twice_shares_one_metric_set() -> None:
    # An app factory called per test must neither crash nor count into a
    # metric set that no scrape shows.
    reg = Registry()
    first = MetricsMiddleware(routed_app(), registry=reg)
    second = MetricsMiddleware(routed_app(), registry=reg)
    assert first.metrics is second.metrics
    call(first, "/items/1")
    call(second, "/items/2")
    assert value(reg, "http_requests_total", method="GET", code="200", route="/items/<id>") == 2


def test_same_namespace_with_other_options_is_an_error_naming_them() -> None:
    reg = Registry()
    MetricsMiddleware(routed_app(), registry=reg)
    with pytest.raises(DuplicateMetricError, match=r"namespace 'http'.*buckets=\(0.5,\)"):
        MetricsMiddleware(routed_app(), registry=reg, buckets=[0.5])
    # Another namespace in the same registry is fine.
    MetricsMiddleware(routed_app(), registry=reg, namespace="admin", buckets=[0.5])


def test_a_foreign_metric_with_our_name_is_reported() -> None:
    from metricslib.instruments import Counter

    reg = Registry()
    Counter("http_requests_total", "someone else's", registry=reg)
    with pytest.raises(DuplicateMetricError, match="http_requests"):
        MetricsMiddleware(routed_app(), registry=reg)


def test_random_methods_do_not_grow_the_label_cache() -> None:
    reg = Registry()
    app = MetricsMiddleware(routed_app(), registry=reg)
    for i in range(500):
        call(app, "/items/1", method=f"M{i}")
    assert len(app.metrics.children) == 1
    assert value(reg, "http_requests_total", method="other", code="200", route="/items/<id>") == 500


def test_a_clash_on_a_later_metric_leaves_nothing_registered() -> None:
    from metricslib.instruments import Gauge

    reg = Registry()
    foreign = Gauge("http_request_exceptions_total", "clashes with our third metric", registry=reg)
    with pytest.raises(DuplicateMetricError):
        MetricsMiddleware(routed_app(), registry=reg)
    reg.unregister(foreign)
    app = MetricsMiddleware(routed_app(), registry=reg)  # works once the clash is gone
    call(app, "/items/1")
    assert value(reg, "http_requests_total", method="GET", code="200", route="/items/<id>") == 1


def test_server_file_wrapper_is_returned_as_is_and_timed_until_closed(clock: FakeClock) -> None:
    class FileWrapper:  # what gunicorn or wsgiref put in environ["wsgi.file_wrapper"]
        def __init__(self, data: bytes) -> None:
            self.data = data
            self.closed = False

        def __iter__(self) -> Iterator[bytes]:
            yield self.data

        def close(self) -> None:
            self.closed = True

    def app(environ: Environ, start_response: Any) -> Iterable[bytes]:
        environ[ROUTE_KEY] = "/download"
        start_response("200 OK", [])
        wrapper: Iterable[bytes] = environ["wsgi.file_wrapper"](b"payload")
        return wrapper

    reg = Registry()
    mw = MetricsMiddleware(app, registry=reg)
    env = environ_for("/download")
    env["wsgi.file_wrapper"] = FileWrapper
    body = mw(env, lambda *a: None)
    assert type(body) is FileWrapper  # so the server can still use sendfile()
    clock.now += 2.0  # the server sends the file
    assert value(reg, "http_requests_total", method="GET", code="200", route="/download") is None
    body.close()  # type: ignore[attr-defined]
    assert body.closed  # type: ignore[attr-defined]
    assert value(reg, "http_request_duration_seconds_sum", method="GET", code="200", route="/download") == 2.0
    assert value(reg, "http_requests_in_flight") == 0


def test_concurrent_threads_lose_no_counts_and_in_flight_returns_to_zero() -> None:
    from concurrent.futures import ThreadPoolExecutor

    reg = Registry()
    app = MetricsMiddleware(routed_app(), registry=reg)

    def many(n: int) -> int:
        for i in range(n):
            call(app, f"/items/{i}")
        return n

    with ThreadPoolExecutor(8) as pool:
        assert sum(pool.map(many, [400] * 8)) == 3200
    assert value(reg, "http_requests_total", method="GET", code="200", route="/items/<id>") == 3200
    assert value(reg, "http_request_duration_seconds_count", method="GET", code="200", route="/items/<id>") == 3200
    assert value(reg, "http_requests_in_flight") == 0


def test_in_flight_is_exact_when_a_body_finishes_on_another_thread() -> None:
    import threading

    reg = Registry()
    app = MetricsMiddleware(routed_app(), registry=reg)
    body = app(environ_for("/stream"), lambda *a: None)
    assert value(reg, "http_requests_in_flight") == 1

    def drain() -> None:
        for _ in body:
            pass
        body.close()  # type: ignore[attr-defined]

    worker = threading.Thread(target=drain)
    worker.start()
    worker.join()
    assert value(reg, "http_requests_in_flight") == 0
    assert value(reg, "http_requests_total", method="GET", code="200", route="/stream") == 1


def test_metrics_path_defaults_to_slash_metrics_and_can_be_disabled() -> None:
    reg = Registry()
    assert call(MetricsMiddleware(routed_app(), registry=reg), "/metrics")[0].startswith("200")
    reg2 = Registry()
    assert call(MetricsMiddleware(routed_app(), registry=reg2, metrics_path=None), "/metrics")[0] == "404 Not Found"
    assert route_values(reg2) == {"<unmatched>"}
