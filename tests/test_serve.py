"""Serving /metrics: the shared render(), a real wsgiref server, ASGI, the standalone server."""

from __future__ import annotations

import asyncio
import gzip
import os
import threading
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from metricslib.exposition import CONTENT_TYPE_LATEST, CONTENT_TYPE_OPENMETRICS, generate_latest
from metricslib.instruments import Counter, Gauge, Histogram
from metricslib.model import MetricFamily
from metricslib.registry import Registry
from metricslib.serve import accepts_gzip, make_asgi_app, make_wsgi_app, render, start_http_server


def http_get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """GET that also closes the response of an error status (no ResourceWarning)."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers.items()), resp.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, dict(exc.headers.items()), exc.read()


OM = "application/openmetrics-text; version=1.0.0,text/plain;version=0.0.4;q=0.5"


@pytest.fixture
def registry() -> Registry:
    reg = Registry(default_labels={"service": "shop"})
    c = Counter("orders", "Orders placed.", ["country"], registry=reg)
    c.labels("fr").inc(3)
    c.labels("de").inc()
    Gauge("queue_depth", "Items waiting.", registry=reg).set(7)
    Histogram("latency_seconds", "Latency.", buckets=(0.5,), registry=reg).observe(0.2)
    return reg


def parsed(body: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in text_string_to_metric_families(body.decode())
        for s in f.samples
    }


# --- render (sans-I/O) ----------------------------------------------------------------------


def test_render_defaults_to_text_format(registry: Registry) -> None:
    status, headers, body = render(registry, None, None)
    h = dict(headers)
    assert status == 200
    assert h["Content-Type"] == CONTENT_TYPE_LATEST
    assert int(h["Content-Length"]) == len(body)
    assert "Content-Encoding" not in h
    assert body == generate_latest(registry)
    assert parsed(body)[("orders_total", (("country", "fr"), ("service", "shop")))] == 3


def test_render_negotiates_openmetrics(registry: Registry) -> None:
    _, headers, body = render(registry, OM, None)
    assert dict(headers)["Content-Type"] == CONTENT_TYPE_OPENMETRICS
    assert body.endswith(b"# EOF\n")
    assert b"# TYPE orders counter" in body


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("gzip", True),
        ("deflate, gzip;q=0.5", True),
        ("*", True),
        ("gzip;q=0", False),
        ("identity", False),
        ("", False),
        (None, False),
        ("gzip;q=bogus", False),
    ],
)
def test_accepts_gzip(header: str | None, expected: bool) -> None:
    assert accepts_gzip(header) is expected


def test_render_gzips_when_asked(registry: Registry) -> None:
    _, headers, body = render(registry, None, "gzip, deflate")
    h = dict(headers)
    assert h["Content-Encoding"] == "gzip"
    assert int(h["Content-Length"]) == len(body)
    assert gzip.decompress(body) == generate_latest(registry)


def test_render_filters_by_name(registry: Registry) -> None:
    _, _, body = render(registry, None, None, "name[]=queue_depth&name[]=latency_seconds_count")
    assert parsed(body) == {
        ("queue_depth", (("service", "shop"),)): 7,
        ("latency_seconds_count", (("service", "shop"),)): 1,
    }
    _, _, om = render(registry, OM, None, "name[]=orders_total")
    assert om.count(b"orders_total{") == 2 and b"queue_depth" not in om
    _, _, none = render(registry, None, None, "name[]=nothing")
    assert none == b""


class _Blocking:
    """A collector that blocks until an event is set by code on the event loop."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.released_in_time: bool | None = None

    def describe(self) -> Iterable[MetricFamily]:
        return [MetricFamily("slow", "A slow collector.", "gauge")]

    def collect(self) -> Iterable[MetricFamily]:
        self.started.set()
        self.released_in_time = self.release.wait(timeout=5)
        fam = MetricFamily("slow", "A slow collector.", "gauge")
        fam.add_sample("slow", {}, 1.0)
        return [fam]


# --- ASGI -----------------------------------------------------------------------------------


def _asgi_get(app: object, path: str = "/metrics", **headers: str) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await client.get(path, headers=headers)

    return asyncio.run(go())


def test_asgi_app_negotiates_and_gzips(registry: Registry) -> None:
    app = make_asgi_app(registry)
    text = _asgi_get(app)
    assert text.status_code == 200
    assert text.headers["content-type"] == CONTENT_TYPE_LATEST
    assert text.content == generate_latest(registry)
    om = _asgi_get(app, accept=OM)
    assert om.headers["content-type"] == CONTENT_TYPE_OPENMETRICS
    assert om.content.endswith(b"# EOF\n")
    zipped = _asgi_get(app, **{"accept-encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.content == generate_latest(registry)  # httpx decodes gzip
    assert _asgi_get(app, "/favicon.ico").status_code == 404


def test_asgi_app_does_not_block_the_event_loop() -> None:
    reg = Registry()
    blocking = _Blocking()
    reg.register(blocking)
    app = make_asgi_app(reg)

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            request = asyncio.create_task(client.get("/metrics"))
            # Once the scrape is inside collect(), this coroutine only gets to
            # release it if the scrape is not holding the event loop.
            while not blocking.started.is_set() and not request.done():
                await asyncio.sleep(0.005)
            blocking.release.set()
            return await request

    response = asyncio.run(go())
    assert response.status_code == 200
    assert blocking.released_in_time is True
    assert b"slow 1.0" in response.content


def test_asgi_app_answers_lifespan(registry: Registry) -> None:
    app = make_asgi_app(registry)
    sent: list[dict[str, str]] = []
    messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])

    async def receive() -> dict[str, str]:
        return next(messages)

    async def send(message: dict[str, str]) -> None:
        sent.append(message)

    asyncio.run(app({"type": "lifespan"}, receive, send))  # type: ignore[arg-type]
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


# --- WSGI under a real wsgiref server -------------------------------------------------------


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def wsgi_url(registry: Registry) -> Iterator[str]:
    server: WSGIServer = make_server(
        "127.0.0.1", 0, make_wsgi_app(registry), handler_class=_QuietHandler
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_wsgi_app_under_wsgiref(wsgi_url: str, registry: Registry) -> None:
    status, headers, body = http_get(wsgi_url + "/metrics")
    assert status == 200
    assert headers["Content-Type"] == CONTENT_TYPE_LATEST
    assert body == generate_latest(registry)
    status, headers, body = http_get(
        wsgi_url + "/metrics", {"Accept": OM, "Accept-Encoding": "gzip"}
    )
    assert headers["Content-Type"] == CONTENT_TYPE_OPENMETRICS
    assert headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(body).endswith(b"# EOF\n")
    status, _, body = http_get(wsgi_url + "/metrics?name[]=queue_depth")
    assert parsed(body) == {("queue_depth", (("service", "shop"),)): 7}
    assert http_get(wsgi_url + "/favicon.ico")[0] == 404


def test_wsgi_app_refuses_other_methods(wsgi_url: str) -> None:
    req = urllib.request.Request(wsgi_url + "/metrics", data=b"x", method="POST")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(req, timeout=5)
    with info.value as error:
        assert error.code == 405
        assert error.headers["Allow"] == "GET, HEAD"


# --- standalone server ----------------------------------------------------------------------


def test_standalone_server_paths_and_binding(registry: Registry) -> None:
    server, thread = start_http_server(0, registry=registry)
    try:
        assert server.server_address[0] == "127.0.0.1"
        assert thread.daemon and thread.is_alive()
        base = f"http://127.0.0.1:{server.server_port}"
        for path in ("/metrics", "/"):
            status, headers, body = http_get(base + path)
            assert status == 200 and body == generate_latest(registry)
        status, _, body = http_get(base + "/nope")
        assert status == 404 and b"/metrics" in body
        for method in ("POST", "PUT", "DELETE"):
            req = urllib.request.Request(base + "/metrics", data=b"", method=method)
            with pytest.raises(urllib.error.HTTPError) as info:
                urllib.request.urlopen(req, timeout=5)
            with info.value as error:
                assert error.code == 405, method
        _, headers, body = http_get(base + "/metrics", {"Accept": OM, "Accept-Encoding": "gzip"})
        assert headers["Content-Encoding"] == "gzip"
        assert gzip.decompress(body).endswith(b"# EOF\n")
        # Values change between scrapes: nothing is cached.
        registry.get_sample_value("queue_depth")
        Gauge("extra", "Registered after start.", registry=registry).set(2)
        assert parsed(http_get(base + "/metrics")[2])[("extra", (("service", "shop"),))] == 2
    finally:
        server.shutdown()
        server.server_close()
    thread.join(timeout=5)
    assert not thread.is_alive()


def test_render_serves_the_multi_worker_aggregate_once_set_up(
    registry: Registry, tmp_path: Path
) -> None:
    from metricslib import multiprocess

    multiprocess._reset_for_tests()
    try:
        multiprocess.setup(tmp_path, registry=registry)
        _, _, body = render(registry, None, None)
        values = parsed(body)
        # Gauges default to one series per worker, so the aggregate shows our pid.
        assert values[("queue_depth", (("pid", str(os.getpid())), ("service", "shop")))] == 7
        assert values[("orders_total", (("country", "fr"), ("service", "shop")))] == 3
        _, _, only = render(registry, OM, None, "name[]=orders_total")
        assert only.count(b"orders_total{") == 2 and only.endswith(b"# EOF\n")
    finally:
        multiprocess.shutdown()
        multiprocess._reset_for_tests()
    # Without aggregation the registry is served as it is again.
    assert b"pid=" not in render(registry, None, None)[2]
