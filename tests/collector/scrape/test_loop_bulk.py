"""The scrape loop's bulk path: a body with the last scrape's series appends one column.

Every test runs the same scrapes twice, into two real stores: once as the
collector runs (bulk path allowed) and once through an appender that lacks
``append_column`` (every sample checked one by one). What ends up stored, and
what the loop reports, must be identical. ``parsed`` counts the bodies the
bulk side read line by line: from the third body of an unchanged shape on,
the values are read without the line parser (``scrape/shape.py``).
"""

from __future__ import annotations

import math
import struct
import textwrap
from collections.abc import Mapping
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metricslib.collector.config.config import ScrapeConfig, parse_config
from metricslib.collector.discovery.targetgroup import TargetGroup
from metricslib.collector.model import STALE_NAN, Matcher, make_labels
from metricslib.collector.scrape.loop import ScrapeLoop
from metricslib.collector.scrape.parser import ExpositionParser, Parsed
from metricslib.collector.scrape.shape import BodyShape
from metricslib.collector.scrape.targets import build_targets
from metricslib.collector.storage import Store, open_storage
from metricslib.collector.storage.base import Appender, Querier
from tests.collector.apps.fakes import Clock, FakeTransport

URL = "http://127.0.0.1:9000/metrics"


class _Checked:
    """An appender with only the checked path (no ``append_column``)."""

    def __init__(self, inner: Appender) -> None:
        self._inner = inner

    def append(self, labels: tuple[tuple[str, str], ...], t_ms: int, value: float) -> object:
        return self._inner.append(labels, t_ms, value)

    def append_ref(self, ref: int, t_ms: int, value: float) -> None:
        self._inner.append_ref(ref, t_ms, value)  # type: ignore[attr-defined]

    def commit(self) -> None:
        self._inner.commit()

    def rollback(self) -> None:
        self._inner.rollback()


class _CheckedStorage:
    def __init__(self, inner: Store) -> None:
        self.inner = inner

    def appender(self) -> Appender:
        return _Checked(self.inner.appender())

    def querier(self) -> Querier:
        return self.inner.querier()


def _job(extra: str = "") -> ScrapeConfig:
    text = "scrape_configs:\n  - job_name: app\n    scrape_interval: 10s\n    scrape_timeout: 2s\n"
    return parse_config(text + textwrap.indent(textwrap.dedent(extra), "    "), "t.yml").scrape_configs[0]


class _CountingParser(ExpositionParser):
    """The default parser, counting the bodies that went through it line by line."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def __call__(self, body: bytes, content_type: str, known: Mapping[str, object]) -> Parsed:
        self.calls += 1
        return super().__call__(body, content_type, known)


def _loop(sc: ScrapeConfig, storage: object, transport: FakeTransport, clock: Clock,
          parser: ExpositionParser | None = None) -> ScrapeLoop:
    targets, _ = build_targets(sc, [TargetGroup("t", ((("__address__", "127.0.0.1:9000"),),))])
    return ScrapeLoop(targets[0], sc, storage, transport, clock=clock, parser=parser)  # type: ignore[arg-type]


def _dump(store: Store) -> dict[tuple[tuple[str, str], ...], list[tuple[int, bytes]]]:
    # Values by bit pattern: a staleness marker must be the very same NaN.
    out = {}
    for s in store.querier().select([Matcher("__name__", "=~", ".+")], 0, 2**62):
        timed = ("__name__", "scrape_duration_seconds") in s.labels  # wall time: differs by nature
        out[s.labels] = [(int(t), b"" if timed else struct.pack("<d", v))
                         for t, v in zip(s.timestamps, s.values, strict=True)]
    return out


def _run(tmp: Path, sc: ScrapeConfig, bodies: list[str | None], *, meddle: bool = False,
         meddle_at: int = 2, parsed: list[int] | None = None, metadata: list[object] | None = None,
         ) -> tuple[dict[tuple[tuple[str, str], ...], list[tuple[int, bytes]]], list[bool], int, int]:
    """Scrape ``bodies`` (None: the target answers 500) with the bulk path and
    without; assert both stores and reports agree; return one side's results."""
    results = []
    for name, wrap in (("bulk", False), ("checked", True)):
        store = open_storage(tmp / name)
        transport, clock = FakeTransport(), Clock()
        parser = _CountingParser()
        loop = _loop(sc, _CheckedStorage(store) if wrap else store, transport, clock, parser)
        ups = []
        bulk = 0
        for i, body in enumerate(bodies):
            clock.advance(10)
            if body is None:
                transport.responses[URL] = (500, {}, b"")
            else:
                transport.set_body(URL, body)
            if meddle and i == meddle_at:
                # Another writer puts a newer sample into one of the target's series.
                app = store.appender()
                labels = make_labels({"__name__": "a", "job": "app", "instance": "127.0.0.1:9000"})
                app.append(labels, int((clock.now + 5) * 1000), -1.0)
                app.commit()
            before = loop._column
            ups.append(loop.scrape_once())
            bulk += before is not None and loop._column is before  # the checked path rebuilds it
        results.append((_dump(store), ups, loop.out_of_order, bulk))
        if not wrap:
            if parsed is not None:
                parsed.append(parser.calls)
            if metadata is not None:
                metadata.append(dict(loop.target.metadata))
        store.close()
    (bulk_data, bulk_ups, bulk_ooo, used), (checked_data, checked_ups, checked_ooo, _) = results
    assert bulk_data == checked_data
    assert bulk_ups == checked_ups
    assert bulk_ooo == checked_ooo
    return bulk_data, bulk_ups, bulk_ooo, used


def _values(data: dict[tuple[tuple[str, str], ...], list[tuple[int, bytes]]], name: str) -> list[float]:
    (series,) = [v for k, v in data.items() if ("__name__", name) in k]
    return [struct.unpack("<d", b)[0] for _, b in series]


def test_the_same_series_again_take_the_bulk_path(tmp_path: Path) -> None:
    bodies = [f"a {i}\nb{{x=\"1\"}} {i * 2}\n" for i in range(5)]
    data, ups, _, used = _run(tmp_path, _job(), bodies)
    assert ups == [True] * 5
    assert used == 4  # every scrape after the first
    assert _values(data, "a") == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert _values(data, "scrape_series_added") == [2.0, 0.0, 0.0, 0.0, 0.0]


def test_series_appearing_disappearing_and_reordering(tmp_path: Path) -> None:
    bodies = ["a 1\nb 1\n", "a 2\nb 2\nc 2\n", "a 3\nc 3\n", "c 4\na 4\n", "c 5\na 5\n"]
    data, _, _, used = _run(tmp_path, _job(), bodies)
    assert used == 1  # only the last body repeats its predecessor's series
    assert math.isnan(_values(data, "b")[-1])  # stale when it went away
    assert _values(data, "scrape_series_added") == [2.0, 1.0, 0.0, 0.0, 0.0]


def test_a_target_alternating_between_two_bodies(tmp_path: Path) -> None:
    bodies = ["a 1\nb 1\n" if i % 2 else "a 1\nc 1\n" for i in range(6)]
    data, _, _, used = _run(tmp_path, _job(), bodies)
    assert used == 0
    assert sum(math.isnan(v) for v in _values(data, "b")) == 2


def test_relabelling_that_merges_series_keeps_the_checked_path(tmp_path: Path) -> None:
    sc = _job("""\
        metric_relabel_configs:
          - {action: labeldrop, regex: x}
    """)
    bodies = ['a{x="1"} 1\na{x="2"} 1\n'] * 3
    _, _, ooo, used = _run(tmp_path, sc, bodies)
    assert used == 0
    assert ooo == 0  # equal values at one time are a duplicate, not an error


def test_dropped_series_are_left_out_of_the_column(tmp_path: Path) -> None:
    sc = _job("""\
        metric_relabel_configs:
          - {source_labels: [__name__], regex: drop_me, action: drop}
    """)
    bodies = [f"a {i}\ndrop_me {i}\nb {i}\n" for i in range(3)]
    data, _, _, used = _run(tmp_path, sc, bodies)
    assert used == 2
    assert not [k for k in data if ("__name__", "drop_me") in k]
    assert _values(data, "b") == [0.0, 1.0, 2.0]


def test_honor_timestamps_with_timestamps_keeps_the_checked_path(tmp_path: Path) -> None:
    bodies = [f"a {i} {1_000_000 + i}\n" for i in range(3)]
    _, _, _, used = _run(tmp_path, _job(), bodies)
    assert used == 0


def test_timestamps_ignored_when_not_honoured_allow_the_bulk_path(tmp_path: Path) -> None:
    bodies = [f"a {i} {1_000_000 + i}\n" for i in range(3)]
    _, _, _, used = _run(tmp_path, _job("honor_timestamps: false\n"), bodies)
    assert used == 2


def test_sample_limit_after_growth_and_failed_scrapes(tmp_path: Path) -> None:
    sc = _job("sample_limit: 2\n")
    bodies: list[str | None] = ["a 1\nb 1\n", "a 2\nb 2\n", "a 3\nb 3\nc 3\n", "a 4\nb 4\n", None, "a 6\nb 6\n"]
    data, ups, _, _ = _run(tmp_path, sc, bodies)
    assert ups == [True, True, False, True, False, True]
    assert math.isnan(_values(data, "a")[2])


def test_a_newer_sample_from_elsewhere_is_refused_and_counted(tmp_path: Path) -> None:
    bodies = [f"a {i}\nb {i}\n" for i in range(6)]
    data, _, ooo, used = _run(tmp_path, _job(), bodies, meddle=True)
    assert ooo == 1
    assert -1.0 in _values(data, "a")
    assert used >= 3  # back on the bulk path once the checked path has seen the body again


_LINES = [f'm{{k="{k}"}}' for k in "abcd"] + ["n", "o_total"]


@settings(max_examples=30, deadline=None)
@given(st.lists(
    st.one_of(st.none(), st.lists(st.tuples(st.sampled_from(_LINES), st.integers(0, 3)),
                                   unique_by=lambda p: p[0], max_size=6)),
    min_size=1, max_size=7,
))
def test_any_sequence_of_bodies_stores_the_same_as_the_checked_path(
    tmp_path_factory: object, scrapes: list[list[tuple[str, int]] | None]
) -> None:
    tmp = tmp_path_factory.mktemp("bulk")  # type: ignore[attr-defined]
    bodies = [None if s is None else "".join(f"{k} {v}\n" for k, v in s) for s in scrapes]
    _run(tmp, _job(), bodies)


def test_repeated_bodies_skip_the_line_parser(tmp_path: Path) -> None:
    head = "# HELP a The a.\n# TYPE a counter\n"
    bodies = [f'{head}a_total{{path="/x y"}} {i}\nb {i * 0.5}\n' for i in range(6)]
    parsed: list[int] = []
    data, ups, _, used = _run(tmp_path, _job(), bodies, parsed=parsed)
    assert ups == [True] * 6
    assert used == 5
    assert parsed == [2]  # the first body builds the column, the second its shape
    assert _values(data, "a_total") == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert _values(data, "scrape_samples_scraped") == [2.0] * 6
    assert _values(data, "scrape_series_added") == [2.0] + [0.0] * 5


def test_values_the_shape_refuses_go_line_by_line(tmp_path: Path) -> None:
    bodies = ["a 1\nb 1\n", "a 2\nb 2\n", "a 3\nb NaN\n", "a 4\nb +Inf\n", "a 5\nb 5\n", "a 6\nb 6\n"]
    parsed: list[int] = []
    data, _, _, used = _run(tmp_path, _job(), bodies, parsed=parsed)
    assert used == 5  # the keys never changed: every scrape after the first used the column
    assert parsed == [4]  # NaN and +Inf bodies went through the parser; 5 and 6 did not
    b = _values(data, "b")
    assert math.isnan(b[2]) and b[3] == math.inf and b[5] == 6.0


def test_staleness_after_bulk_scrapes(tmp_path: Path) -> None:
    bodies = ["a 1\nb 1\n"] * 4 + ["a 5\n", "a 6\n", "a 7\nb 7\n"]
    parsed: list[int] = []
    data, _, _, _ = _run(tmp_path, _job(), bodies, parsed=parsed)
    b = _values(data, "b")
    assert b[:4] == [1.0] * 4
    assert struct.pack("<d", b[4]) == struct.pack("<d", STALE_NAN)  # marked stale when it went away
    assert b[5] == 7.0
    assert parsed == [5]  # 1, 2 (shape), then "a 5" (new keys), "a 6" (learns), "a 7 b 7"


def test_failed_scrape_between_bulk_scrapes(tmp_path: Path) -> None:
    bodies: list[str | None] = ["a 1\n", "a 2\n", "a 3\n", None, "a 5\n", "a 6\n"]
    data, ups, _, _ = _run(tmp_path, _job(), bodies)
    assert ups == [True, True, True, False, True, True]
    a = _values(data, "a")
    assert struct.pack("<d", a[3]) == struct.pack("<d", STALE_NAN)
    assert a[4:] == [5.0, 6.0]


def test_a_help_text_change_updates_the_metadata(tmp_path: Path) -> None:
    bodies = [f"# HELP a Old text.\na {i}\n" for i in range(3)] + ["# HELP a New text.\na 3\n"]
    metadata: list[object] = []
    _run(tmp_path, _job(), bodies, metadata=metadata)
    assert metadata == [{"a": ("unknown", "New text.", "")}]


def test_a_newer_sample_from_elsewhere_during_bulk_scrapes(tmp_path: Path) -> None:
    bodies = [f"a {i}\nb {i}\n" for i in range(8)]
    parsed: list[int] = []
    data, _, ooo, _ = _run(tmp_path, _job(), bodies, meddle=True, meddle_at=4, parsed=parsed)
    assert ooo == 1
    assert -1.0 in _values(data, "a")
    assert _values(data, "b") == [float(i) for i in range(8)]  # the other series lost nothing
    assert parsed[0] >= 3  # the refusal sent the loop back to the parser


def test_honor_timestamps_appearing_after_bulk_scrapes(tmp_path: Path) -> None:
    bodies = ["a 1\n", "a 2\n", "a 3\n", "a 4 1000\n", "a 5\n", "a 6\n"]
    parsed: list[int] = []
    data, _, ooo, _ = _run(tmp_path, _job(), bodies, parsed=parsed)
    assert ooo == 1  # its own timestamp, honoured: older than what is stored
    a = _values(data, "a")
    # A sample with its own timestamp is not tracked for staleness (Prometheus
    # does the same), so the series reads as gone in that scrape.
    assert a[:3] == [1.0, 2.0, 3.0] and a[4:] == [5.0, 6.0]
    assert struct.pack("<d", a[3]) == struct.pack("<d", STALE_NAN)
    assert parsed == [5]  # the timestamped body, then two to rebuild column and shape


def test_sample_limit_with_bulk_scrapes(tmp_path: Path) -> None:
    sc = _job("sample_limit: 2\n")
    bodies: list[str | None] = ["a 1\nb 1\n"] * 4 + ["a 5\nb 5\nc 5\n", "a 6\nb 6\n", "a 7\nb 7\n"]
    data, ups, _, _ = _run(tmp_path, sc, bodies)
    assert ups == [True] * 4 + [False, True, True]
    assert math.isnan(_values(data, "a")[4])


def test_relabelling_that_merges_series_with_repeated_bodies(tmp_path: Path) -> None:
    sc = _job("""\
        metric_relabel_configs:
          - {action: labeldrop, regex: x}
    """)
    bodies = [f'a{{x="1"}} {i}\na{{x="2"}} {i + 100}\n' for i in range(4)]
    parsed: list[int] = []
    _, _, ooo, used = _run(tmp_path, sc, bodies, parsed=parsed)
    assert used == 0 and parsed == [4]  # never bulk: two raw series are one stored series
    assert ooo == 4  # each scrape's second sample for the merged series differs at the same time


def test_two_bodies_with_the_same_series_alternating(tmp_path: Path) -> None:
    # Same keys, different comments: the column holds, the shape fits one of them.
    bodies = ["# HELP a A.\na 1\n" if i % 2 else "a 1\n" for i in range(6)]
    parsed: list[int] = []
    data, _, _, used = _run(tmp_path, _job(), bodies, parsed=parsed)
    assert used == 5
    assert _values(data, "a") == [1.0] * 6


def test_a_body_without_a_shape_is_not_measured_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Timestamps ignored (honor_timestamps: false) keep the column, but a line's
    # last word is then its timestamp: no shape, and no new attempt per scrape.
    calls: list[int] = []
    real = BodyShape.of.__func__  # type: ignore[attr-defined]

    def counting(cls: type[BodyShape], *args: object) -> BodyShape | None:
        calls.append(1)
        return real(cls, *args)  # type: ignore[no-any-return]

    monkeypatch.setattr(BodyShape, "of", classmethod(counting))
    bodies = [f"a {i} {1_000_000 + i}\n" for i in range(6)]
    parsed: list[int] = []
    _, _, _, used = _run(tmp_path, _job("honor_timestamps: false\n"), bodies, parsed=parsed)
    assert used == 5 and parsed == [6]
    assert len(calls) == 1
