"""Small fakes for the scrape tests: a storage that records what it is given and
a transport that answers from a table, so scraping is tested without sockets."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from metricslib.collector.config.http_client import TLSConfig
from metricslib.collector.model import Labels, is_stale_nan
from metricslib.errors import OutOfOrderSampleError


class FakeAppender:
    def __init__(self, store: FakeStorage) -> None:
        self._store = store
        self._pending: list[tuple[Labels, int, float]] = []

    def append(self, labels: Labels, t_ms: int, value: float) -> None:
        newest = self._store.newest.get(labels)
        if newest is not None and t_ms < newest:
            raise OutOfOrderSampleError(f"out of order sample for {labels}")
        self._pending.append((labels, t_ms, value))

    def commit(self) -> None:
        with self._store.lock:
            for labels, t, v in self._pending:
                self._store.samples.setdefault(labels, []).append((t, v))
                self._store.newest[labels] = max(t, self._store.newest.get(labels, t))
            self._store.commits += 1
        self._pending = []

    def rollback(self) -> None:
        self._pending = []
        self._store.rollbacks += 1


class FakeStorage:
    def __init__(self) -> None:
        self.samples: dict[Labels, list[tuple[int, float]]] = {}
        self.newest: dict[Labels, int] = {}
        self.lock = threading.Lock()
        self.commits = 0
        self.rollbacks = 0

    def appender(self) -> FakeAppender:
        return FakeAppender(self)

    def querier(self) -> object:
        raise NotImplementedError

    def close(self) -> None:
        pass

    # --- helpers for assertions ---

    def series(self, name: str, **labels: str) -> list[tuple[int, float]]:
        with self.lock:
            for key, values in self.samples.items():
                d = dict(key)
                if d.get("__name__") == name and all(d.get(k) == v for k, v in labels.items()):
                    return list(values)
        return []

    def last(self, name: str, **labels: str) -> float | None:
        values = self.series(name, **labels)
        return values[-1][1] if values else None

    def labelsets(self, name: str) -> list[dict[str, str]]:
        with self.lock:
            return [dict(k) for k in self.samples if dict(k).get("__name__") == name]

    def stale(self, name: str, **labels: str) -> bool:
        values = self.series(name, **labels)
        return bool(values) and is_stale_nan(values[-1][1])


Response = tuple[int, dict[str, str], bytes]


@dataclass
class FakeTransport:
    """Answers ``fetch`` from ``responses[url]`` (a response, an exception or a callable)."""

    responses: dict[str, Response | BaseException | Callable[[], Response]] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str], float, dict[str, object]]] = field(default_factory=list)

    def set_body(self, url: str, body: str, *, status: int = 200, content_type: str = "text/plain; version=0.0.4",
                 gzipped: bool = False) -> None:
        raw = body.encode()
        headers = {"content-type": content_type}
        if gzipped:
            raw = gzip.compress(raw)
            headers["content-encoding"] = "gzip"
        self.responses[url] = (status, headers, raw)

    def fetch(
        self,
        url: str,
        headers: Mapping[str, str],
        timeout: float,
        *,
        tls: TLSConfig | None = None,
        follow_redirects: bool = True,
        max_body: int = 0,
    ) -> Response:
        self.requests.append((url, dict(headers), timeout,
                              {"tls": tls, "follow_redirects": follow_redirects, "max_body": max_body}))
        answer = self.responses.get(url)
        if answer is None:
            raise ConnectionRefusedError(111, "connection refused")
        if isinstance(answer, BaseException):
            raise answer
        if callable(answer):
            return answer()
        return answer


class Clock:
    """A settable clock in seconds."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
