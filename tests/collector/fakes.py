"""Small stand-ins for the API tests: a list-backed Querier and a canned engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from metricslib.collector.model import Labels, Matcher, make_labels
from tests.collector.promql.memstore import MemoryQuerier


def list_querier(series: dict[Labels, list[tuple[int, float]]]) -> MemoryQuerier:
    """The PromQL tests' in-memory Querier, filled from a literal."""
    querier = MemoryQuerier()
    for labels, samples in series.items():
        querier.add_series(labels, samples)
    return querier


def sample_querier() -> MemoryQuerier:
    return list_querier(
        {
            make_labels({"__name__": "up", "job": "api", "instance": "a:1"}): [(1000, 1.0), (16000, 1.0)],
            make_labels({"__name__": "up", "job": "web", "instance": "b:2"}): [(1000, 0.0)],
            make_labels({"__name__": "http_requests_total", "job": "api", "code": "200"}): [(1000, 5.0)],
        }
    )


@dataclass
class CannedResult:
    data: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    infos: list[str] = field(default_factory=list)

    def to_api(self) -> dict[str, Any]:
        return self.data


@dataclass
class RecordingEngine:
    """Records the calls it gets and answers a fixed vector."""

    calls: list[tuple[Any, ...]] = field(default_factory=list)
    error: Exception | None = None

    def instant_query(self, query: str, t_ms: int) -> CannedResult:
        self.calls.append(("instant", query, t_ms))
        if self.error is not None:
            raise self.error
        return CannedResult({"resultType": "vector", "result": [{"metric": {"__name__": "up"}, "value": [t_ms / 1000, "1"]}]})

    def range_query(self, query: str, start_ms: int, end_ms: int, step_ms: int) -> CannedResult:
        self.calls.append(("range", query, start_ms, end_ms, step_ms))
        if self.error is not None:
            raise self.error
        return CannedResult({"resultType": "matrix", "result": []}, ["a warning"], ["an info"])


def simple_selector(text: str) -> list[Matcher]:
    """Enough of a selector parser for the API tests: ``name`` or ``name{a="b"}``."""
    name, _, rest = text.partition("{")
    matchers = [Matcher("__name__", "=", name)] if name else []
    for part in filter(None, rest.rstrip("}").split(",")):
        key, _, value = part.partition("=")
        matchers.append(Matcher(key.strip(), "=", value.strip().strip('"')))
    if not matchers:
        raise ValueError(f"{text!r} is not a selector")
    return matchers
