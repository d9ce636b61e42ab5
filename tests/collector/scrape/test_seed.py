"""Seeding a new scrape loop's series cache from the store (after a restart)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metricslib.collector.config.config import ScrapeConfig, parse_config
from metricslib.collector.discovery.targetgroup import TargetGroup
from metricslib.collector.model import Labels, Matcher, make_labels
from metricslib.collector.scrape.loop import ScrapeLoop
from metricslib.collector.scrape.seed import seed_keys, seedable
from metricslib.collector.scrape.targets import build_targets
from metricslib.collector.storage import Store, open_storage
from metricslib.collector.storage.remote.write import ForwardingStorage
from metricslib.collector.textparse.syntax import parse_series_key

TARGET: Labels = (("instance", "127.0.0.1:9"), ("job", "j"))
BODY = (b'# TYPE x counter\nx{a="1",b="q\\"\\\\\\n"} 1\nx{a="2"} 2\ny 3\n'
        b'z{job="other"} 4\nw{b="1",a="1"} 5\n')


class Transport:
    def __init__(self) -> None:
        self.body = BODY

    def fetch(self, url: str, headers: dict[str, str], timeout: float, **kw: object) -> tuple[int, dict[str, str], bytes]:
        return 200, {"content-type": "text/plain; version=0.0.4"}, self.body


class KnownKeys:
    """A parser that records the keys the loop called known, then parses as the default does."""

    def __init__(self, loop_parser: object) -> None:
        self.inner = loop_parser
        self.known: list[set[str]] = []

    def __call__(self, body: bytes, content_type: str, known: dict[str, object]) -> object:
        self.known.append(set(known))
        return self.inner(body, content_type, known)  # type: ignore[operator]


def _config(extra: str = "") -> ScrapeConfig:
    text = f"scrape_configs:\n  - job_name: j\n    static_configs: [{{targets: ['127.0.0.1:9']}}]\n{extra}"
    return parse_config(text, "x.yml").scrape_configs[0]


def _loop(store: object, sc: ScrapeConfig, t: list[float]) -> tuple[ScrapeLoop, KnownKeys]:
    targets, _ = build_targets(sc, [TargetGroup("g", ((("__address__", "127.0.0.1:9"),),))])
    loop = ScrapeLoop(targets[0], sc, store, Transport(), clock=lambda: t[0])  # type: ignore[arg-type]
    spy = KnownKeys(loop._parser)
    loop._parser = spy  # type: ignore[assignment]
    return loop, spy


def _stored(store: Store) -> dict[Labels, list[float]]:
    got = store.querier().select([Matcher("job", "=~", ".+")], -(2**62), 2**62)
    return {s.labels: s.values.tolist() for s in got if ("__name__", "scrape_duration_seconds") not in s.labels}


@pytest.mark.parametrize("forwarding", [False, True])
def test_a_new_loop_knows_the_stored_series_of_its_target(tmp_path: Path, forwarding: bool) -> None:
    t = [1_700_000_000.0]
    store = open_storage(tmp_path / "a", background=False)
    first, _ = _loop(store, _config(), t)
    assert first.scrape_once()
    store.close()
    store = open_storage(tmp_path / "a", background=False)
    try:
        loop, spy = _loop(ForwardingStorage(store, []) if forwarding else store, _config(), t)
        t[0] += 5
        assert loop.scrape_once(), loop.target.last_error
        # Sorted, escaped keys are known; the conflicting series (exported_job) and
        # the body's unsorted label order are not, and take the ordinary path.
        assert {'x{a="1",b="q\\"\\\\\\n"}', 'x{a="2"}', "y"} <= spy.known[0]
        assert not {'w{b="1",a="1"}', 'z{job="other"}'} & spy.known[0]
        # What it stored is what a loop without the seed stores.
        plain = open_storage(tmp_path / "b", background=False)
        try:
            for k in range(2):
                other, _ = _loop(plain, _config(), [1_700_000_000.0 + 5 * k])
                assert other.scrape_once()
            assert _stored(store) == _stored(plain)
        finally:
            plain.close()
    finally:
        store.close()


@pytest.mark.parametrize("extra", [
    "    metric_relabel_configs: [{source_labels: [__name__], regex: y, action: drop}]\n",
    "    honor_labels: true\n",
    "    label_limit: 10\n",
])
def test_no_seed_when_the_stored_labels_do_not_say_what_was_exposed(tmp_path: Path, extra: str) -> None:
    sc = _config(extra)
    assert not seedable(sc)
    t = [1_700_000_000.0]
    store = open_storage(tmp_path, background=False)
    try:
        first, _ = _loop(store, sc, t)
        assert first.scrape_once()
        loop, spy = _loop(store, sc, t)
        t[0] += 5
        assert loop.scrape_once()
        assert spy.known[0] == set()
    finally:
        store.close()


values = st.text(alphabet=st.sampled_from('ab\\"\n é{}=,'), min_size=1, max_size=6)


@given(st.dictionaries(st.sampled_from(["a", "b", "le", "_c"]), values, max_size=3), st.sampled_from(["m", "m:x"]))
def test_a_seeded_key_parses_back_to_the_exposed_labels(raw: dict[str, str], name: str) -> None:
    exposed = make_labels({**raw, "__name__": name})
    stored = make_labels({**raw, "__name__": name, **dict(TARGET)})
    [(key, labels, ref)] = list(seed_keys([(stored, 7)], TARGET))
    assert parse_series_key(key) == exposed and labels == stored and ref == 7


def test_series_of_other_targets_or_renamed_labels_are_not_seeded() -> None:
    other = make_labels({"__name__": "m", "instance": "elsewhere", "job": "j"})
    exported = make_labels({"__name__": "m", "exported_job": "x", **dict(TARGET)})
    quoted = make_labels({"__name__": "m.dot", **dict(TARGET)})
    assert list(seed_keys([(other, 1), (exported, 2), (quoted, 3)], TARGET)) == []


def test_no_seed_when_the_store_holds_far_more_series_of_the_target_than_the_body_has(tmp_path: Path) -> None:
    t = [1_700_000_000.0]
    store = open_storage(tmp_path, background=False)
    try:
        app = store.appender()
        for i in range(1100):  # an old generation of series: 2 x 6 lines + 1000 < 1100
            app.append(make_labels({"__name__": "old", "i": str(i), **dict(TARGET)}), 1_699_999_000_000, 1.0)
        app.append(make_labels({"__name__": "y", **dict(TARGET)}), 1_699_999_000_000, 1.0)
        app.commit()
        loop, spy = _loop(store, _config(), t)
        assert loop.scrape_once()
        assert spy.known[0] == set()
        few = open_storage(tmp_path / "few", background=False)
        try:
            app = few.appender()
            app.append(make_labels({"__name__": "y", **dict(TARGET)}), 1_699_999_000_000, 1.0)
            app.commit()
            loop, spy = _loop(few, _config(), t)
            assert loop.scrape_once()
            assert spy.known[0] == {"y"}
        finally:
            few.close()
    finally:
        store.close()
