import gzip
import json
import re
import socket
import urllib.parse

import pytest

from metricslib.collector.web.api.v1 import PrometheusAPI, Request, Response
from metricslib.collector.web.server import Routes, serve
from tests.collector.fakes import RecordingEngine, sample_querier, simple_selector
from tests.helpers import http_get


@pytest.fixture
def server():
    reloads: list[str] = []

    def reload() -> None:
        if reloads and reloads[-1] == "fail-next":
            raise ValueError("prometheus.yml: scrape_configs[0]: bad")
        reloads.append("ok")

    engine = RecordingEngine()
    api = PrometheusAPI(
        engine_factory=lambda t: engine,
        querier_factory=sample_querier,
        parse_selector=simple_selector,
    )
    routes = Routes(
        api=api,
        federate=lambda req: Response(200, b"up 1\n", "text/plain"),
        reload=reload,
        ready=lambda: True,
        own_metrics=lambda accept: Response(200, b"# EOF\n" if "openmetrics" in accept else b"x 1\n", "text/plain"),
        lifecycle=True,
    )
    httpd, thread = serve("127.0.0.1", 0, routes)
    host, port = httpd.server_address[:2]
    yield f"http://{host}:{port}", reloads, engine
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def post(url: str, data: dict[str, str]) -> tuple[int, bytes]:
    import urllib.request

    req = urllib.request.Request(url, data=urllib.parse.urlencode(data).encode(), method="POST")
    req.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_get_and_post_queries_reach_the_api(server) -> None:
    url, _, engine = server
    status, _, body = http_get(f"{url}/api/v1/query?query=up&time=10")
    assert status == 200 and json.loads(body)["status"] == "success"
    status, body = post(f"{url}/api/v1/query", {"query": "rate(x[5m])", "time": "20"})
    assert status == 200
    assert engine.calls == [("instant", "up", 10_000), ("instant", "rate(x[5m])", 20_000)]


def test_errors_keep_the_envelope_and_status(server) -> None:
    url, _, _ = server
    status, _, body = http_get(f"{url}/api/v1/query_range?query=up&start=5&end=1&step=1")
    assert status == 400 and json.loads(body)["errorType"] == "bad_data"


def test_health_ready_and_reload(server) -> None:
    url, reloads, _ = server
    assert http_get(f"{url}/-/healthy")[0] == 200
    assert http_get(f"{url}/-/ready")[0] == 200
    assert http_get(f"{url}/-/reload")[0] == 405
    assert post(f"{url}/-/reload", {})[0] == 200
    reloads.append("fail-next")
    status, body = post(f"{url}/-/reload", {})
    assert status == 500 and b"scrape_configs[0]" in body


def _shell_names(body: bytes, suffix: str) -> list[str]:
    """The files of the bundle the page shell names, such as app-5F8CA264.js."""
    return sorted(set(re.findall(rb"/static/dist/([a-z]+-[A-Z0-9]{8}\." + suffix.encode() + rb")\"", body)))


def test_large_answers_are_gzipped_when_asked(server) -> None:
    url, _, _ = server
    app = _shell_names(http_get(f"{url}/graph")[2], "js")[0].decode()
    status, headers, body = http_get(f"{url}/static/dist/{app}", {"Accept-Encoding": "gzip"})
    assert status == 200 and headers.get("Content-Encoding") == "gzip"
    assert b"textContent" in gzip.decompress(body)


def test_ui_pages_and_unknown_paths(server) -> None:
    url, _, _ = server
    status, headers, body = http_get(f"{url}/graph")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert _shell_names(body, "js") and _shell_names(body, "css")
    assert http_get(f"{url}/static/../server.py")[0] == 404
    assert http_get(f"{url}/nope")[0] == 404


def test_the_shell_is_revalidated_and_hashed_files_are_kept_for_good(server) -> None:
    url, _, _ = server
    status, headers, shell = http_get(f"{url}/graph")
    assert status == 200 and headers["Cache-Control"] == "no-cache"
    names = _shell_names(shell, "js") + _shell_names(shell, "css")
    assert len(names) >= 2  # the page's code and the stylesheet
    for name in names:
        status, headers, _ = http_get(f"{url}/static/dist/{name.decode()}")
        assert status == 200 and headers["Cache-Control"] == "public, max-age=31536000, immutable", name
    # A name without a content hash may change under the same URL.
    status, headers, _ = http_get(f"{url}/static/dist/THIRD_PARTY_LICENSES.txt")
    assert status == 200 and headers["Cache-Control"] == "no-cache"


def test_the_shell_carries_the_boot_script_inline(server) -> None:
    url, _, _ = server
    shell = http_get(f"{url}/graph")[2]
    boot = re.search(rb'<script data-app="/static/dist/app-[A-Z0-9]{8}\.js" data-deps="([^"]*)">(.+?)</script>', shell, re.S)
    assert boot is not None and b"__metricslibBoot" in boot.group(2)
    assert b'="/' not in boot.group(2)  # the route-prefix rewrite leaves the code alone
    # The chunks the page's code imports up front, named relative to it: hashed files too.
    deps = boot.group(1).split()
    assert deps and all(re.fullmatch(rb"chunk-[A-Z0-9]{8}\.js", d) for d in deps)
    for name in deps:
        status, headers, _ = http_get(f"{url}/static/dist/{name.decode()}")
        assert status == 200 and headers["Cache-Control"] == "public, max-age=31536000, immutable", name


def test_own_metrics_negotiates_on_accept(server) -> None:
    url, _, _ = server
    assert http_get(f"{url}/metrics", {"Accept": "application/openmetrics-text"})[2] == b"# EOF\n"


def test_oversized_form_bodies_are_refused_before_reading_them(server) -> None:
    url, _, _ = server
    host, port = urllib.parse.urlsplit(url).netloc.split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(
            b"POST /api/v1/query HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 2097152\r\n\r\n"
        )
        assert sock.recv(100).startswith(b"HTTP/1.1 413")


def _exchange(url: str, raw: bytes, *, until_closed: bool = True) -> bytes:
    host, port = urllib.parse.urlsplit(url).netloc.split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(raw)
        chunks = []
        while True:
            data = sock.recv(65536)
            if not data:
                return b"".join(chunks)
            chunks.append(data)


def test_keep_alive_answers_requests_in_turn_then_closes_when_asked(server) -> None:
    url, _, _ = server
    out = _exchange(
        url,
        b"GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /-/ready HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /-/healthy HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    assert out.count(b"HTTP/1.1 200 OK") == 3
    assert b"is Ready" in out and out.count(b"is Healthy") == 2
    assert out.count(b"Connection: close") == 1


def test_http10_clients_get_one_answer_and_a_close(server) -> None:
    url, _, _ = server
    out = _exchange(url, b"GET /-/healthy HTTP/1.0\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 200 OK") and b"Connection: close" in out


def test_unreadable_requests_get_400_and_a_close(server) -> None:
    url, _, _ = server
    out = _exchange(url, b"GARBAGE\r\n\r\nGET /-/healthy HTTP/1.1\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 400 Bad Request") and b"Connection: close" in out
    assert b"Healthy" not in out  # nothing after an unreadable request is answered


def test_expect_continue_and_head_and_unknown_methods(server) -> None:
    url, _, engine = server
    body = urllib.parse.urlencode({"query": "up", "time": "1"}).encode()
    out = _exchange(
        url,
        b"POST /api/v1/query HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n" % len(body) + body
        + b"HEAD /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n"
        + b"DELETE /-/healthy HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    assert out.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK")
    assert engine.calls[-1][:2] == ("instant", "up")
    head_answer = out.split(b"HTTP/1.1 200 OK")[2]
    assert b"Content-Length: 33" in head_answer and b"Healthy" not in head_answer
    assert b"HTTP/1.1 501 Not Implemented" in out


def _routes(**kwargs: object) -> Routes:
    api = PrometheusAPI(engine_factory=lambda t: RecordingEngine(), querier_factory=sample_querier,
                        parse_selector=simple_selector)
    reloads: list[str] = []
    options: dict[str, object] = {
        "api": api,
        "federate": lambda req: Response(200, b"", "text/plain"),
        "reload": lambda: reloads.append("reload"),
        "ready": lambda: True,
        "own_metrics": lambda accept: Response(200, b"x 1\n", "text/plain"),
    }
    options.update(kwargs)
    return Routes(**options)


@pytest.mark.parametrize("path", ["/-/reload", "/-/quit"])
def test_lifecycle_is_refused_as_prometheus_does_without_the_flag(path: str) -> None:
    quits: list[bool] = []
    routes = _routes(quit=lambda: quits.append(True))
    # Status and body as Prometheus 2.42 answers without --web.enable-lifecycle.
    for method in ("POST", "PUT"):
        response = routes.dispatch(Request(method, path), "")
        assert (response.status, response.body) == (403, b"Lifecycle API is not enabled.")
    response = routes.dispatch(Request("GET", path), "")
    assert (response.status, response.body) == (405, b"Only POST or PUT requests allowed")
    assert quits == []


def test_quit_with_lifecycle_says_goodbye_and_asks_to_stop() -> None:
    quits: list[bool] = []
    routes = _routes(quit=lambda: quits.append(True), lifecycle=True)
    response = routes.dispatch(Request("PUT", "/-/quit"), "")
    assert (response.status, response.body) == (200, b"Requesting termination... Goodbye!")
    assert quits == [True]


def test_route_prefix_serves_everything_under_it() -> None:
    routes = _routes(route_prefix="/prom")
    assert routes.dispatch(Request("GET", "/prom/-/healthy"), "").status == 200
    assert routes.dispatch(Request("GET", "/-/healthy"), "").status == 404
    assert routes.dispatch(Request("GET", "/prom/api/v1/labels"), "").status == 200
    redirect = routes.dispatch(Request("GET", "/"), "")
    assert redirect.status == 302 and redirect.headers["Location"] == "/prom/graph"
    shell = routes.dispatch(Request("GET", "/prom/graph"), "").body
    assert b'="/static/' not in shell and b'data-app="/prom/static/dist/app-' in shell


def test_bound_server_without_routes_answers_503() -> None:
    from metricslib.collector.web.server import CollectorHTTPServer

    httpd = CollectorHTTPServer(("127.0.0.1", 0), None)
    import threading

    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = httpd.server_address[:2]
        assert http_get(f"http://{host}:{port}/-/healthy")[0] == 503
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def test_listen_backlog_is_the_os_maximum() -> None:
    from metricslib.collector.web.server import CollectorHTTPServer, listen_backlog

    with open("/proc/sys/net/core/somaxconn") as fh:
        assert listen_backlog() == int(fh.read()) == CollectorHTTPServer.request_queue_size
    assert listen_backlog() > 5  # socketserver's default refused bursts of connections


def test_healthy_answers_while_the_heaviest_query_runs() -> None:
    # A query that runs until its timeout (the scenario: one query must not
    # freeze the server) on a real engine; /-/healthy is asked meanwhile and must
    # answer while the query is still running. The latency is measured in
    # bench/bench_query_limits.py, not asserted here.
    import threading

    from metricslib.collector.model import make_labels
    from metricslib.collector.promql.engine import Engine
    from metricslib.collector.promql.gate import QueryGate
    from tests.collector.promql.memstore import MemoryQuerier

    querier = MemoryQuerier()
    for i in range(50):
        querier.add_series(make_labels({"__name__": "up", "instance": f"i{i}"}), ((t, 1.0) for t in range(0, 86_400_000, 15_000)))
    gate = QueryGate(20)
    api = PrometheusAPI(
        engine_factory=lambda t: Engine(querier, timeout_s=(t or 120_000) / 1000, gate=gate),
        querier_factory=lambda: querier,
        parse_selector=simple_selector,
    )
    routes = Routes(api=api, federate=lambda req: Response(200, b"", "text/plain"), reload=lambda: None,
                    ready=lambda: True, own_metrics=lambda accept: Response(200, b"", "text/plain"))  # fmt: skip
    httpd, thread = serve("127.0.0.1", 0, routes)
    host, port = httpd.server_address[:2]
    url = f"http://{host}:{port}"
    answers: list[int] = []
    heavy_done = threading.Event()

    def heavy() -> None:
        q = urllib.parse.urlencode({"query": "max_over_time(up[1d:1ms])", "time": "86400", "timeout": "8s"})
        status, _, _ = http_get(f"{url}/api/v1/query?{q}", timeout=60)
        answers.append(status)
        heavy_done.set()

    try:
        worker = threading.Thread(target=heavy)
        worker.start()
        while gate.running == 0 and not heavy_done.is_set():
            heavy_done.wait(0.001)
        healthy = [http_get(f"{url}/-/healthy", timeout=30)[0] for _ in range(5)]
        still_running = not heavy_done.is_set()
        worker.join(60)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)
    assert healthy == [200] * 5
    assert still_running, "the heavy query ended before /-/healthy was asked"
    assert answers in ([503], [422])  # timed out, or over the sample limit


def test_big_bodies_are_written_after_the_head_intact() -> None:
    # Bodies over 1 MiB are written separately from the head (not copied behind
    # it); the answer must be byte for byte the same, and keep-alive must work.
    import http.client

    big = bytes(range(256)) * 9000  # 2.3 MB
    routes = Routes(api=PrometheusAPI(engine_factory=lambda t: RecordingEngine(), querier_factory=sample_querier,
                                      parse_selector=simple_selector),
                    federate=lambda req: Response(200, big, "application/octet-stream"), reload=lambda: None,
                    ready=lambda: True, own_metrics=lambda accept: Response(200, b"x 1\n", "text/plain"))  # fmt: skip
    httpd, thread = serve("127.0.0.1", 0, routes)
    try:
        conn = http.client.HTTPConnection(*httpd.server_address[:2], timeout=10)
        for path in ("/federate", "/metrics", "/federate"):
            conn.request("GET", path)
            resp = conn.getresponse()
            body = resp.read()
            assert resp.status == 200
            assert body == (big if path == "/federate" else b"x 1\n")
            assert int(resp.headers["Content-Length"]) == len(body)
        conn.close()
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def test_remote_write_is_routed_with_its_body_under_a_route_prefix() -> None:
    seen: list[Request] = []
    routes = _routes(remote_write=lambda req: seen.append(req) or Response(204, b"", ""), route_prefix="/prom")
    assert routes.dispatch(Request("POST", "/prom/api/v1/write", {}, b"\x01\x02"), "").status == 204
    assert [(r.path, r.body) for r in seen] == [("/api/v1/write", b"\x01\x02")]
    # without a receiver the API answers as for any unknown endpoint
    assert _routes().dispatch(Request("POST", "/api/v1/write", {}, b"x"), "").status == 404
