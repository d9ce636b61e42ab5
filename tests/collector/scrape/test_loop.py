from __future__ import annotations

import base64
import itertools
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metricslib.collector.config.config import ScrapeConfig, parse_config
from metricslib.collector.discovery.targetgroup import TargetGroup
from metricslib.collector.model import is_stale_nan
from metricslib.collector.scrape.loop import ACCEPT_HEADER, ScrapeLoop
from metricslib.collector.scrape.targets import build_targets
from metricslib.collector.scrape.transport import BodyTooLarge
from tests.collector.apps.fakes import Clock, FakeStorage, FakeTransport

URL = "http://127.0.0.1:9000/metrics"
BODY = textwrap.dedent("""\
    # HELP http_requests_total Requests served.
    # TYPE http_requests_total counter
    http_requests_total{code="200"} 10
    http_requests_total{code="500"} 2
    # TYPE temperature gauge
    temperature 21.5
""")


def job(extra: str = "", base_dir: str | None = None) -> ScrapeConfig:
    text = "scrape_configs:\n  - job_name: app\n    scrape_interval: 10s\n    scrape_timeout: 2s\n"
    text += textwrap.indent(textwrap.dedent(extra), "    ")
    return parse_config(text, "test.yml", base_dir=base_dir).scrape_configs[0]


def make_loop(sc: ScrapeConfig, storage: FakeStorage, transport: FakeTransport, clock: Clock,
              address: str = "127.0.0.1:9000", labels: tuple[tuple[str, str], ...] = ()) -> ScrapeLoop:
    targets, dropped = build_targets(sc, [TargetGroup("t", ((("__address__", address),),), labels)])
    assert not dropped
    return ScrapeLoop(targets[0], sc, storage, transport, clock=clock)  # type: ignore[arg-type]


@pytest.fixture
def env() -> tuple[FakeStorage, FakeTransport, Clock]:
    return FakeStorage(), FakeTransport(), Clock()


def test_successful_scrape_stores_samples_with_job_and_instance(env: tuple[FakeStorage, FakeTransport, Clock]) -> None:
    storage, transport, clock = env
    transport.set_body(URL, BODY)
    loop = make_loop(job(), storage, transport, clock)
    assert loop.scrape_once() is True
    t_ms = int(clock.now * 1000)
    assert storage.series("http_requests_total", code="200", job="app", instance="127.0.0.1:9000") == [(t_ms, 10.0)]
    assert storage.last("temperature") == 21.5
    assert storage.labelsets("temperature") == [
        {"__name__": "temperature", "job": "app", "instance": "127.0.0.1:9000"}]


def test_synthetic_series(env: tuple[FakeStorage, FakeTransport, Clock]) -> None:
    storage, transport, clock = env
    transport.set_body(URL, BODY)
    loop = make_loop(job(), storage, transport, clock)
    loop.scrape_once()
    assert storage.last("up", job="app", instance="127.0.0.1:9000") == 1.0
    assert storage.last("scrape_samples_scraped") == 3.0
    assert storage.last("scrape_samples_post_metric_relabeling") == 3.0
    assert storage.last("scrape_series_added") == 3.0
    duration = storage.last("scrape_duration_seconds")
    assert duration is not None and 0 <= duration < 2
    clock.advance(10)
    loop.scrape_once()
    assert storage.last("scrape_series_added") == 0.0
    assert loop.target.health == "up" and loop.target.last_error == ""
    assert loop.target.last_scrape == clock.now


def test_request_headers_and_timeout(env: tuple[FakeStorage, FakeTransport, Clock]) -> None:
    storage, transport, clock = env
    transport.set_body(URL, BODY)
    make_loop(job(), storage, transport, clock).scrape_once()
    url, headers, timeout, opts = transport.requests[0]
    assert url == URL
    assert headers["Accept"] == ACCEPT_HEADER and "openmetrics-text" in headers["Accept"]
    assert headers["Accept-Encoding"] == "gzip"
    assert headers["X-Prometheus-Scrape-Timeout-Seconds"] == "2"
    assert timeout == 2.0
    assert opts["follow_redirects"] is True and opts["max_body"] == 0


def test_params_and_param_labels_build_the_url(env: tuple[FakeStorage, FakeTransport, Clock]) -> None:
    storage, transport, clock = env
    sc = job("""\
        metrics_path: /probe
        params:
          module: [http_2xx]
          target: [default]
        relabel_configs:
          - source_labels: [__address__]
            target_label: __param_target
          - target_label: __address__
            replacement: 127.0.0.1:9115
    """)
    loop = make_loop(sc, storage, transport, clock, address="example.invalid")
    assert loop.target.url == "http://127.0.0.1:9115/probe?module=http_2xx&target=example.invalid"
    assert loop.target.labels["instance"] == "127.0.0.1:9115"


def test_basic_auth_and_bearer_token_headers(tmp_path: Path, env: tuple[FakeStorage, FakeTransport, Clock]) -> None:
    storage, transport, clock = env
    transport.set_body(URL, BODY)
    make_loop(job("basic_auth: {username: u, password: p}\n"), storage, transport, clock).scrape_once()
    assert transport.requests[-1][1]["Authorization"] == "Basic " + base64.b64encode(b"u:p").decode()
    (tmp_path / "token").write_text("abc\n")
    sc = job("bearer_token_file: token\n", base_dir=str(tmp_path))
    make_loop(sc, storage, transport, clock).scrape_once()
    assert transport.requests[-1][1]["Authorization"] == "Bearer abc"
    (tmp_path / "token").write_text("rotated\n")  # read at scrape time: rotation needs no reload
    make_loop(sc, storage, transport, clock).scrape_once()
    assert transport.requests[-1][1]["Authorization"] == "Bearer rotated"


def test_gzip_body_is_decoded(env: tuple[FakeStorage, FakeTransport, Clock]) -> None:
    storage, transport, clock = env
    transport.set_body(URL, BODY, gzipped=True)
    assert make_loop(job(), storage, transport, clock).scrape_once()
    assert storage.last("temperature") == 21.5


def test_openmetrics_body(env: tuple[FakeStorage, FakeTransport, Clock]) -> None:
    storage, transport, clock = env
    body = "# TYPE jobs counter\n# UNIT jobs_seconds seconds\njobs_total 3\n# EOF\n"
    transport.set_body(URL, body, content_type="application/openmetrics-text; version=1.0.0; charset=utf-8")
    loop = make_loop(job(), storage, transport, clock)
    assert loop.scrape_once(), loop.target.last_error
    assert storage.last("jobs_total") == 3.0


def test_series_that_disappears_gets_a_stale_marker(env: tuple[FakeStorage, FakeTransport, Clock]) -> None:
    storage, transport, clock = env
    transport.set_body(URL, BODY)
    loop = make_loop(job(), storage, transport, clock)
    loop.scrape_once()
    clock.advance(10)
    transport.set_body(URL, 'http_requests_total{code="200"} 11\ntemperature 22\n')
    loop.scrape_once()
    gone = storage.series("http_requests_total", code="500")
    assert len(gone) == 2 and gone[1][0] == int(clock.now * 1000) and is_stale_nan(gone[1][1])
    assert storage.last("http_requests_total", code="200") == 11.0
    clock.advance(10)
    loop.scrape_once()  # no second marker for a series already gone
    assert len(storage.series("http_requests_total", code="500")) == 2


def test_failed_scrape_marks_every_previous_series_stale(env: tuple[FakeStorage, FakeTransport, Clock]) -> None:
    storage, transport, clock = env
    transport.set_body(URL, BODY)
    loop = make_loop(job(), storage, transport, clock)
    loop.scrape_once()
    clock.advance(10)
    transport.responses[URL] = (500, {}, b"oops")
    assert loop.scrape_once() is False
    for code in ("200", "500"):
        assert storage.stale("http_requests_total", code=code)
    assert storage.stale("temperature")
    assert storage.last("up") == 0.0 and storage.last("scrape_samples_scraped") == 0.0
    assert loop.target.health == "down"
    assert loop.target.last_error == "server returned HTTP status 500"
    clock.advance(10)
    transport.set_body(URL, BODY)
    assert loop.scrape_once() is True
    assert storage.last("temperature") == 21.5 and storage.last("scrape_series_added") == 3.0


def test_mark_stale_when_target_goes_away_includes_report_series(env: tuple[FakeStorage, FakeTransport, Clock]) -> None:
    storage, transport, clock = env
    transport.set_body(URL, BODY)
    loop = make_loop(job(), storage, transport, clock)
    loop.scrape_once()
    clock.advance(3)
    loop.mark_stale()
    for name in ("temperature", "up", "scrape_duration_seconds", "scrape_series_added"):
        assert storage.stale(name), name


def test_mark_stale_before_any_scrape_writes_nothing(env: tuple[FakeStorage, FakeTransport, Clock]) -> None:
    storage, transport, clock = env
    make_loop(job(), storage, transport, clock).mark_stale()
    assert storage.samples == {}


def test_conflicting_labels_get_exported_prefix(env: tuple[FakeStorage, FakeTransport, Clock]) -> None:
    storage, transport, clock = env
    transport.set_body(URL, 'm{job="inner",instance="x",exported_job="taken"} 1\n')
    make_loop(job(), storage, transport, clock).scrape_once()
    assert storage.labelsets("m") == [{
        "__name__": "m", "job": "app", "instance": "127.0.0.1:9000",
        "exported_instance": "x", "exported_exported_job": "inner", "exported_job": "taken"}]


def test_honor_labels_keeps_exposed_values(env: tuple[FakeStorage, FakeTransport, Clock]) -> None:
    storage, transport, clock = env
    transport.set_body(URL, 'm{job="inner"} 1\nn 2\n')
    make_loop(job("honor_labels: true\n"), storage, transport, clock).scrape_once()
    assert storage.labelsets("m") == [{"__name__": "m", "job": "inner", "instance": "127.0.0.1:9000"}]
    assert storage.labelsets("n") == [{"__name__": "n", "job": "app", "instance": "127.0.0.1:9000"}]


def test_honor_timestamps(env: tuple[FakeStorage, FakeTransport, Clock]) -> None:
    storage, transport, clock = env
    transport.set_body(URL, "m 1 1600000000000\n")
    make_loop(job(), storage, transport, clock).scrape_once()
    assert storage.series("m") == [(1_600_000_000_000, 1.0)]
    other = FakeStorage()
    make_loop(job("honor_timestamps: false\n"), other, transport, clock).scrape_once()
    assert other.series("m") == [(int(clock.now * 1000), 1.0)]


def test_series_with_own_timestamps_get_no_stale_markers(env: tuple[FakeStorage, FakeTransport, Clock]) -> None:
    storage, transport, clock = env
    transport.set_body(URL, "m 1 1600000000000\nn 1\n")
    loop = make_loop(job(), storage, transport, clock)
    loop.scrape_once()
    clock.advance(10)
    transport.set_body(URL, "other 1\n")
    loop.scrape_once()
    assert storage.series("m") == [(1_600_000_000_000, 1.0)]
    assert storage.stale("n")


def test_metric_relabel_configs_apply_to_samples(env: tuple[FakeStorage, FakeTransport, Clock]) -> None:
    storage, transport, clock = env
    transport.set_body(URL, BODY)
    sc = job("""\
        metric_relabel_configs:
          - source_labels: [__name__]
            regex: temperature
            action: drop
          - source_labels: [code]
            target_label: status
          - regex: code
            action: labeldrop
    """)
    make_loop(sc, storage, transport, clock).scrape_once()
    assert storage.labelsets("temperature") == []
    assert sorted(d["status"] for d in storage.labelsets("http_requests_total")) == ["200", "500"]
    assert storage.last("scrape_samples_scraped") == 3.0
    assert storage.last("scrape_samples_post_metric_relabeling") == 2.0


def test_sample_limit_fails_the_whole_scrape(env: tuple[FakeStorage, FakeTransport, Clock]) -> None:
    storage, transport, clock = env
    transport.set_body(URL, "a 1\n")
    loop = make_loop(job("sample_limit: 2\n"), storage, transport, clock)
    assert loop.scrape_once()
    clock.advance(10)
    transport.set_body(URL, BODY)
    assert loop.scrape_once() is False
    assert "sample limit exceeded" in loop.target.last_error
    assert storage.labelsets("temperature") == []  # nothing of the failed scrape is kept
    assert storage.stale("a")
    assert storage.last("up") == 0.0
    assert storage.last("scrape_samples_scraped") == 3.0


def test_sample_limit_counts_after_relabelling(env: tuple[FakeStorage, FakeTransport, Clock]) -> None:
    storage, transport, clock = env
    transport.set_body(URL, BODY)
    sc = job("sample_limit: 2\nmetric_relabel_configs:\n  - source_labels: [__name__]\n    regex: temperature\n"
             "    action: drop\n")
    assert make_loop(sc, storage, transport, clock).scrape_once()


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("label_limit: 3\n", "label_limit exceeded"),
        ("label_name_length_limit: 3\n", "label_name_length_limit exceeded"),
        ("label_value_length_limit: 2\n", "label_value_length_limit exceeded"),
    ],
)
def test_label_limits_fail_the_scrape(env: tuple[FakeStorage, FakeTransport, Clock], setting: str, message: str) -> None:
    storage, transport, clock = env
    transport.set_body(URL, BODY)
    loop = make_loop(job(setting), storage, transport, clock)
    assert loop.scrape_once() is False
    assert message in loop.target.last_error
    assert storage.labelsets("http_requests_total") == []


def test_body_size_limit_applies_to_the_decompressed_body(env: tuple[FakeStorage, FakeTransport, Clock]) -> None:
    storage, transport, clock = env
    transport.set_body(URL, BODY + "# " + "x" * 5000 + "\n", gzipped=True)
    loop = make_loop(job("body_size_limit: 1KB\n"), storage, transport, clock)
    assert loop.scrape_once() is False
    assert "body size limit exceeded" in loop.target.last_error
    assert transport.requests[0][3]["max_body"] == 1024


def test_transport_body_limit_error_fails_scrape(env: tuple[FakeStorage, FakeTransport, Clock]) -> None:
    storage, transport, clock = env
    transport.responses[URL] = BodyTooLarge("body size limit exceeded (1024 bytes)")
    loop = make_loop(job("body_size_limit: 1KB\n"), storage, transport, clock)
    assert loop.scrape_once() is False and "body size limit" in loop.target.last_error


def test_timeout_fails_scrape_with_deadline_error(env: tuple[FakeStorage, FakeTransport, Clock]) -> None:
    storage, transport, clock = env
    transport.responses[URL] = TimeoutError("timed out")
    loop = make_loop(job(), storage, transport, clock)
    assert loop.scrape_once() is False
    assert loop.target.last_error == f'Get "{URL}": context deadline exceeded'
    assert storage.last("up") == 0.0


def test_connection_refused_is_reported(env: tuple[FakeStorage, FakeTransport, Clock]) -> None:
    storage, transport, clock = env
    loop = make_loop(job(), storage, transport, clock)
    assert loop.scrape_once() is False
    assert loop.target.last_error == f'Get "{URL}": dial tcp 127.0.0.1:9000: connect: connection refused'


def test_malformed_body_fails_only_that_scrape(env: tuple[FakeStorage, FakeTransport, Clock]) -> None:
    storage, transport, clock = env
    transport.set_body(URL, "good 1\nthis is { not valid\n")
    loop = make_loop(job(), storage, transport, clock)
    assert loop.scrape_once() is False
    assert "line 2" in loop.target.last_error
    assert storage.labelsets("good") == []
    assert storage.last("up") == 0.0
    clock.advance(10)
    transport.set_body(URL, "good 1\n")
    assert loop.scrape_once() is True


def test_invalid_utf8_body_fails_the_scrape(env: tuple[FakeStorage, FakeTransport, Clock]) -> None:
    storage, transport, clock = env
    transport.responses[URL] = (200, {"content-type": "text/plain"}, b"m{a=\"\xff\"} 1\n")
    loop = make_loop(job(), storage, transport, clock)
    assert loop.scrape_once() is False and "UTF-8" in loop.target.last_error


def test_out_of_order_samples_are_skipped_not_fatal(env: tuple[FakeStorage, FakeTransport, Clock]) -> None:
    storage, transport, clock = env
    transport.set_body(URL, "m 1 1600000000000\nn 1\n")
    loop = make_loop(job(), storage, transport, clock)
    loop.scrape_once()
    clock.advance(10)
    transport.set_body(URL, "m 2 1500000000000\nn 2\n")
    assert loop.scrape_once() is True
    assert loop.out_of_order == 1
    assert storage.last("n") == 2.0


def test_metadata_is_kept_per_target(env: tuple[FakeStorage, FakeTransport, Clock]) -> None:
    storage, transport, clock = env
    transport.set_body(URL, BODY)
    loop = make_loop(job(), storage, transport, clock)
    loop.scrape_once()
    assert loop.target.metadata["http_requests_total"] == ("counter", "Requests served.", "")
    assert loop.target.metadata["temperature"] == ("gauge", "", "")


def test_label_cache_maps_repeated_series_once(env: tuple[FakeStorage, FakeTransport, Clock]) -> None:
    storage, transport, clock = env
    transport.set_body(URL, BODY)
    loop = make_loop(job(), storage, transport, clock)
    loop.scrape_once()
    cached = dict(loop._cache)
    clock.advance(10)
    loop.scrape_once()
    assert loop._cache == cached
    assert all(loop._cache[k] is cached[k] for k in cached)  # reused, not rebuilt


def test_target_api_dict_after_scrape(env: tuple[FakeStorage, FakeTransport, Clock]) -> None:
    storage, transport, clock = env
    transport.set_body(URL, BODY)
    loop = make_loop(job(), storage, transport, clock, labels=(("team", "a"),))
    before = loop.target.api_dict()
    assert before["health"] == "unknown" and before["lastScrape"] == "0001-01-01T00:00:00Z"
    loop.scrape_once()
    data = loop.target.api_dict()
    assert data["health"] == "up" and data["lastError"] == ""
    assert data["labels"] == {"instance": "127.0.0.1:9000", "job": "app", "team": "a"}
    assert data["discoveredLabels"]["__address__"] == "127.0.0.1:9000"
    assert data["scrapeUrl"] == URL and data["scrapePool"] == "app"
    assert data["scrapeInterval"] == "10s" and data["scrapeTimeout"] == "2s"
    assert str(data["lastScrape"]).startswith("2023-11-14T22:13:20")
    assert isinstance(data["lastScrapeDuration"], float)


class SteppingEvent:
    """A stop event whose wait() advances the fake clock instead of sleeping."""

    def __init__(self, clock: Clock, rounds: int) -> None:
        self.clock = clock
        self.rounds = rounds
        self.waits: list[float] = []

    def wait(self, timeout: float) -> bool:
        self.waits.append(timeout)
        if len(self.waits) > self.rounds:
            return True
        self.clock.advance(timeout)
        return False


def test_run_scrapes_at_the_targets_offset_in_every_interval(env: tuple[FakeStorage, FakeTransport, Clock]) -> None:
    storage, transport, clock = env
    clock.now = 1_700_000_000.123
    transport.set_body(URL, "m 1\n")
    loop = make_loop(job(), storage, transport, clock)
    offset = loop.target.offset_ns() // 1_000_000
    stop = SteppingEvent(clock, rounds=4)
    loop.run(stop, seed=0)  # type: ignore[arg-type]
    times = [t for t, _ in storage.series("up")]
    assert len(times) == 4
    assert all((t - offset) % 10_000 == 0 for t in times)  # same phase in every interval
    assert [b - a for a, b in itertools.pairwise(times)] == [10_000] * 3
    assert 0 <= stop.waits[0] < 10  # the first scrape waits at most one interval


def test_run_writes_markers_on_exit_when_asked(env: tuple[FakeStorage, FakeTransport, Clock]) -> None:
    storage, transport, clock = env
    transport.set_body(URL, "m 1\n")
    loop = make_loop(job(), storage, transport, clock)
    loop.stale_on_exit = True
    loop.run(SteppingEvent(clock, rounds=1), seed=0)  # type: ignore[arg-type]
    assert storage.stale("m") and storage.stale("up")


def test_a_store_that_fails_on_commit_marks_the_target_down(env: tuple[FakeStorage, FakeTransport, Clock]) -> None:
    _, transport, clock = env
    transport.set_body(URL, "m 1\n")

    class Closed(FakeStorage):
        def appender(self):  # type: ignore[no-untyped-def]
            app = super().appender()

            def fail() -> None:
                raise RuntimeError("store is closed")

            app.commit = fail  # type: ignore[method-assign]
            return app

    loop = make_loop(job(), Closed(), transport, clock)
    assert loop.scrape_once() is False
    assert loop.target.last_error == "storage: store is closed"


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(st.none(), st.sets(st.sampled_from("abcdef"))), min_size=1, max_size=8))
def test_staleness_property(rounds: list[set[str] | None]) -> None:
    """Whatever sequence of bodies (None = failed scrape), a series is marked stale
    exactly when it was in the previous successful scrape and is not in this one."""
    storage, transport, clock = FakeStorage(), FakeTransport(), Clock()
    loop = make_loop(job(), storage, transport, clock)
    previous: set[str] = set()
    for present in rounds:
        clock.advance(10)
        t_ms = int(clock.now * 1000)
        if present is None:
            transport.responses[URL] = (500, {}, b"")
        else:
            transport.set_body(URL, "".join(f"m_{name} 1\n" for name in sorted(present)))
        assert loop.scrape_once() is (present is not None)
        current = present or set()
        for name in "abcdef":
            at_t = [v for t, v in storage.series(f"m_{name}") if t == t_ms]
            if name in current:
                assert at_t == [1.0]
            elif name in previous:
                assert len(at_t) == 1 and is_stale_nan(at_t[0])
            else:
                assert at_t == []
        previous = current


def test_a_series_repeated_in_one_scrape_keeps_its_first_sample_and_is_counted(
        env: tuple[FakeStorage, FakeTransport, Clock], caplog: pytest.LogCaptureFixture) -> None:
    storage, transport, clock = env
    # Prometheus 3 counts every repeat of a series without its own timestamp,
    # same value or not, in prometheus_target_scrapes_sample_duplicate_timestamp_total.
    transport.set_body(URL, 'a 1\na 2\nb{x="1"} 1\nb{x="1"} 1\nc 5\nd 1 1600000000000\nd 2 1600000001000\n')
    loop = make_loop(job("honor_timestamps: true\n"), storage, transport, clock)
    assert loop.scrape_once() is True
    t_ms = int(clock.now * 1000)
    assert storage.series("a") == [(t_ms, 1.0)] and storage.series("b") == [(t_ms, 1.0)]
    assert storage.series("d") == [(1600000000000, 1.0), (1600000001000, 2.0)]  # own timestamps: no duplicates
    assert loop.counters.duplicate_timestamp == 2
    assert storage.last("scrape_samples_scraped") == 7.0
    assert any("2 samples dropped" in r.getMessage() and URL in r.getMessage() for r in caplog.records)
    clock.advance(10)
    assert loop.scrape_once() is True  # the same body again: counted again
    assert loop.counters.duplicate_timestamp == 4
    assert storage.series("a") == [(t_ms, 1.0), (t_ms + 10_000, 1.0)]
