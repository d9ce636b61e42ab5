"""Forwarding samples to a real distributed engine with Prometheus remote write.

When one machine is no longer enough, the collector keeps scraping and
storing locally and also sends every committed sample to VictoriaMetrics,
Mimir, Thanos Receive or a Prometheus with its remote-write receiver on.

:class:`ForwardingStorage` wraps the local store: scrape loops still see only
an Appender, and each committed batch is handed to every
:class:`RemoteWriteQueue`. A queue is bounded (oldest samples are dropped and
counted when a receiver is down for long), sends batches from its own thread,
retries 5xx, 429 and network errors with exponential backoff, and drops
batches the receiver rejects as invalid (other 4xx), as Prometheus does.
"""

from __future__ import annotations

import base64
import collections
import http.client
import logging
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from metricslib.collector.config.http_connect import auth_headers, request_target
from metricslib.collector.config.remote_write import RemoteWriteConfig
from metricslib.collector.model import Labels
from metricslib.collector.model.relabel import relabel
from metricslib.collector.storage.base import Appender, Querier, Storage
from metricslib.collector.storage.remote.proto import encode_write_request, snappy_compress
from metricslib.errors import StorageError

__all__ = [
    "ForwardingStorage",
    "HTTPPoster",
    "Poster",
    "RemoteWriteConfig",
    "RemoteWriteQueue",
]

log = logging.getLogger(__name__)

Sample = tuple[Labels, int, float]


class Poster(Protocol):
    """Sends one HTTP POST; injectable so queues are tested without sockets."""

    def post(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> tuple[int, bytes]: ...


class HTTPPoster:
    def post(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> tuple[int, bytes]:
        parts = urllib.parse.urlsplit(url)
        conn_cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        # Credentials in the URL go in the Authorization header (see
        # RemoteWriteQueue), never in the address, where errors would show them.
        conn = conn_cls(parts.netloc.rpartition("@")[2], timeout=timeout)
        try:
            conn.request("POST", request_target(parts), body=body, headers=dict(headers))
            resp = conn.getresponse()
            return resp.status, resp.read(4096)
        finally:
            conn.close()


@dataclass
class QueueStats:
    samples_sent: int = 0
    samples_dropped: int = 0
    samples_failed: int = 0
    samples_retried: int = 0
    last_error: str = ""
    last_send_unix: float = 0.0


@dataclass
class RemoteWriteQueue:
    config: RemoteWriteConfig
    external_labels: Callable[[], Mapping[str, str]] = dict
    poster: Poster = field(default_factory=HTTPPoster)
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        self.stats = QueueStats()
        self._pending: collections.deque[Sample] = collections.deque()
        self._cond = threading.Condition()
        self._stop = False
        self._thread: threading.Thread | None = None
        self._headers = self._build_headers()

    def _build_headers(self) -> dict[str, str]:
        headers = {
            "Content-Encoding": "snappy",
            "Content-Type": "application/x-protobuf",
            "X-Prometheus-Remote-Write-Version": "0.1.0",
            "User-Agent": "metricslib-collector",
        }
        headers.update(self.config.headers)
        auth = auth_headers(self.config.http)
        if auth:
            headers.update(auth)
        else:
            parts = urllib.parse.urlsplit(self.config.url)
            if parts.username is not None:  # as Go's client does with a URL's user info
                pair = f"{urllib.parse.unquote(parts.username)}:{urllib.parse.unquote(parts.password or '')}"
                headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        return headers

    # --- producer side (scrape threads) -----------------------------------------------

    def enqueue(self, samples: Sequence[Sample]) -> None:
        """Never blocks a scrape: past capacity the oldest samples are dropped and counted."""
        with self._cond:
            self._pending.extend(samples)
            overflow = len(self._pending) - self.config.capacity
            for _ in range(max(0, overflow)):
                self._pending.popleft()
            if overflow > 0:
                self.stats.samples_dropped += overflow
            if len(self._pending) >= self.config.max_samples_per_send:
                self._cond.notify()

    # --- sender side ------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name=f"remote-write {self.config.display_name}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Send what is queued (for at most ``timeout``), then stop."""
        with self._cond:
            self._stop = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(timeout)

    def _take_batch(self) -> list[Sample]:
        with self._cond:
            deadline = time.monotonic() + self.config.batch_send_deadline_s
            while not self._stop and len(self._pending) < self.config.max_samples_per_send:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            count = min(len(self._pending), self.config.max_samples_per_send)
            return [self._pending.popleft() for _ in range(count)]

    def _run(self) -> None:
        while True:
            batch = self._take_batch()
            if batch:
                self.send(batch)
            with self._cond:
                if self._stop and not self._pending:
                    return

    def prepare(self, batch: Sequence[Sample]) -> list[tuple[Labels, list[tuple[int, float]]]]:
        """Apply external labels and write_relabel_configs, and group samples by series."""
        external = self.external_labels()
        rules = self.config.write_relabel_configs
        grouped: dict[Labels, list[tuple[int, float]]] = {}
        relabelled: dict[Labels, Labels | None] = {}
        for labels, t_ms, value in batch:
            if labels in relabelled:
                final = relabelled[labels]
            else:
                as_dict = dict(labels)
                for name, ext_value in external.items():
                    as_dict.setdefault(name, ext_value)
                result = relabel(as_dict, rules) if rules else as_dict
                final = None if result is None else tuple(sorted(result.items()))
                relabelled[labels] = final
            if final is not None:
                grouped.setdefault(final, []).append((t_ms, value))
        return list(grouped.items())

    def send(self, batch: Sequence[Sample]) -> bool:
        series = self.prepare(batch)
        if not series:
            return True
        body = snappy_compress(encode_write_request(series))
        backoff = self.config.min_backoff_s
        while True:
            try:
                status, text = self.poster.post(
                    self.config.url, body, self._headers, self.config.remote_timeout_s
                )
            except OSError as exc:
                status, text = 0, str(exc).encode()
            if 200 <= status < 300:
                self.stats.samples_sent += len(batch)
                self.stats.last_send_unix = time.time()
                self.stats.last_error = ""
                return True
            message = f"HTTP {status}: {text[:200].decode('utf-8', 'replace')}" if status else text.decode()
            self.stats.last_error = message
            recoverable = status == 0 or status >= 500 or (status == 429 and self.config.retry_on_http_429)
            if not recoverable or self._stop:
                log.warning("remote write to %s failed, dropping %d samples: %s",
                            self.config.display_name, len(batch), message)
                self.stats.samples_failed += len(batch)
                return False
            self.stats.samples_retried += len(batch)
            self.sleep(backoff)
            backoff = min(backoff * 2, self.config.max_backoff_s)


class _ForwardingAppender:
    def __init__(self, inner: Appender, queues: Sequence[RemoteWriteQueue], refs: dict[int, Labels]) -> None:
        self._inner = inner
        self._queues = queues
        self._refs = refs
        self._append_ref = getattr(inner, "append_ref", None)
        self._append_column = getattr(inner, "append_column", None)
        self._batch: list[Sample] = []

    @property
    def refused(self) -> list[int]:
        return list(getattr(self._inner, "refused", []))

    def append(self, labels: Labels, t_ms: int, value: float) -> object:
        ref = self._inner.append(labels, t_ms, value)  # a rejected sample is not forwarded either
        if isinstance(ref, int):
            self._refs[ref] = labels
        self._batch.append((labels, t_ms, value))
        return ref

    def append_ref(self, ref: int, t_ms: int, value: float) -> None:
        # Keeps the scrape loop's by-reference fast path when forwarding; a ref
        # we never handed out is the caller's cue to go by labels instead.
        labels = self._refs.get(ref)
        if labels is None or self._append_ref is None:
            raise StorageError(f"unknown series ref {ref}")
        self._append_ref(ref, t_ms, value)
        self._batch.append((labels, t_ms, value))

    def append_column(self, refs: list[int], t_ms: int, values: list[float]) -> None:
        labels = [self._refs.get(ref) for ref in refs]
        if self._append_column is None or None in labels:
            raise StorageError("append_column needs refs this appender handed out")
        self._append_column(refs, t_ms, values)
        self._batch.extend((lbl, t_ms, v) for lbl, v in zip(labels, values, strict=True))  # type: ignore[misc]

    def commit(self) -> None:
        self._inner.commit()
        batch, self._batch = self._batch, []
        for queue in self._queues:
            queue.enqueue(batch)

    def rollback(self) -> None:
        self._inner.rollback()
        self._batch = []


class ForwardingStorage:
    """A Storage that stores locally and forwards committed samples to remote queues."""

    def __init__(self, inner: Storage, queues: Sequence[RemoteWriteQueue]) -> None:
        self.inner = inner
        self.queues = list(queues)
        self._refs: dict[int, Labels] = {}

    def appender(self) -> Appender:
        if not self.queues:  # nothing to forward: the store's own appender, by-ref path and all
            return self.inner.appender()
        return _ForwardingAppender(self.inner.appender(), self.queues, self._refs)

    def querier(self) -> Querier:
        return self.inner.querier()

    def series_with(self, pairs: Labels) -> list[tuple[Labels, int]]:
        """The store's (see ``Store.series_with``); [] when it has none such."""
        found = getattr(self.inner, "series_with", None)
        return found(pairs) if found is not None else []

    def start(self) -> None:
        for queue in self.queues:
            queue.start()

    def close(self) -> None:
        for queue in self.queues:
            queue.stop()
        self.inner.close()
