"""XXH64 and FNV-1a 64 against published digests."""

from __future__ import annotations

import pytest

from metricslib.collector.model.hashing import fnv64a, xxh64


@pytest.mark.parametrize(("data", "seed", "digest"), [
    (b"", 0, 0xEF46DB3751D8E999),
    (b"a", 0, 0xD24EC4F1A98C6E5B),
    (b"abc", 0, 0x44BC2CF5AD770999),
    (b"xxhash", 20141025, 0xB559B98D844E0635),
    (b"Nobody inspects the spammish repetition", 0, 0xFBCEA83C8A378BF1),  # 39 bytes: the 32-byte stripes
])
def test_xxh64_gives_the_published_digests(data: bytes, seed: int, digest: int) -> None:
    assert xxh64(data, seed) == digest


@pytest.mark.parametrize(("data", "digest"), [
    (b"", 0xCBF29CE484222325),
    (b"a", 0xAF63DC4C8601EC8C),
    (b"foobar", 0x85944171F73967E8),
])
def test_fnv64a_gives_the_published_digests(data: bytes, digest: int) -> None:
    assert fnv64a(data) == digest

