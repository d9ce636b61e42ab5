"""Pushing to a real Prometheus Pushgateway (Debian prometheus-pushgateway) on 127.0.0.1."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from metricslib.errors import InvalidNameError, PushError, PushRejectedError
from metricslib.instruments import Counter, Gauge, Histogram
from metricslib.push import (
    basic_auth_handler,
    delete_from_gateway,
    group_path,
    push_to_gateway,
    pushadd_to_gateway,
)
from metricslib.registry import Registry
from tests.helpers import free_port, http_get, require_tool, running

Series = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = require_tool("prometheus-pushgateway", "prometheus-pushgateway")
    port = free_port()
    data = tmp_path_factory.mktemp("pushgateway") / "data"
    cmd = [
        binary,
        f"--web.listen-address=127.0.0.1:{port}",
        f"--persistence.file={data}",
        "--log.level=warn",
    ]
    with running(cmd, ready_url=f"http://127.0.0.1:{port}/-/ready", timeout=20):
        yield f"127.0.0.1:{port}"


def gateway_series(gateway: str, job: str) -> Series:
    """The series the gateway exposes for one job (its own push_time etc. left out)."""
    status, _, body = http_get(f"http://{gateway}/metrics")
    assert status == 200
    out: Series = {}
    for family in text_string_to_metric_families(body.decode()):
        for s in family.samples:
            if s.labels.get("job") == job and not s.name.startswith("push_"):
                out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def gone(gateway: str, job: str) -> bool:
    """True once the gateway stops exposing ``job`` (it applies DELETEs asynchronously: 202)."""
    deadline = time.monotonic() + 10
    while gateway_series(gateway, job):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def make_registry(orders: float | None = None, queue: float | None = None) -> Registry:
    reg = Registry()
    if orders is not None:
        Counter("orders", "Orders.", registry=reg).inc(orders)
    if queue is not None:
        Gauge("queue", "Queue.", registry=reg).set(queue)
    return reg


def test_push_pushadd_delete_with_a_slash_in_the_grouping_key(gateway: str) -> None:
    job, key = "batch", {"instance": "db/primary 1", "shard": "7"}
    labels = (("instance", "db/primary 1"), ("job", job), ("shard", "7"))
    push_to_gateway(gateway, job, make_registry(orders=3, queue=5), grouping_key=key)
    assert gateway_series(gateway, job) == {("orders_total", labels): 3, ("queue", labels): 5}

    # POST replaces only the metrics it carries.
    pushadd_to_gateway(gateway, job, make_registry(queue=9), grouping_key=key)
    assert gateway_series(gateway, job) == {("orders_total", labels): 3, ("queue", labels): 9}

    # PUT replaces the whole group.
    push_to_gateway(gateway, job, make_registry(queue=1), grouping_key=key)
    assert gateway_series(gateway, job) == {("queue", labels): 1}

    delete_from_gateway(gateway, job, grouping_key=key)
    assert gone(gateway, job)


def test_job_names_with_slashes_and_histograms(gateway: str) -> None:
    reg = Registry()
    h = Histogram("took_seconds", "Time taken.", buckets=(1.0,), registry=reg)
    h.observe(0.5)
    h.observe(3)
    push_to_gateway("http://" + gateway + "/", "nightly/etl", reg)
    series = gateway_series(gateway, "nightly/etl")
    assert (
        series[("took_seconds_bucket", (("instance", ""), ("job", "nightly/etl"), ("le", "1")))]
        == 1
    )
    assert series[("took_seconds_count", (("instance", ""), ("job", "nightly/etl")))] == 2
    delete_from_gateway(gateway, "nightly/etl")
    assert gone(gateway, "nightly/etl")


def test_rejected_push_carries_status_and_gateway_message(gateway: str) -> None:
    push_to_gateway(gateway, "typed", make_registry(orders=1), grouping_key={"g": "a"})
    # The same name as a gauge in another group is inconsistent: the gateway says 400.
    clash = Registry()
    Gauge("orders_total", "Orders, but a gauge.", registry=clash).set(1)
    with pytest.raises(PushRejectedError) as info:
        push_to_gateway(gateway, "typed", clash, grouping_key={"g": "b"})
    assert info.value.status == 400
    assert "orders_total" in info.value.body
    assert f"PUT http://{gateway}/metrics/job/typed/g/b failed: HTTP 400" in str(info.value)
    assert gateway_series(gateway, "typed")  # the first group is intact
    delete_from_gateway(gateway, "typed", grouping_key={"g": "a"})


def test_unreachable_gateway_is_a_push_error() -> None:
    port = free_port()
    with pytest.raises(PushError, match=f"PUT http://127.0.0.1:{port}/metrics/job/j failed"):
        push_to_gateway(f"127.0.0.1:{port}", "j", make_registry(orders=1), timeout=5)


def test_bad_grouping_keys_are_refused_before_sending() -> None:
    with pytest.raises(InvalidNameError, match="'bad-name'"):
        group_path("j", {"bad-name": "x"})
    with pytest.raises(PushError, match="job must be a non-empty string"):
        group_path("", None)
    with pytest.raises(PushError, match="must not contain 'job'"):
        group_path("j", {"job": "other"})


@given(st.text(max_size=30))
def test_grouping_values_survive_the_path_encoding(value: str) -> None:
    path = group_path("j", {"k": value})
    head, _, last = path.partition("/metrics/job/j/")
    assert head == ""
    name, encoded = last.split("/")
    if name == "k":
        assert encoded == value
    else:
        assert name == "k@base64"
        padded = encoded + "=" * (-len(encoded) % 4)
        assert base64.urlsafe_b64decode(padded if encoded != "=" else "").decode() == value


class _AuthRecorder(BaseHTTPRequestHandler):
    seen: list[tuple[str, str, str | None, bytes]] = []

    def do_PUT(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.seen.append((self.command, self.path, self.headers.get("Authorization"), body))
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_basic_auth_handler_sends_credentials(tmp_path: Path) -> None:
    server = HTTPServer(("127.0.0.1", 0), _AuthRecorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:

        def handler(*args: Any) -> Any:
            return basic_auth_handler(*args, username="ops", password="s3cret")

        push_to_gateway(
            f"127.0.0.1:{server.server_port}", "j", make_registry(orders=2), handler=handler
        )
    finally:
        server.shutdown()
        server.server_close()
    ((method, path, auth, body),) = _AuthRecorder.seen
    assert (method, path) == ("PUT", "/metrics/job/j")
    assert auth == "Basic " + base64.b64encode(b"ops:s3cret").decode()
    assert b"orders_total 2.0" in body
