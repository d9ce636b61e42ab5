"""metricslib.asgi with real Starlette and FastAPI apps, called in-process."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, MutableMapping
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.websockets import WebSocket

from metricslib import _asgi_routes
from metricslib import asgi as asgi_module
from metricslib.asgi import MetricsMiddleware
from metricslib.registry import Registry


class FakeClock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


class Boom(RuntimeError):
    pass


CLOCK = FakeClock()


async def ok(request: Request) -> Response:
    return PlainTextResponse("ok")


async def boom(request: Request) -> Response:
    raise Boom("handler failed")


async def chunks() -> AsyncIterator[bytes]:
    for i in range(3):
        CLOCK.now += 2.0
        yield b"chunk%d\n" % i


def slow_background() -> None:
    CLOCK.now += 100.0


async def stream(request: Request) -> Response:
    return StreamingResponse(chunks(), background=BackgroundTask(slow_background))


async def echo_ws(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text(await websocket.receive_text())
    await websocket.close()


async def opaque(scope: Any, receive: Any, send: Any) -> None:
    await PlainTextResponse("static")(scope, receive, send)


def starlette_app(**options: Any) -> tuple[Starlette, Registry]:
    inner = Starlette(routes=[Route("/items/{id:int}", ok)])
    started: list[bool] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        started.append(True)
        yield

    app = Starlette(
        routes=[
            Route("/", ok),
            Route("/users/{uid}", ok),
            Route("/boom", boom),
            Route("/stream", stream),
            Route("/only-post", ok, methods=["POST"]),
            WebSocketRoute("/ws", echo_ws),
            Mount(
                "/api/{ver}",
                routes=[Route("/x/{rest:path}", ok), Mount("/deep", routes=[Route("/z", ok)])],
            ),
            Mount("/sub", app=inner),
            Mount("/static", app=opaque),
        ],
        lifespan=lifespan,
    )
    app.state.started = started
    reg = Registry()
    app.add_middleware(MetricsMiddleware, registry=reg, **options)
    return app, reg


class SyncClient:
    """A synchronous client over httpx's ASGI transport (app exceptions re-raised)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def get(self, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                return await client.get(path, headers=headers)

        return asyncio.run(go())


@pytest.fixture(autouse=True)
def fake_clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    monkeypatch.setattr(asgi_module, "perf_counter", CLOCK)
    return CLOCK


def requests_total(reg: Registry, route: str, code: str = "200", method: str = "GET") -> float | None:
    return reg.get_sample_value(
        "http_requests_total", {"method": method, "code": code, "route": route}
    )


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
        s.labels["route"]
        for fam in reg.collect()
        for s in fam.samples
        if s.name == "http_requests_total"
    }


@pytest.mark.parametrize(
    ("path", "template", "code"),
    [
        ("/", "/", "200"),
        ("/users/42", "/users/{uid}", "200"),
        ("/api/v2/x/a/b/c", "/api/{ver}/x/{rest:path}", "200"),
        ("/api/v3/deep/z", "/api/{ver}/deep/z", "200"),
        ("/sub/items/7", "/sub/items/{id:int}", "200"),
        ("/static/css/site.css", "/static/{path:path}", "200"),
        ("/only-post", "/only-post", "405"),
    ],
)
def test_starlette_route_templates_with_mounts_and_convertors(path: str, template: str, code: str) -> None:
    app, reg = starlette_app()
    with SyncClient(app) as client:
        assert client.get(path).status_code == int(code)
    assert requests_total(reg, template, code) == 1
    assert routes_seen(reg) == {template}


def test_404_flood_and_inner_mount_misses_share_the_unmatched_value() -> None:
    app, reg = starlette_app()
    with SyncClient(app) as client:
        for i in range(100):
            assert client.get(f"/no/such/{i}").status_code == 404
        assert client.get("/sub/items/not-an-int").status_code == 404
        assert client.get("/api/v1/deep/nothing").status_code == 404
    assert requests_total(reg, "<unmatched>", "404") == 102
    assert routes_seen(reg) == {"<unmatched>"}


def test_raising_handler_counts_500_and_the_exception_propagates() -> None:
    app, reg = starlette_app()
    with SyncClient(app) as client, pytest.raises(Boom, match="handler failed"):
        client.get("/boom")
    assert requests_total(reg, "/boom", "500") == 1
    assert reg.get_sample_value(
        "http_request_exceptions_total", {"method": "GET", "route": "/boom", "exception": "Boom"}
    ) == 1
    assert reg.get_sample_value("http_requests_in_flight") == 0


def test_stream_timed_to_last_chunk_excluding_background_task() -> None:
    app, reg = starlette_app()
    with SyncClient(app) as client:
        assert client.get("/stream").text == "chunk0\nchunk1\nchunk2\n"
    labels = {"method": "GET", "code": "200", "route": "/stream"}
    assert reg.get_sample_value("http_request_duration_seconds_sum", labels) == 6.0


@pytest.mark.parametrize("raise_server_exceptions", [False, True])
def test_starlette_test_client_sees_counts_at_once_without_reading_the_body(raise_server_exceptions: bool) -> None:
    """Starlette's own TestClient: 404s, error pages, raising handlers and streams, no `.content`."""
    from starlette.exceptions import HTTPException
    from starlette.testclient import TestClient

    async def gone(request: Request) -> Response:
        raise HTTPException(410)

    app, reg = starlette_app()
    app.router.routes.append(Route("/gone", gone))
    with TestClient(app, raise_server_exceptions=raise_server_exceptions) as client:
        assert client.get("/no/such").status_code == 404
        assert client.get("/no/other").status_code == 404
        assert requests_total(reg, "<unmatched>", "404") == 2  # two 404s share one series
        assert client.get("/gone").status_code == 410
        assert requests_total(reg, "/gone", "410") == 1
        if raise_server_exceptions:
            with pytest.raises(Boom):
                client.get("/boom")
        else:
            assert client.get("/boom").status_code == 500
        assert requests_total(reg, "/boom", "500") == 1
        assert reg.get_sample_value(
            "http_request_exceptions_total", {"method": "GET", "route": "/boom", "exception": "Boom"}
        ) == 1
        assert client.get("/stream").status_code == 200
        labels = {"method": "GET", "code": "200", "route": "/stream"}
        # Timed to the last chunk (3 x 2 s), not through the background task (100 s).
        assert reg.get_sample_value("http_request_duration_seconds_sum", labels) == 6.0
        with client.stream("GET", "/stream") as response:
            assert response.status_code == 200
        # Left before the body was produced: the client abandoned it.
        assert requests_total(reg, "/stream", "499") == 1
        assert reg.get_sample_value("http_requests_in_flight") == 0


def test_background_task_exception_counted_without_changing_the_status() -> None:
    app, reg = starlette_app()

    def failing_task() -> None:
        raise Boom("background failed")

    async def with_task(request: Request) -> Response:
        return PlainTextResponse("done", background=BackgroundTask(failing_task))

    app.router.routes.append(Route("/task", with_task))
    with SyncClient(app) as client, pytest.raises(Boom, match="background failed"):
        client.get("/task")
    assert requests_total(reg, "/task", "200") == 1
    assert requests_total(reg, "/task", "500") is None
    assert reg.get_sample_value(
        "http_request_exceptions_total", {"method": "GET", "route": "/task", "exception": "Boom"}
    ) == 1


def test_websocket_and_lifespan_pass_through_untouched() -> None:
    app, reg = starlette_app()

    async def lifespan() -> list[str]:
        inbox = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
        out: list[str] = []

        async def receive() -> dict[str, Any]:
            return inbox.pop(0)

        async def send(message: MutableMapping[str, Any]) -> None:
            out.append(message["type"])

        await app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send)
        return out

    async def websocket() -> list[Any]:
        inbox: list[dict[str, Any]] = [
            {"type": "websocket.connect"},
            {"type": "websocket.receive", "text": "hello"},
        ]
        out: list[Any] = []

        async def receive() -> dict[str, Any]:
            return inbox.pop(0)

        async def send(message: MutableMapping[str, Any]) -> None:
            out.append((message["type"], message.get("text")))

        scope = {**http_scope("/ws"), "type": "websocket", "scheme": "ws", "subprotocols": []}
        await app(scope, receive, send)
        return out

    assert asyncio.run(lifespan()) == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert app.state.started == [True]
    assert asyncio.run(websocket()) == [
        ("websocket.accept", None),
        ("websocket.send", "hello"),
        ("websocket.close", None),
    ]
    assert routes_seen(reg) == set()
    assert reg.get_sample_value("http_requests_in_flight") == 0


def test_excluded_paths_and_metrics_endpoint_are_not_counted() -> None:
    app, reg = starlette_app(exclude_paths=["/users/health"])
    with SyncClient(app) as client:
        client.get("/users/health")
        client.get("/users/1")
        body = client.get("/metrics").text
        client.get("/metrics")
    assert exposed(body, "http_requests_total", method="GET", code="200", route="/users/{uid}") == 1
    assert routes_seen(reg) == {"/users/{uid}"}
    assert requests_total(reg, "/users/{uid}") == 1


def test_metrics_endpoint_negotiation_and_gzip() -> None:
    app, _ = starlette_app()
    with SyncClient(app) as client:
        client.get("/")
        om = client.get(
            "/metrics",
            headers={"Accept": "application/openmetrics-text; version=1.0.0", "Accept-Encoding": "gzip"},
        )
        text = client.get("/metrics", headers={"Accept-Encoding": "identity"})
    assert om.headers["content-type"].startswith("application/openmetrics-text")
    assert om.headers["content-encoding"] == "gzip"
    assert om.text.endswith("# EOF\n")
    assert text.headers["content-type"].startswith("text/plain")
    assert "content-encoding" not in text.headers


def test_metrics_path_can_be_counted_or_disabled() -> None:
    app, reg = starlette_app(count_metrics_path=True)
    with SyncClient(app) as client:
        client.get("/metrics")
        client.get("/metrics")
    assert requests_total(reg, "/metrics") == 2
    app2, reg2 = starlette_app(metrics_path=None)
    with SyncClient(app2) as client:
        assert client.get("/metrics").status_code == 404
    assert requests_total(reg2, "<unmatched>", "404") == 1


def test_wrapping_the_whole_app_from_outside_also_finds_templates() -> None:
    inner, _ = starlette_app()
    reg = Registry()
    app = MetricsMiddleware(inner, registry=reg, metrics_path=None)
    with SyncClient(app) as client:
        client.get("/users/3")
    assert requests_total(reg, "/users/{uid}") == 1


# --- FastAPI --------------------------------------------------------------------------------


def fastapi_app() -> tuple[FastAPI, Registry]:
    app = FastAPI()
    shared = APIRouter(prefix="/r")

    @shared.get("/a/{q}")
    def a(q: str) -> dict[str, str]:
        return {"q": q}

    nested = APIRouter(prefix="/n")

    @nested.get("/b/{n}")
    def b(n: int) -> dict[str, int]:
        return {"n": n}

    shared.include_router(nested)
    app.include_router(shared, prefix="/v1")
    app.include_router(shared, prefix="/v2")

    sub = FastAPI()

    @sub.get("/inner/{k}")
    def inner(k: str) -> dict[str, str]:
        return {"k": k}

    app.mount("/mnt", sub)

    @app.get("/top/{x}")
    def top(x: int) -> dict[str, int]:
        return {"x": x}

    @app.get("/fail")
    def fail() -> None:
        raise Boom("fastapi handler failed")

    reg = Registry()
    app.add_middleware(MetricsMiddleware, registry=reg)
    return app, reg


@pytest.mark.parametrize(
    ("path", "template", "code"),
    [
        ("/v1/r/a/1", "/v1/r/a/{q}", "200"),
        ("/v2/r/a/1", "/v2/r/a/{q}", "200"),
        ("/v1/r/n/b/3", "/v1/r/n/b/{n}", "200"),
        ("/v2/r/n/b/3", "/v2/r/n/b/{n}", "200"),
        ("/mnt/inner/zz", "/mnt/inner/{k}", "200"),
        ("/top/3", "/top/{x}", "200"),
        ("/top/not-int", "/top/{x}", "422"),
        ("/docs", "/docs", "200"),
        ("/mnt/nothing", "<unmatched>", "404"),
        ("/v1/r/missing", "<unmatched>", "404"),
    ],
)
def test_fastapi_routers_mounts_and_validation(path: str, template: str, code: str) -> None:
    app, reg = fastapi_app()
    with SyncClient(app) as client:
        assert client.get(path).status_code == int(code)
    assert requests_total(reg, template, code) == 1
    assert routes_seen(reg) == {template}


def test_fastapi_exception_counted_as_500() -> None:
    app, reg = fastapi_app()
    with SyncClient(app) as client, pytest.raises(Boom):
        client.get("/fail")
    assert requests_total(reg, "/fail", "500") == 1


def test_route_tree_is_walked_once_not_per_request(monkeypatch: pytest.MonkeyPatch) -> None:
    walks: list[int] = []
    real_walk = _asgi_routes._walk

    def counting_walk(routes: Any, prefix: str, add: Any, suffix: str) -> None:
        if prefix == "":
            walks.append(1)
        real_walk(routes, prefix, add, suffix)

    monkeypatch.setattr(_asgi_routes, "_walk", counting_walk)
    routes = [Route(f"/r{i}/{{x}}", ok) for i in range(300)]
    reg = Registry()
    app = Starlette(routes=routes)
    app.add_middleware(MetricsMiddleware, registry=reg)
    with SyncClient(app) as client:
        for i in range(50):
            client.get(f"/r{i % 3}/{i}")
            client.get(f"/missing/{i}")
    # One walk per newly seen route object (3 of them), none for misses.
    assert len(walks) <= 3
    assert requests_total(reg, "/r1/{x}") is not None
    assert requests_total(reg, "<unmatched>", "404") == 50


# --- raw ASGI: disconnects ------------------------------------------------------------------


def http_scope(path: str) -> MutableMapping[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [],
        "client": ("127.0.0.1", 1234),
        "server": ("127.0.0.1", 80),
    }


def test_send_failing_mid_stream_is_a_client_disconnect_499() -> None:
    app, reg = starlette_app()
    sent: list[Any] = []

    async def receive() -> MutableMapping[str, Any]:
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.body" and message.get("body"):
            raise OSError("connection reset by peer")
        sent.append(message)

    async def run() -> None:
        await app(http_scope("/stream"), receive, send)

    with pytest.raises(OSError, match="connection reset"):
        asyncio.run(run())
    assert requests_total(reg, "/stream", "499") == 1
    assert requests_total(reg, "/stream", "200") is None
    assert reg.get_sample_value("http_requests_in_flight") == 0


def test_disconnect_message_cancelling_a_stream_is_499() -> None:
    app, reg = starlette_app()

    async def never_ending() -> AsyncIterator[bytes]:
        while True:
            yield b"tick\n"
            await asyncio.sleep(0.001)

    async def endless(request: Request) -> Response:
        return StreamingResponse(never_ending())

    app.router.routes.append(Route("/endless", endless))
    chunks_sent = 0

    async def receive() -> MutableMapping[str, Any]:
        while chunks_sent < 3:
            await asyncio.sleep(0.001)
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        nonlocal chunks_sent
        if message["type"] == "http.response.body":
            chunks_sent += 1

    asyncio.run(app(http_scope("/endless"), receive, send))
    assert requests_total(reg, "/endless", "499") == 1


# --- property: any tree of mounts and routes maps back to its templates --------------------

Tree = list[tuple[str, Any]]  # (segment, None for a route | subtree for a mount)


@st.composite
def route_trees(draw: st.DrawFn, depth: int = 0) -> Tree:
    # Sibling segments are unique words, so each concrete path has one match.
    words = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=4, unique=True))
    tree: Tree = []
    for i, word in enumerate(words):
        segment = f"/{word}" + draw(st.sampled_from(["", f"/{{p{depth}_{i}}}", f"/{{n{depth}_{i}:int}}"]))
        if depth < 2 and draw(st.booleans()):
            tree.append((segment, draw(route_trees(depth + 1))))
        else:
            tree.append((segment, None))
    return tree


WORDS = ["a", "bb", "users", "items", "v1", "api", "x", "deep"]


def build(tree: Tree) -> list[Any]:
    return [Route(seg, ok) if sub is None else Mount(seg, routes=build(sub)) for seg, sub in tree]


def leaves(tree: Tree, prefix: str = "") -> list[str]:
    out: list[str] = []
    for seg, sub in tree:
        out.extend([prefix + seg] if sub is None else leaves(sub, prefix + seg))
    return out


def concrete(template: str) -> str:
    return re.sub(r"\{[^}:]+:int\}", "7", re.sub(r"\{[^}:]+\}", "val", template))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree=route_trees(), twice=st.booleans())
def test_property_every_leaf_resolves_to_its_full_template(tree: Tree, twice: bool) -> None:
    routes = build(tree)
    if twice:
        # The same route objects reachable under two prefixes.
        routes = [Mount("/one", routes=routes), Mount("/two", routes=routes)]
        templates = [p + t for p in ("/one", "/two") for t in leaves(tree)]
    else:
        templates = leaves(tree)
    reg = Registry()
    app = MetricsMiddleware(Starlette(routes=routes), registry=reg, metrics_path=None)
    sent: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            sent.append(message["status"])

    async def run() -> None:
        for template in templates:
            await app(http_scope(concrete(template)), receive, send)
        await app(http_scope("/zzz/not/there"), receive, send)

    asyncio.run(run())
    assert sent[:-1] == [200] * len(templates)
    for template in templates:
        assert requests_total(reg, template) == 1, template
    assert requests_total(reg, "<unmatched>", "404") == 1


def test_server_root_path_is_not_part_of_the_template() -> None:
    # As behind a proxy with `uvicorn --root-path /gallery`.
    app, reg = starlette_app(exclude_paths=["/users/health"])

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        return None

    async def run() -> None:
        for path in ("/gallery/users/9", "/gallery/sub/items/3", "/gallery/users/health"):
            await app({**http_scope(path), "root_path": "/gallery"}, receive, send)

    asyncio.run(run())
    assert routes_seen(reg) == {"/users/{uid}", "/sub/items/{id:int}"}


def test_request_and_response_sizes() -> None:
    app, reg = starlette_app(request_size=True, response_size=True)

    inbox = [{"type": "http.request", "body": b"x" * 40, "more_body": False}]

    async def receive() -> dict[str, Any]:
        if inbox:
            return inbox.pop()
        await asyncio.sleep(3600)  # no disconnect while the stream runs
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        return None

    scope = {**http_scope("/stream"), "headers": [(b"content-length", b"40")]}
    asyncio.run(app(scope, receive, send))
    labels = {"method": "GET", "code": "200", "route": "/stream"}
    assert reg.get_sample_value("http_request_size_bytes_sum", labels) == 40
    assert reg.get_sample_value("http_response_size_bytes_sum", labels) == len("chunk0\nchunk1\nchunk2\n")


def test_lifespan_shutdown_archives_a_multi_worker_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """uvicorn workers skip atexit: the middleware leaves aggregation at lifespan shutdown."""
    from metricslib import multiprocess

    app, reg = starlette_app()
    calls: list[str] = []
    monkeypatch.setattr(multiprocess, "aggregator_for", lambda registry: object() if registry is reg else None)
    monkeypatch.setattr(multiprocess, "shutdown", lambda: calls.append("shutdown"))
    inbox = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[str] = []

    async def receive() -> dict[str, Any]:
        return inbox.pop(0)

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message["type"])
        # The worker has archived by the time the server hears shutdown is complete.
        if message["type"] == "lifespan.shutdown.complete":
            assert calls == ["shutdown"]

    asyncio.run(app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send))
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert calls == ["shutdown"]
