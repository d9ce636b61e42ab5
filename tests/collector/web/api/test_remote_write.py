"""The remote-write receiver: sans-I/O against a real store, then against real senders
(our own queue and a real Prometheus 2.42), and its answers beside Prometheus's own receiver."""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from metricslib.collector.model import Labels, Matcher, make_labels
from metricslib.collector.storage import Store, open_storage
from metricslib.collector.storage.remote.proto import encode_write_request, snappy_compress
from metricslib.collector.storage.remote.write import RemoteWriteConfig, RemoteWriteQueue
from metricslib.collector.web.api.remote_write import RemoteWriteReceiver
from metricslib.collector.web.api.v1 import Request
from tests.helpers import PYTHON, free_port, http_get, require_tool, running

A = make_labels({"__name__": "rw_total", "job": "a"})
B = make_labels({"__name__": "rw_total", "job": "b"})


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_storage(tmp_path / "data", background=False, retention_ms=10**15)
    yield s
    s.close()


def body(series: list[tuple[Labels, list[tuple[int, float]]]]) -> bytes:
    return snappy_compress(encode_write_request(series))


def post(receiver: RemoteWriteReceiver, data: bytes, method: str = "POST") -> tuple[int, str]:
    response = receiver.handle(Request(method, "/api/v1/write", {}, data))
    return response.status, response.body.decode()


def stored(store: Store, job: str) -> list[tuple[int, float]]:
    series = store.querier().select([Matcher("job", "=", job)], 0, 10**13)
    return [(int(t), float(v)) for s in series for t, v in zip(s.timestamps, s.values, strict=True)]


def test_samples_are_committed_through_the_appender(store: Store) -> None:
    receiver = RemoteWriteReceiver(store.appender, enabled=True)
    assert post(receiver, body([(A, [(1_000, 1.0), (2_000, 2.0)]), (B, [(1_000, 5.0)])])) == (204, "")
    assert stored(store, "a") == [(1_000, 1.0), (2_000, 2.0)]
    assert stored(store, "b") == [(1_000, 5.0)]
    stats = store.stats()
    assert (stats.series, stats.samples, stats.samples_appended) == (2, 3, 3)


def test_labels_are_canonicalised_as_sent_in_any_order(store: Store) -> None:
    receiver = RemoteWriteReceiver(store.appender, enabled=True)
    raw = (("job", "a"), ("empty", ""), ("__name__", "rw_total"))
    assert post(receiver, body([(raw, [(1_000, 1.0)])]))[0] == 204
    [series] = store.querier().select([Matcher("job", "=", "a")], 0, 10**13)
    assert series.labels == A


def test_series_share_their_label_strings(store: Store) -> None:
    receiver = RemoteWriteReceiver(store.appender, enabled=True)
    assert post(receiver, body([(A, [(1_000, 1.0)])]))[0] == 204
    assert post(receiver, body([(make_labels({"__name__": "rw_total", "job": "c"}), [(1_000, 1.0)])]))[0] == 204
    first, second = (s.labels for s in store.querier().select([Matcher("__name__", "=", "rw_total")], 0, 10**13))
    assert first[0][1] is second[0][1] and first[0][0] is second[0][0]  # one "rw_total", one "__name__"


def test_an_out_of_order_sample_rejects_the_whole_request(store: Store) -> None:
    receiver = RemoteWriteReceiver(store.appender, enabled=True)
    assert post(receiver, body([(A, [(5_000, 1.0)])]))[0] == 204
    status, text = post(receiver, body([(B, [(1_000, 1.0)]), (A, [(4_000, 2.0)])]))
    assert status == 400
    assert text.startswith("out of order sample") and 'job="a"' in text
    assert stored(store, "b") == []  # rolled back, as Prometheus does
    # a different value at the same time is refused too; the same value is a harmless resend
    assert post(receiver, body([(A, [(5_000, 9.0)])]))[0] == 400
    assert post(receiver, body([(A, [(5_000, 1.0)])]))[0] == 204


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not snappy at all", "remote write body: snappy"),
        (snappy_compress(b"\x0a\x05\x0a"), "remote write body: length"),
        (body([((("job", ""),), [(1, 1.0)])]), "remote write series: a series needs at least one"),
        (body([((("a", "1"), ("a", "2")), [(1, 1.0)])]), "remote write series: label name 'a' appears twice"),
    ],
)
def test_bad_bodies_answer_400_with_the_reason(store: Store, data: bytes, message: str) -> None:
    status, text = post(RemoteWriteReceiver(store.appender, enabled=True), data)
    assert status == 400 and text.startswith(message), text
    assert store.querier().select([], 0, 10**13) == []


def test_off_by_default_and_post_only(store: Store) -> None:
    status, text = post(RemoteWriteReceiver(store.appender, enabled=False), body([(A, [(1, 1.0)])]))
    assert status == 404 and "--web.enable-remote-write-receiver" in text
    assert post(RemoteWriteReceiver(store.appender, enabled=True), b"", "GET")[0] == 405
    assert stored(store, "a") == []


# --- against real programs --------------------------------------------------------------


def _post_http(url: str, data: bytes) -> int:
    req = urllib.request.Request(url, data=data, method="POST", headers={
        "Content-Type": "application/x-protobuf", "Content-Encoding": "snappy",
        "X-Prometheus-Remote-Write-Version": "0.1.0"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        exc.close()
        return int(exc.code)


def _ours(tmp_path: Path, port: int, config: Path, *extra: str) -> list[str]:
    return [PYTHON, "-m", "metricslib", "collector", "--config", str(config), "--data-dir", str(tmp_path / "ours"),
            "--listen", f"127.0.0.1:{port}", *extra]


def _query(base: str, expr: str, t_s: float) -> list[dict[str, object]]:
    q = urllib.parse.urlencode({"query": expr, "time": f"{t_s:.3f}"})
    return json.loads(http_get(f"{base}/api/v1/query?{q}")[2])["data"]["result"]  # type: ignore[no-any-return]


@pytest.mark.integration
def test_same_answers_as_prometheus_for_the_same_requests(tmp_path: Path) -> None:
    prometheus = require_tool("prometheus", "prometheus")
    config = tmp_path / "p.yml"
    config.write_text("global:\n  scrape_interval: 15s\n")
    p_port, o_port = free_port(), free_port()
    now = int(time.time() * 1000)
    requests = [
        ("first samples", body([(A, [(now - 30_000, 1.0), (now - 15_000, 2.0)])])),
        ("an exact resend", body([(A, [(now - 15_000, 2.0)])])),
        ("out of order", body([(A, [(now - 20_000, 3.0)])])),
        ("same time, other value", body([(A, [(now - 15_000, 7.0)])])),
        ("newer samples", body([(A, [(now, 4.0)]), (B, [(now, 1.0)])])),
        ("not snappy", b"garbage"),
        ("snappy, not protobuf", snappy_compress(b"\x0a\x05\x0a")),
    ]
    with ExitStack() as stack:
        stack.enter_context(running(
            [prometheus, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'p'}",
             f"--web.listen-address=127.0.0.1:{p_port}", "--web.enable-remote-write-receiver"],
            ready_url=f"http://127.0.0.1:{p_port}/-/ready", timeout=60))
        stack.enter_context(running(_ours(tmp_path, o_port, config, "--web.enable-remote-write-receiver"),
                                    ready_url=f"http://127.0.0.1:{o_port}/-/ready", timeout=60))
        answers = {
            name: (_post_http(f"http://127.0.0.1:{p_port}/api/v1/write", data),
                   _post_http(f"http://127.0.0.1:{o_port}/api/v1/write", data))
            for name, data in requests
        }
        assert {name: theirs for name, (theirs, _) in answers.items()} == {
            "first samples": 204, "an exact resend": 204, "out of order": 400,
            "same time, other value": 400, "newer samples": 204, "not snappy": 400, "snappy, not protobuf": 400,
        }
        assert {name: ours for name, (_, ours) in answers.items()} == {n: t for n, (t, _) in answers.items()}
        for base in (f"http://127.0.0.1:{p_port}", f"http://127.0.0.1:{o_port}"):
            result = _query(base, "sum_over_time(rw_total[1m])", now / 1000)
            assert {r["metric"]["job"]: r["value"][1] for r in result} == {"a": "7", "b": "1"}  # type: ignore[index]


@pytest.mark.integration
def test_receiver_is_off_unless_enabled(tmp_path: Path) -> None:
    config = tmp_path / "p.yml"
    config.write_text("global:\n  scrape_interval: 15s\n")
    port = free_port()
    with running(_ours(tmp_path, port, config), ready_url=f"http://127.0.0.1:{port}/-/ready", timeout=60):
        assert _post_http(f"http://127.0.0.1:{port}/api/v1/write", body([(A, [(1, 1.0)])])) == 404


@pytest.mark.integration
def test_our_remote_write_queue_delivers_to_our_receiver(tmp_path: Path) -> None:
    config = tmp_path / "p.yml"
    config.write_text("global:\n  scrape_interval: 15s\n")
    port = free_port()
    with running(_ours(tmp_path, port, config, "--web.enable-remote-write-receiver"),
                 ready_url=f"http://127.0.0.1:{port}/-/ready", timeout=60):
        queue = RemoteWriteQueue(RemoteWriteConfig(url=f"http://127.0.0.1:{port}/api/v1/write"),
                                 external_labels=lambda: {"cluster": "c1"})
        now = int(time.time() * 1000)
        assert queue.send([(A, now - 15_000, 1.0), (A, now, 2.0), (B, now, 3.0)]), queue.stats.last_error
        result = _query(f"http://127.0.0.1:{port}", "rw_total", now / 1000)
        assert sorted((r["metric"]["job"], r["metric"]["cluster"], r["value"][1]) for r in result) == [  # type: ignore[index]
            ("a", "c1", "2"), ("b", "c1", "3")]


@pytest.mark.integration
def test_a_real_prometheus_remote_writes_its_scrapes_to_us(tmp_path: Path) -> None:
    """Prometheus scrapes itself and forwards everything to our receiver."""
    prometheus = require_tool("prometheus", "prometheus")
    p_port, o_port = free_port(), free_port()
    ours_config = tmp_path / "ours.yml"
    ours_config.write_text("global:\n  scrape_interval: 15s\n")
    config = tmp_path / "p.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  external_labels: {replica: r1}\n"
        f"scrape_configs:\n  - job_name: self\n    static_configs:\n      - targets: ['127.0.0.1:{p_port}']\n"
        f"remote_write:\n  - url: http://127.0.0.1:{o_port}/api/v1/write\n"
        "    queue_config: {batch_send_deadline: 1s, min_backoff: 100ms}\n"
    )
    with ExitStack() as stack:
        stack.enter_context(running(_ours(tmp_path, o_port, ours_config, "--web.enable-remote-write-receiver"),
                                    ready_url=f"http://127.0.0.1:{o_port}/-/ready", timeout=60))
        stack.enter_context(running(
            [prometheus, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'p'}",
             f"--web.listen-address=127.0.0.1:{p_port}"],
            ready_url=f"http://127.0.0.1:{p_port}/-/ready", timeout=60))
        deadline = time.monotonic() + 60
        ours: list[dict[str, object]] = []
        while time.monotonic() < deadline:
            ours = _query(f"http://127.0.0.1:{o_port}", 'count_over_time(up{job="self"}[5m])', time.time())
            if ours and float(ours[0]["value"][1]) >= 3:  # type: ignore[index]
                break
            time.sleep(0.5)
        assert ours and float(ours[0]["value"][1]) >= 3, ours  # type: ignore[index]
        assert ours[0]["metric"] == {"instance": f"127.0.0.1:{p_port}", "job": "self", "replica": "r1"}
        # Prometheus's own count of what it sent, failed or dropped: nothing failed.
        theirs = _query(f"http://127.0.0.1:{p_port}", "sum(prometheus_remote_storage_samples_failed_total)", time.time())
        assert [r["value"][1] for r in theirs] == ["0"]  # type: ignore[index]
        # Every series Prometheus has, we have too (names of its own metrics, a few hundred).
        names_p = set(json.loads(http_get(f"http://127.0.0.1:{p_port}/api/v1/label/__name__/values")[2])["data"])
        names_o = set(json.loads(http_get(f"http://127.0.0.1:{o_port}/api/v1/label/__name__/values")[2])["data"])
        assert len(names_p) > 100 and names_p - names_o <= {"prometheus_remote_storage_highest_timestamp_in_seconds"}
