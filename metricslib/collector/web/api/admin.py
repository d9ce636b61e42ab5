"""Prometheus's TSDB admin API (``/api/v1/admin/tsdb/*``) as sans-I/O handlers.

``delete_series`` (``match[]``, ``start``, ``end``), ``clean_tombstones`` and
``snapshot`` (``skip_head``), POST or PUT only, and only with
``--web.enable-admin-api``: otherwise each answers what Prometheus 2.42 does
(HTTP 500, ``errorType`` ``unavailable``, ``admin APIs disabled``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from metricslib.collector.model import Matcher
from metricslib.collector.web.api.params import MAX_TIME_MS, MIN_TIME_MS, parse_time_ms
from metricslib.collector.web.api.v1 import (
    APIError,
    Request,
    Response,
    error_response,
    matcher_sets,
)

__all__ = ["AdminAPI", "TSDBAdmin"]

PREFIX = "/api/v1/admin/tsdb/"
_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_FALSE = ("0", "f", "F", "FALSE", "false", "False")


class TSDBAdmin(Protocol):
    """What the store offers the admin API (``storage.Store`` implements it)."""

    def delete_series(self, matcher_sets: Sequence[Sequence[Matcher]], mint_ms: int, maxt_ms: int) -> int: ...

    def clean_tombstones(self) -> None: ...

    def snapshot(self, *, skip_head: bool = False) -> str: ...


def _parse_bool(text: str, param: str) -> bool:
    """Go's ``strconv.ParseBool``, with its error text."""
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise APIError(
        "bad_data",
        f'invalid parameter "{param}": unable to parse boolean: strconv.ParseBool: parsing "{text}": invalid syntax',
    )


def _time(request: Request, param: str, default: int) -> int:
    raw = request.get(param)
    if raw is None or raw == "":
        return default
    try:
        return parse_time_ms(raw, param)
    except ValueError:
        raise APIError(
            "bad_data",
            f'invalid parameter "{param}": Invalid time value for \'{param}\': cannot parse "{raw}" to a valid timestamp',
        ) from None


class AdminAPI:
    def __init__(
        self,
        tsdb: TSDBAdmin,
        parse_selector: Callable[[str], Sequence[Matcher]],
        *,
        enabled: bool,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._tsdb = tsdb
        self._parse_selector = parse_selector
        self.enabled = enabled
        self._clock = clock
        self._routes: dict[str, Callable[[Request], Response]] = {
            "delete_series": self.delete_series,
            "clean_tombstones": self.clean_tombstones,
            "snapshot": self.snapshot,
        }

    def handle(self, request: Request) -> Response:
        name = request.path[len(PREFIX) :] if request.path.startswith(PREFIX) else None
        handler = self._routes.get(name or "")
        if handler is None:
            return Response(404, b"404 page not found\n", "text/plain; charset=utf-8")
        if request.method not in ("POST", "PUT"):
            return Response(
                405, b"Method Not Allowed\n", "text/plain; charset=utf-8", {"Allow": "OPTIONS, POST, PUT"}
            )
        if not self.enabled:
            body = {"status": "error", "errorType": "unavailable", "error": "admin APIs disabled"}
            return Response(500, json.dumps(body, separators=(",", ":")).encode())
        try:
            return handler(request)
        except APIError as exc:
            return error_response(exc.error_type, str(exc))
        except Exception as exc:  # a storage failure: Prometheus answers "internal"
            return error_response("internal", str(exc))

    def delete_series(self, request: Request) -> Response:
        sets = matcher_sets(request, self._parse_selector, required=True)
        start = _time(request, "start", MIN_TIME_MS)
        end = _time(request, "end", MAX_TIME_MS)
        self._tsdb.delete_series(sets, start, end)
        return Response(204, b"", "")

    def clean_tombstones(self, request: Request) -> Response:
        self._tsdb.clean_tombstones()
        return Response(204, b"", "")

    def snapshot(self, request: Request) -> Response:
        raw = request.get("skip_head")
        skip_head = False if raw is None or raw == "" else _parse_bool(raw, "skip_head")
        name = self._tsdb.snapshot(skip_head=skip_head)
        body = {"status": "success", "data": {"name": name}}
        return Response(200, json.dumps(body, separators=(",", ":")).encode())
