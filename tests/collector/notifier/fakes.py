"""A recording poster for the notifier's unit tests (no sockets)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from metricslib.collector.config.http_client import HTTPClientConfig
from metricslib.collector.notifier.alert import Alert


@dataclass
class Post:
    url: str
    alerts: list[dict[str, Any]]
    headers: dict[str, str]
    timeout: float


@dataclass
class FakePoster:
    """Answers ``status`` (or what ``answer(url)`` says); records every request."""

    status: int = 200
    answer: Callable[[str], int] | None = None
    posts: list[Post] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def post(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float,
             client: HTTPClientConfig) -> tuple[int, bytes]:
        with self.lock:
            self.posts.append(Post(url, json.loads(body), dict(headers), timeout))
        status = self.answer(url) if self.answer is not None else self.status
        if status == 0:
            raise ConnectionRefusedError(111, "connection refused")
        return status, b"" if status < 300 else b"boom"

    def urls(self) -> list[str]:
        with self.lock:
            return [p.url for p in self.posts]

    def names(self, url: str | None = None) -> list[str]:
        with self.lock:
            return [a["labels"]["alertname"] for p in self.posts if url in (None, p.url) for a in p.alerts]


def alert(name: str, **labels: str) -> Alert:
    return Alert({"alertname": name, **labels}, {"summary": f"{name} is firing"}, 1_700_000_000.0,
                 None, f"http://127.0.0.1:9090/graph?g0.expr={name}")
