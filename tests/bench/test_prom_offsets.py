"""prom_offsets: xxHash64, FNV-1a and Prometheus's duration text, against known values."""

from __future__ import annotations

import pytest

from bench.prom_offsets import fnv64a, jitter_seed, prom_duration, prometheus_offset_ns, xxhash64
from metricslib.collector.scrape.targets import fnv64a as collector_fnv64a


@pytest.mark.parametrize(("data", "seed", "digest"), [
    (b"", 0, 0xEF46DB3751D8E999),
    (b"abc", 0, 0x44BC2CF5AD770999),
    (b"xxhash", 20141025, 0xB559B98D844E0635),
    (b"Nobody inspects the spammish repetition", 0, 0xFBCEA83C8A378BF1),  # 39 bytes: the 32-byte stripes
])
def test_xxhash64_gives_the_published_digests(data: bytes, seed: int, digest: int) -> None:
    assert xxhash64(data, seed) == digest


def test_fnv64a_is_the_collectors() -> None:
    assert fnv64a(b"") == 0xCBF29CE484222325
    for data in (b"a", b"127.0.0.1:9100", bytes(range(256))):
        assert fnv64a(data) == collector_fnv64a(data)


@pytest.mark.parametrize(("seconds", "text"), [
    (5, "5s"), (15, "15s"), (30, "30s"), (60, "1m"), (90, "1m30s"), (0.5, "500ms"), (3600, "1h"),
    (86400 * 7, "1w"), (86400 * 8, "8d"),
])
def test_durations_read_as_prometheus_prints_them(seconds: float, text: str) -> None:
    assert prom_duration(seconds) == text


def test_the_offset_is_the_seeded_hash_modulo_the_interval() -> None:
    labels = [("job", "a"), ("__address__", "h:1")]
    flat = b"__address__\xffh:1\xffjob\xffa\xff"  # sorted by name, each part closed by 0xff
    expected = fnv64a(b"%016d" % xxhash64(flat) + b"http://h:1/metrics")
    seed = jitter_seed("vm")
    assert seed == fnv64a(b"vm{}")
    assert prometheus_offset_ns(labels, "http://h:1/metrics", 5 * 10**9, seed) == (expected ^ seed) % (5 * 10**9)
