"""Remote write: wire format, queue behaviour, and real receivers (VictoriaMetrics, Prometheus)."""

from __future__ import annotations

import json
import math
import struct
import time
import urllib.parse
from collections.abc import Mapping
from pathlib import Path

import cramjam
import pytest

from metricslib.collector.config.http_client import BasicAuth, HTTPClientConfig
from metricslib.collector.model import STALE_NAN, Labels, is_stale_nan, make_labels
from metricslib.collector.model.relabel import RelabelConfig
from metricslib.collector.storage import open_storage
from metricslib.collector.storage.remote.proto import (
    _snappy_literals,
    encode_write_request,
    snappy_compress,
)
from metricslib.collector.storage.remote.write import (
    ForwardingStorage,
    RemoteWriteConfig,
    RemoteWriteQueue,
)
from metricslib.errors import StorageError
from tests.collector.promql.memstore import MemoryQuerier
from tests.helpers import free_port, http_get, require_tool, running


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, pos


def _fields(buf: bytes) -> list[tuple[int, object]]:
    out: list[tuple[int, object]] = []
    pos = 0
    while pos < len(buf):
        key, pos = _read_varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _read_varint(buf, pos)
            out.append((number, value - (1 << 64) if value >= 1 << 63 else value))
        elif wire == 1:
            out.append((number, struct.unpack("<d", buf[pos : pos + 8])[0]))
            pos += 8
        elif wire == 2:
            length, pos = _read_varint(buf, pos)
            out.append((number, buf[pos : pos + length]))
            pos += length
        else:
            raise AssertionError(f"unexpected wire type {wire}")
    return out


def decode_write_request(body: bytes) -> dict[Labels, list[tuple[int, float]]]:
    """An independent decoder, written from the .proto definition, to check our encoder."""
    result: dict[Labels, list[tuple[int, float]]] = {}
    for number, ts in _fields(body):
        assert number == 1 and isinstance(ts, bytes)
        labels, samples = [], []
        for field_no, payload in _fields(ts):
            assert isinstance(payload, bytes)
            parts = dict(_fields(payload))
            if field_no == 1:
                labels.append((parts[1].decode(), parts[2].decode()))  # type: ignore[union-attr]
            else:
                samples.append((parts.get(2, 0), parts.get(1, 0.0)))
        result[tuple(labels)] = samples  # type: ignore[assignment]
    return result


def test_write_request_round_trips_through_an_independent_decoder() -> None:
    up = make_labels({"__name__": "up", "job": "api", "instance": "a:1"})
    weird = make_labels({"__name__": "x", "path": 'é "q"\n'})
    body = encode_write_request([(up, [(1_700_000_000_000, 1.0), (-5, -2.5)]), (weird, [(3, math.inf)])])
    decoded = decode_write_request(body)
    assert decoded[up] == [(1_700_000_000_000, 1.0), (-5, -2.5)]
    assert decoded[weird] == [(3, math.inf)]


def test_stale_markers_keep_their_bit_pattern_on_the_wire() -> None:
    labels = make_labels({"__name__": "gone"})
    decoded = decode_write_request(encode_write_request([(labels, [(1, STALE_NAN)])]))
    assert is_stale_nan(decoded[labels][0][1])


@pytest.mark.parametrize("size", [0, 1, 59, 60, 255, 256, 65535, 65536, 200_000])
def test_literal_only_snappy_is_decodable_by_a_real_snappy(size: int) -> None:
    data = bytes(range(256)) * (size // 256 + 1)
    data = data[:size]
    assert bytes(cramjam.snappy.decompress_raw(_snappy_literals(data))) == data
    assert bytes(cramjam.snappy.decompress_raw(snappy_compress(data))) == data


class FakePoster:
    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.bodies: list[dict[Labels, list[tuple[int, float]]]] = []
        self.headers: list[Mapping[str, str]] = []

    def post(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> tuple[int, bytes]:
        status = self.statuses.pop(0) if self.statuses else 204
        if status == -1:
            raise ConnectionRefusedError("connection refused")
        self.headers.append(headers)
        self.bodies.append(decode_write_request(bytes(cramjam.snappy.decompress_raw(body))))
        return status, b"boom" if status >= 400 else b""


def make_queue(poster: FakePoster, **config: object) -> RemoteWriteQueue:
    cfg = RemoteWriteConfig(url="http://127.0.0.1:1/api/v1/write", **config)  # type: ignore[arg-type]
    return RemoteWriteQueue(cfg, external_labels=lambda: {"cluster": "eu", "job": "ignored"},
                            poster=poster, sleep=lambda s: None)


def test_send_adds_external_labels_without_overriding_and_sets_protocol_headers() -> None:
    poster = FakePoster([])
    queue = make_queue(poster, http=HTTPClientConfig(basic_auth=BasicAuth("u", "p")))
    labels = make_labels({"__name__": "up", "job": "api"})
    assert queue.send([(labels, 1000, 1.0), (labels, 2000, 0.0)])
    assert poster.bodies == [{make_labels({"__name__": "up", "job": "api", "cluster": "eu"}): [(1000, 1.0), (2000, 0.0)]}]
    headers = poster.headers[0]
    assert headers["Content-Encoding"] == "snappy" and headers["X-Prometheus-Remote-Write-Version"] == "0.1.0"
    assert headers["Authorization"] == "Basic dTpw"
    assert queue.stats.samples_sent == 2


def test_recoverable_errors_are_retried_and_bad_requests_dropped() -> None:
    labels = make_labels({"__name__": "up"})
    poster = FakePoster([503, -1, 429, 204])
    queue = make_queue(poster)
    assert queue.send([(labels, 1, 1.0)])
    assert queue.stats.samples_retried == 3 and queue.stats.samples_sent == 1
    poster = FakePoster([400])
    queue = make_queue(poster)
    assert not queue.send([(labels, 1, 1.0)])
    assert queue.stats.samples_failed == 1 and "HTTP 400: boom" in queue.stats.last_error


def test_write_relabel_configs_drop_series_before_sending() -> None:
    poster = FakePoster([])
    drop_debug = RelabelConfig.create(source_labels=["__name__"], regex="debug_.*", action="drop")
    queue = make_queue(poster, write_relabel_configs=(drop_debug,))
    queue.send([(make_labels({"__name__": "debug_x"}), 1, 1.0), (make_labels({"__name__": "keep"}), 1, 2.0)])
    assert [dict(ls)["__name__"] for ls in poster.bodies[0]] == ["keep"]


def test_queue_is_bounded_and_counts_what_it_drops() -> None:
    queue = make_queue(FakePoster([]), capacity=5, max_samples_per_send=100)
    labels = make_labels({"__name__": "x"})
    queue.enqueue([(labels, t, 1.0) for t in range(8)])
    assert queue.stats.samples_dropped == 3
    queue.stop()  # a stopped queue hands over what it holds without waiting for the deadline
    assert [t for _, t, _ in queue._take_batch()] == [3, 4, 5, 6, 7]


class MemoryStorage:
    def __init__(self) -> None:
        self.committed: list[tuple[Labels, int, float]] = []
        self.closed = False

    def appender(self) -> MemoryStorage._App:
        return MemoryStorage._App(self)

    def querier(self) -> MemoryQuerier:
        return MemoryQuerier()

    def close(self) -> None:
        self.closed = True

    class _App:
        def __init__(self, owner: MemoryStorage) -> None:
            self.owner, self.batch = owner, []

        def append(self, labels: Labels, t_ms: int, value: float) -> None:
            if t_ms < 0:
                raise ValueError("out of order")
            self.batch.append((labels, t_ms, value))

        def commit(self) -> None:
            self.owner.committed += self.batch

        def rollback(self) -> None:
            self.batch = []


def test_forwarding_storage_forwards_only_committed_accepted_samples() -> None:
    poster = FakePoster([])
    queue = make_queue(poster, batch_send_deadline_s=0.01)
    inner = MemoryStorage()
    storage = ForwardingStorage(inner, [queue])
    storage.start()
    labels = make_labels({"__name__": "up"})
    app = storage.appender()
    app.append(labels, 1, 1.0)
    with pytest.raises(ValueError):
        app.append(labels, -1, 1.0)
    app.commit()
    app = storage.appender()
    app.append(labels, 2, 5.0)
    app.rollback()
    storage.close()
    assert inner.committed == [(labels, 1, 1.0)] and inner.closed
    sent = [s for body in poster.bodies for s in body.values()]
    assert sent == [[(1, 1.0)]]


def test_without_receivers_the_store_appender_is_used_as_is(tmp_path: Path) -> None:
    store = open_storage(tmp_path)
    try:
        assert type(ForwardingStorage(store, []).appender()) is type(store.appender())
    finally:
        store.close()


def test_by_reference_appends_are_forwarded_with_their_labels(tmp_path: Path) -> None:
    poster = FakePoster([])
    queue = make_queue(poster, batch_send_deadline_s=0.01)
    storage = ForwardingStorage(open_storage(tmp_path), [queue])
    storage.start()
    labels = make_labels({"__name__": "up", "job": "a"})
    app = storage.appender()
    ref = app.append(labels, 1_000, 1.0)
    app.commit()
    app = storage.appender()
    assert isinstance(ref, int)
    app.append_ref(ref, 2_000, 2.0)  # type: ignore[attr-defined]
    with pytest.raises(StorageError):
        app.append_ref(ref + 999, 2_000, 2.0)  # type: ignore[attr-defined]
    app.commit()
    storage.close()
    sent = sorted(s for body in poster.bodies for series in body.values() for s in series)
    assert sent == [(1_000, 1.0), (2_000, 2.0)]


def _wait_for(predicate, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def _samples_for(now_ms: int) -> list[tuple[Labels, int, float]]:
    out = []
    for i in range(3):
        labels = make_labels({"__name__": "rw_test_total", "instance": f"i{i}", "job": "rw"})
        out += [(labels, now_ms - 60_000 + k * 15_000, float(k * (i + 1))) for k in range(4)]
    return out


@pytest.mark.integration
def test_victoriametrics_receives_and_answers_our_samples(tmp_path) -> None:  # type: ignore[no-untyped-def]
    vm = require_tool("victoria-metrics", "victoria-metrics")
    port = free_port()
    cmd = [vm, f"-httpListenAddr=127.0.0.1:{port}", f"-storageDataPath={tmp_path}", "-search.latencyOffset=0s",
           "-retentionPeriod=1y"]
    with running(cmd, ready_url=f"http://127.0.0.1:{port}/health", timeout=30):
        queue = RemoteWriteQueue(RemoteWriteConfig(url=f"http://127.0.0.1:{port}/api/v1/write"),
                                 external_labels=lambda: {"cluster": "test"})
        now_ms = int(time.time() * 1000)
        assert queue.send(_samples_for(now_ms))
        http_get(f"http://127.0.0.1:{port}/internal/force_flush")
        query = urllib.parse.urlencode({"query": "sum by (instance) (rw_test_total)", "time": f"{now_ms / 1000:.3f}"})

        def answered() -> bool:
            _, _, body = http_get(f"http://127.0.0.1:{port}/api/v1/query?{query}")
            result = json.loads(body)["data"]["result"]
            return {r["metric"]["instance"]: r["value"][1] for r in result} == {"i0": "3", "i1": "6", "i2": "9"}

        _wait_for(answered)


@pytest.mark.integration
def test_prometheus_remote_write_receiver_accepts_our_samples(tmp_path) -> None:  # type: ignore[no-untyped-def]
    prometheus = require_tool("prometheus", "prometheus")
    port = free_port()
    config = tmp_path / "p.yml"
    config.write_text("global:\n  scrape_interval: 15s\n")
    cmd = [prometheus, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'db'}",
           f"--web.listen-address=127.0.0.1:{port}", "--web.enable-remote-write-receiver"]
    with running(cmd, ready_url=f"http://127.0.0.1:{port}/-/ready", timeout=60):
        queue = RemoteWriteQueue(RemoteWriteConfig(url=f"http://127.0.0.1:{port}/api/v1/write"))
        now_ms = int(time.time() * 1000)
        assert queue.send(_samples_for(now_ms)), queue.stats.last_error
        query = urllib.parse.urlencode({"query": 'rw_test_total{instance="i2"}', "time": f"{now_ms / 1000:.3f}"})
        _, _, body = http_get(f"http://127.0.0.1:{port}/api/v1/query?{query}")
        result = json.loads(body)["data"]["result"]
        assert [r["value"][1] for r in result] == ["9"]


@pytest.mark.integration
def test_collector_forwards_scraped_samples_to_victoriametrics(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The whole path: the collector scrapes a target and VictoriaMetrics answers for it."""
    from tests.helpers import PYTHON

    vm = require_tool("victoria-metrics", "victoria-metrics")
    vm_port, target_port, our_port = free_port(), free_port(), free_port()
    app = tmp_path / "app.py"
    app.write_text(
        "import sys, time\n"
        "from metricslib import Counter, Registry\n"
        "from metricslib.serve import start_http_server\n"
        "r = Registry()\n"
        "Counter('forwarded_things', 'Things.', registry=r).inc(7)\n"
        "start_http_server(int(sys.argv[1]), registry=r)\n"
        "time.sleep(600)\n"
    )
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  external_labels: {cluster: edge-1}\n"
        f"scrape_configs:\n  - job_name: things\n    static_configs:\n      - targets: ['127.0.0.1:{target_port}']\n"
        f"remote_write:\n  - url: http://127.0.0.1:{vm_port}/api/v1/write\n    name: vm\n"
        "    queue_config: {batch_send_deadline: 1s}\n"
    )
    vm_cmd = [vm, f"-httpListenAddr=127.0.0.1:{vm_port}", f"-storageDataPath={tmp_path / 'vm'}", "-search.latencyOffset=0s"]
    our_cmd = [PYTHON, "-m", "metricslib", "collector", "--config", str(config), "--data-dir", str(tmp_path / "ours"),
               "--listen", f"127.0.0.1:{our_port}"]
    with running(vm_cmd, ready_url=f"http://127.0.0.1:{vm_port}/health"), \
            running([PYTHON, str(app), str(target_port)], ready_url=f"http://127.0.0.1:{target_port}/metrics"), \
            running(our_cmd, ready_url=f"http://127.0.0.1:{our_port}/-/ready"):
        query = urllib.parse.urlencode({"query": "forwarded_things_total"})

        def forwarded() -> list[dict[str, object]]:
            http_get(f"http://127.0.0.1:{vm_port}/internal/force_flush")
            body = http_get(f"http://127.0.0.1:{vm_port}/api/v1/query?{query}")[2]
            return json.loads(body)["data"]["result"]  # type: ignore[no-any-return]

        _wait_for(lambda: bool(forwarded()))
        [series] = forwarded()
        assert series["metric"] == {"__name__": "forwarded_things_total", "cluster": "edge-1", "instance": f"127.0.0.1:{target_port}", "job": "things"}
        assert series["value"][1] == "7"  # type: ignore[index]
        own = http_get(f"http://127.0.0.1:{our_port}/metrics")[2].decode()
        assert 'metricslib_remote_write_samples_total{remote="vm",outcome="sent"}' in own or 'outcome="sent",remote="vm"' in own


def test_url_credentials_become_basic_auth_and_never_show_in_errors_or_logs(
        caplog: pytest.LogCaptureFixture) -> None:
    import http.server
    import threading

    seen: list[tuple[str, str | None]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            seen.append((self.path, self.headers.get("Authorization")))
            self.send_response(400)
            self.send_header("Content-Length", "3")
            self.end_headers()
            self.wfile.write(b"bad")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        cfg = RemoteWriteConfig(url=f"http://al%3Aice:S3CRET%40x@127.0.0.1:{port}/api/v1/write")
        queue = RemoteWriteQueue(cfg, sleep=lambda s: None)
        assert not queue.send([(make_labels({"__name__": "up"}), 1, 1.0)])
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert seen == [("/api/v1/write", "Basic YWw6aWNlOlMzQ1JFVEB4")]  # al:ice:S3CRET@x
    refused = RemoteWriteQueue(RemoteWriteConfig(url=f"http://u:S3CRET@127.0.0.1:{free_port()}/w"))
    with pytest.raises(OSError) as failure:
        refused.poster.post(refused.config.url, b"", {}, 2.0)
    shown = " ".join([r.getMessage() for r in caplog.records] + [queue.stats.last_error, str(failure.value)])
    assert "al%3Aice:xxxxx@127.0.0.1" in shown
    assert "S3CRET" not in shown
