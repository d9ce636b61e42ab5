"""One HTTP/1.1 connection reused for every request, as a dashboard's client keeps it."""

from __future__ import annotations

import http.client
import time
import urllib.parse

__all__ = ["KeepAlive"]


class KeepAlive:
    def __init__(self, base: str) -> None:
        parsed = urllib.parse.urlsplit(base)
        self.conn = http.client.HTTPConnection(parsed.hostname or "127.0.0.1", parsed.port, timeout=60)

    def timed_get(self, path: str) -> float:
        """Seconds for one GET of ``path``; raises unless it answered 200 on a kept connection."""
        started = time.perf_counter()
        self.conn.request("GET", path, headers={"Accept-Encoding": "identity"})
        resp = self.conn.getresponse()
        resp.read()
        elapsed = time.perf_counter() - started
        if resp.status != 200:
            raise RuntimeError(f"{path} answered {resp.status}")
        if resp.will_close:
            raise RuntimeError(f"{path}: the server closed the keep-alive connection")
        return elapsed

    def close(self) -> None:
        self.conn.close()
