"""``POST /api/v1/write``: the remote-write receiver (``--web.enable-remote-write-receiver``).

Off by default, as in Prometheus. A body is a snappy-compressed protobuf
``WriteRequest`` (``storage/remote/decode.py``); its samples go through an
ordinary appender, so the write-ahead log, flushes, cuts and merges treat
them exactly like scraped ones, and one request is one commit.

The answers are Prometheus 2.42's: 204 on success; 400 with the reason for a
body that does not decode, and for a sample that is out of order or that
repeats a timestamp with another value (the whole request is then rolled
back, and the sender drops it instead of retrying); 404 while the receiver is
off; 405 for anything but POST. One difference: Prometheus also refuses
samples older than its head's lower bound ("out of bounds"); this store has
no such bound and takes them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from metricslib.collector.model import Labels
from metricslib.collector.storage.base import Appender
from metricslib.collector.storage.remote.decode import (
    RemoteWriteDecodeError,
    decode_write_request,
    snappy_decompress,
)
from metricslib.collector.web.api.v1 import Request, Response
from metricslib.errors import OutOfOrderSampleError

__all__ = ["RemoteWriteReceiver"]

_TEXT = "text/plain; charset=utf-8"


def _plain(status: int, message: str) -> Response:
    return Response(status, (message + "\n").encode(), _TEXT)


class RemoteWriteReceiver:
    """Sans-I/O handler; ``appender`` is the collector's storage's ``appender``."""

    def __init__(self, appender: Callable[[], Appender], *, enabled: bool) -> None:
        self._appender = appender
        self.enabled = enabled

    def handle(self, request: Request) -> Response:
        if not self.enabled:
            return _plain(404, "remote write receiver needs to be enabled with --web.enable-remote-write-receiver")
        if request.method != "POST":
            return Response(405, b"Method Not Allowed\n", _TEXT)
        try:
            series = decode_write_request(snappy_decompress(request.body))
        except RemoteWriteDecodeError as exc:
            return _plain(400, f"remote write body: {exc}")
        app = self._appender()
        append_ref = getattr(app, "append_ref", None)
        try:
            for raw_labels, samples in series:
                if not samples:
                    continue
                labels = _canonical(raw_labels)
                t0, v0 = samples[0]
                ref = app.append(labels, t0, v0)
                if append_ref is not None and isinstance(ref, int):
                    for t, v in samples[1:]:
                        append_ref(ref, t, v)
                else:
                    for t, v in samples[1:]:
                        app.append(labels, t, v)
        except OutOfOrderSampleError as exc:
            app.rollback()
            return _plain(400, f"out of order sample: {exc}")
        except ValueError as exc:  # e.g. a series without any non-empty label
            app.rollback()
            return _plain(400, f"remote write series: {exc}")
        except BaseException:
            app.rollback()
            raise
        app.commit()
        return Response(204, b"", "")


def _canonical(pairs: list[tuple[str, str]]) -> Labels:
    """Sorted, without empty values. Names and values are interned: each request
    decodes fresh strings, and without it every series would keep its own copy
    of ``__name__``'s, ``job``'s and ``instance``'s values (about 200 bytes per
    series of duplicates at four labels). Interned strings are freed with the
    last series using them."""
    names: set[str] = set()
    out = []
    for name, value in pairs:
        if name in names:
            raise ValueError(f"label name {name!r} appears twice")
        names.add(name)
        if value:
            out.append((sys.intern(name), sys.intern(value)))
    out.sort()
    return tuple(out)
