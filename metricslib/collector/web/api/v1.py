"""Prometheus's HTTP API (``/api/v1/...``) as sans-I/O handlers.

``PrometheusAPI.handle(request)`` takes a parsed request and returns a
``Response``; the HTTP server in ``web/server.py`` is a thin adapter around it, and
tests call it directly. Every answer uses Prometheus's JSON envelope
(``status``, ``data``, ``errorType``, ``error``, ``warnings``) and its HTTP
status codes, so Grafana, ``promtool query`` and API clients work unchanged.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from metricslib.collector.model import Matcher
from metricslib.collector.promql.engine import MAX_POINTS_PER_SERIES
from metricslib.collector.promql.parser.parse import parse_expr
from metricslib.collector.promql.values import QueryResult
from metricslib.collector.rules.group import Group
from metricslib.collector.storage.base import Querier
from metricslib.collector.web.api.params import (
    MAX_TIME_MS,
    MIN_TIME_MS,
    parse_duration_ms,
    parse_time_ms,
)
from metricslib.collector.web.api.query_stats import query_stats
from metricslib.collector.web.api.query_text import format_query, parse_query
from metricslib.collector.web.api.result_json import result_json
from metricslib.collector.web.api.rules_json import RuleFilter, alerts_data, rules_data
from metricslib.collector.web.api.target_metadata import (
    TargetWithMetadata,
    parse_metadata_limit,
    target_metadata,
)
from metricslib.collector.web.api.tsdb_status import tsdb_limit
from metricslib.errors import QueryError
from metricslib.model import LABEL_NAME_RE

__all__ = ["APIError", "PrometheusAPI", "Request", "Response", "error_response", "matcher_sets"]

_STATUS_FOR_ERROR = {
    "bad_data": 400,
    "execution": 422,
    "canceled": 503,
    "timeout": 503,
    "internal": 500,
    "not_found": 404,
    "unavailable": 503,
}


@dataclass
class Request:
    method: str
    path: str
    params: Mapping[str, Sequence[str]] = field(default_factory=dict)
    #: the raw body when it is not a form (e.g. a remote-write request)
    body: bytes = b""

    def get(self, name: str, default: str | None = None) -> str | None:
        values = self.params.get(name)
        return values[-1] if values else default

    def get_all(self, name: str) -> list[str]:
        return list(self.params.get(name, ()))


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


class APIError(Exception):
    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


class QueryResultLike(Protocol):
    warnings: list[str]
    infos: list[str]

    def to_api(self) -> dict[str, Any]: ...


class EngineLike(Protocol):
    def instant_query(self, query: str, t_ms: int) -> QueryResultLike: ...

    def range_query(self, query: str, start_ms: int, end_ms: int, step_ms: int) -> QueryResultLike: ...


class CollectorLike(Protocol):
    @property
    def config_text(self) -> str: ...

    def targets(self, state: str = "any") -> dict[str, object]: ...

    def metadata(
        self, metric: str | None = None, limit: int | None = None
    ) -> dict[str, list[dict[str, str]]]: ...


def _result_envelope(result: QueryResultLike, stats: Mapping[str, object] | None = None) -> bytes:
    """The envelope around a query result, splicing in the result's JSON text written directly
    when it is the engine's own :class:`QueryResult`; ``stats`` goes into ``data``."""
    if not isinstance(result, QueryResult):
        return _envelope({**result.to_api(), **({"stats": stats} if stats else {})}, result.warnings, result.infos)
    tail = b""
    if result.warnings:
        tail += b',"warnings":' + json.dumps(list(result.warnings)).encode()
    if result.infos:
        tail += b',"infos":' + json.dumps(list(result.infos)).encode()
    data = result_json(result)
    if stats:
        data = data[:-1] + b',"stats":' + json.dumps(stats, separators=(",", ":")).encode() + b"}"
    # join, not +: a join of big buffers lets other threads (/-/healthy, scrapes) run.
    return b"".join((b'{"status":"success","data":', data, tail, b"}"))


def _envelope(data: object, warnings: Sequence[str] = (), infos: Sequence[str] = ()) -> bytes:
    body: dict[str, object] = {"status": "success", "data": data}
    if warnings:
        body["warnings"] = list(warnings)
    if infos:
        body["infos"] = list(infos)
    return json.dumps(body, separators=(",", ":"), allow_nan=False).encode()


def matcher_sets(
    request: Request, parse_selector: Callable[[str], Sequence[Matcher]], *, required: bool = False
) -> list[Sequence[Matcher]]:
    """The ``match[]`` selectors of a request, parsed; bad_data for a bad one (or none, if required)."""
    sets = []
    for text in request.get_all("match[]"):
        try:
            sets.append(parse_selector(text))
        except ValueError as exc:
            raise APIError("bad_data", f'invalid parameter "match[]": {exc}') from None
    if required and not sets:
        raise APIError("bad_data", "no match[] parameter provided")
    return sets


def error_response(error_type: str, message: str) -> Response:
    body = {"status": "error", "errorType": error_type, "error": message}
    return Response(_STATUS_FOR_ERROR.get(error_type, 500), json.dumps(body).encode())


class PrometheusAPI:
    """Routes ``/api/v1/*`` requests to the engine, the store and the collector."""

    def __init__(
        self,
        *,
        engine_factory: Callable[[int | None], EngineLike],
        querier_factory: Callable[[], Querier],
        parse_selector: Callable[[str], Sequence[Matcher]],
        collector: CollectorLike | None = None,
        flags: Mapping[str, str] | None = None,
        build_info: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.time,
        alertmanagers: Callable[[], Mapping[str, object]] | None = None,
        wal_replay: Callable[[], Mapping[str, int]] | None = None,
        tsdb_status: Callable[[int], Mapping[str, object]] | None = None,
        runtime_info: Callable[[], Mapping[str, object]] | None = None,
        active_targets: Callable[[], Iterable[TargetWithMetadata]] | None = None,
        rule_groups: Callable[[], Sequence[Group]] | None = None,
        query_handler: Callable[[Request], Response] | None = None,
    ) -> None:
        """``query_handler`` answers ``/api/v1/query`` and ``/api/v1/query_range`` instead
        of ``engine_factory`` (the collector's query processes, ``querypool/``)."""
        self._rule_groups = rule_groups or (lambda: ())
        self._tsdb_status = tsdb_status
        self._runtime_info = runtime_info
        self._active_targets = active_targets
        self._alertmanagers = alertmanagers
        self._engine_factory = engine_factory
        self._wal_replay = wal_replay
        self._querier_factory = querier_factory
        self._parse_selector = parse_selector
        self._collector = collector
        self._flags = dict(flags or {})
        self._build_info = dict(build_info or {})
        self._clock = clock
        self._routes: dict[str, Callable[[Request], Response]] = {
            "/api/v1/query": self.query,
            "/api/v1/query_range": self.query_range,
            "/api/v1/series": self.series,
            "/api/v1/labels": self.labels,
            "/api/v1/metadata": self.metadata,
            "/api/v1/targets": self.targets,
            "/api/v1/status/buildinfo": self.buildinfo,
            "/api/v1/status/config": self.status_config,
            "/api/v1/status/flags": self.status_flags,
            "/api/v1/status/runtimeinfo": self.runtimeinfo,
            "/api/v1/status/walreplay": self.walreplay,
            "/api/v1/query_exemplars": self.query_exemplars,
            "/api/v1/rules": self.rules,
            "/api/v1/alerts": self.alerts,
            "/api/v1/alertmanagers": self.alertmanagers,
            "/api/v1/status/tsdb": self.status_tsdb,
            "/api/v1/targets/metadata": self.targets_metadata,
            "/api/v1/format_query": lambda r: Response(200, _envelope(format_query(r.get("query")))),
            "/api/v1/parse_query": lambda r: Response(200, _envelope(parse_query(r.get("query")))),
        }
        if query_handler is not None:
            self._routes["/api/v1/query"] = self._routes["/api/v1/query_range"] = query_handler

    # --- dispatch -----------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        handler = self._routes.get(request.path)
        if handler is None and request.path.startswith("/api/v1/label/"):
            handler = self.label_values
        if handler is None:
            return error_response("not_found", f"no API endpoint at {request.path}")
        if request.method not in ("GET", "POST"):
            return Response(405, b'{"status":"error","errorType":"bad_data","error":"method not allowed"}')
        try:
            return handler(request)
        except APIError as exc:
            return error_response(exc.error_type, str(exc))
        except QueryError as exc:
            return error_response(exc.error_type, str(exc))
        except ValueError as exc:
            return error_response("bad_data", str(exc))

    # --- queries ------------------------------------------------------------------------

    def _timeout_ms(self, request: Request) -> int | None:
        raw = request.get("timeout")
        return None if raw is None else parse_duration_ms(raw, "timeout")

    def query(self, request: Request) -> Response:
        expr = request.get("query")
        if not expr:
            raise APIError("bad_data", 'invalid parameter "query": query must not be empty')
        raw_time = request.get("time")
        t_ms = round(self._clock() * 1000) if raw_time is None else parse_time_ms(raw_time, "time")
        began = time.perf_counter()
        result = self._engine_factory(self._timeout_ms(request)).instant_query(expr, t_ms)
        return Response(200, _result_envelope(result, self._stats(request, result, began)))

    def query_range(self, request: Request) -> Response:
        expr = request.get("query")
        start_raw, end_raw, step_raw = request.get("start"), request.get("end"), request.get("step")
        if start_raw is None:
            raise APIError("bad_data", 'invalid parameter "start": missing')
        if end_raw is None:
            raise APIError("bad_data", 'invalid parameter "end": missing')
        if step_raw is None:
            raise APIError("bad_data", 'invalid parameter "step": missing')
        start, end = parse_time_ms(start_raw, "start"), parse_time_ms(end_raw, "end")
        if end < start:
            raise APIError("bad_data", 'invalid parameter "end": end timestamp must not be before start time')
        step = parse_duration_ms(step_raw, "step")
        if step <= 0:
            raise APIError(
                "bad_data",
                'invalid parameter "step": zero or negative query resolution step widths are not '
                "accepted. Try a positive integer",
            )
        if (end - start) // step > MAX_POINTS_PER_SERIES:
            raise APIError(
                "bad_data",
                "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the "
                "query resolution (?step=XX)",
            )
        if not expr:
            raise APIError("bad_data", 'invalid parameter "query": query must not be empty')
        began = time.perf_counter()
        result = self._engine_factory(self._timeout_ms(request)).range_query(expr, start, end, step)
        return Response(200, _result_envelope(result, self._stats(request, result, began)))

    @staticmethod
    def _stats(request: Request, result: QueryResultLike, began: float) -> dict[str, object] | None:
        """Prometheus adds ``stats`` for any non-empty ``stats`` parameter."""
        if not request.get("stats"):
            return None
        return query_stats(getattr(result, "samples_loaded", 0), time.perf_counter() - began)

    def query_exemplars(self, request: Request) -> Response:
        self._range(request)
        parse_expr(request.get("query") or "")  # as Prometheus: no query is bad_data
        # Exemplars are not stored; an empty answer keeps Grafana's panels working.
        return Response(200, _envelope([]))

    # --- metadata about series ----------------------------------------------------------

    def _range(self, request: Request) -> tuple[int, int]:
        start, end = request.get("start"), request.get("end")
        mint = MIN_TIME_MS if start is None else parse_time_ms(start, "start")
        maxt = MAX_TIME_MS if end is None else parse_time_ms(end, "end")
        return mint, maxt

    def _limit(self, request: Request) -> int | None:
        raw = request.get("limit")
        if raw is None:
            return None
        try:
            limit = int(raw)
        except ValueError:
            raise APIError("bad_data", f'invalid parameter "limit": cannot parse "{raw}"') from None
        if limit < 0:
            raise APIError("bad_data", 'invalid parameter "limit": limit must be non-negative')
        return limit or None

    def _matcher_sets(self, request: Request, *, required: bool = False) -> list[Sequence[Matcher]]:
        return matcher_sets(request, self._parse_selector, required=required)

    def series(self, request: Request) -> Response:
        sets = self._matcher_sets(request, required=True)
        mint, maxt = self._range(request)
        limit = self._limit(request)
        querier = self._querier_factory()
        seen: dict[tuple[tuple[str, str], ...], None] = {}
        for matchers in sets:
            for s in querier.select(matchers, mint, maxt):
                seen[s.labels] = None
        label_sets = sorted(seen)
        warnings = []
        if limit is not None and len(label_sets) > limit:
            label_sets = label_sets[:limit]
            warnings.append("results truncated due to limit")
        return Response(200, _envelope([dict(ls) for ls in label_sets], warnings))

    def labels(self, request: Request) -> Response:
        mint, maxt = self._range(request)
        querier = self._querier_factory()
        matcher_sets = self._matcher_sets(request) or [()]
        names: set[str] = set()
        for matchers in matcher_sets:
            names.update(querier.label_names(matchers, mint, maxt))
        return Response(200, _envelope(*self._truncate(sorted(names), self._limit(request))))

    def label_values(self, request: Request) -> Response:
        name = request.path[len("/api/v1/label/") :]
        if not name.endswith("/values"):
            return error_response("not_found", f"no API endpoint at {request.path}")
        name = name[: -len("/values")]
        if LABEL_NAME_RE.fullmatch(name) is None:
            raise APIError("bad_data", f'invalid label name: "{name}"')
        mint, maxt = self._range(request)
        querier = self._querier_factory()
        values: set[str] = set()
        for matchers in self._matcher_sets(request) or [()]:
            values.update(querier.label_values(name, matchers, mint, maxt))
        return Response(200, _envelope(*self._truncate(sorted(values), self._limit(request))))

    @staticmethod
    def _truncate(items: list[str], limit: int | None) -> tuple[list[str], list[str]]:
        if limit is not None and len(items) > limit:
            return items[:limit], ["results truncated due to limit"]
        return items, []

    def metadata(self, request: Request) -> Response:
        if self._collector is None:
            return Response(200, _envelope({}))
        data = self._collector.metadata(request.get("metric") or None, self._limit(request))
        return Response(200, _envelope(data))

    def targets_metadata(self, request: Request) -> Response:
        limit = parse_metadata_limit(request.get("limit"))
        targets = self._active_targets() if self._active_targets is not None else ()
        data = target_metadata(targets, match_target=request.get("match_target"),
                               metric=request.get("metric"), limit=limit)
        return Response(200, _envelope(data))

    def status_tsdb(self, request: Request) -> Response:
        limit = tsdb_limit(request.get("limit"))
        if self._tsdb_status is None:
            raise APIError("unavailable", "no storage")
        return Response(200, _envelope(self._tsdb_status(limit)))

    # --- status -------------------------------------------------------------------------

    def targets(self, request: Request) -> Response:
        if self._collector is None:
            return Response(200, _envelope({"activeTargets": [], "droppedTargets": []}))
        state = request.get("state", "any") or "any"
        if state not in ("active", "dropped", "any"):
            state = "any"
        return Response(200, _envelope(self._collector.targets(state)))

    def buildinfo(self, request: Request) -> Response:
        return Response(200, _envelope(self._build_info))

    def status_config(self, request: Request) -> Response:
        text = "" if self._collector is None else self._collector.config_text
        return Response(200, _envelope({"yaml": text}))

    def status_flags(self, request: Request) -> Response:
        return Response(200, _envelope(self._flags))

    def runtimeinfo(self, request: Request) -> Response:
        if self._runtime_info is not None:
            return Response(200, _envelope(self._runtime_info()))
        return Response(200, _envelope({"storageRetention": self._flags.get("storage.tsdb.retention.time", "")}))

    def walreplay(self, request: Request) -> Response:
        """Write-ahead log replay progress: first, last and current segment."""
        if self._wal_replay is None:
            return error_response("unavailable", "no write-ahead log to report on")
        return Response(200, _envelope(dict(self._wal_replay())))

    def rules(self, request: Request) -> Response:
        wanted = RuleFilter(request.get("type"), request.get_all("rule_name[]"), request.get_all("rule_group[]"),
                            request.get_all("file[]"))
        return Response(200, _envelope(rules_data(self._rule_groups(), wanted)))

    def alerts(self, request: Request) -> Response:
        return Response(200, _envelope(alerts_data(self._rule_groups())))

    def alertmanagers(self, request: Request) -> Response:
        if self._alertmanagers is None:
            return Response(200, _envelope({"activeAlertmanagers": [], "droppedAlertmanagers": []}))
        return Response(200, _envelope(self._alertmanagers()))
