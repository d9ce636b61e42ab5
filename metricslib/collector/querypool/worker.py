"""The query process: evaluates the API's PromQL queries over select plans from the collector.

Run as ``python -m metricslib.collector.querypool FD`` by ``pool.py``
with one end of a Unix socket pair as file descriptor FD. It answers one
request at a time. For each select the engine makes, it asks the collector
for a plan (``storage/plan.py``) and joins the plan's chunks itself: its own
read-only connection to the store's SQLite file and its own chunk cache. The
labels of a series come once per series id and are kept here (ids are never
reused). The query routes run through the same :class:`PrometheusAPI` code
as in the collector, so parameters, errors, limits and JSON are the same.

It exits when the collector closes its end (or dies): nothing outlives it.
"""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from metricslib.collector.model import Labels, Matcher, Series, SeriesBatch
from metricslib.collector.promql.engine import Engine
from metricslib.collector.promql.gate import QueryGate
from metricslib.collector.querypool.wire import Channel
from metricslib.collector.storage.base import Querier
from metricslib.collector.storage.chunk_reader import ChunkReader
from metricslib.collector.storage.plan import SelectPlan
from metricslib.collector.storage.querier import select_joined
from metricslib.collector.storage.readonly import open_chunk_reader
from metricslib.collector.web.api.v1 import PrometheusAPI, Request, Response
from metricslib.errors import StorageError

__all__ = ["PlanMessage", "RemoteQuerier", "WorkerSettings", "main", "serve"]


@dataclass(frozen=True)
class WorkerSettings:
    """What a query process needs to know: where the chunks are and the engine's options."""

    data_dir: str
    cache_samples: int = 4_000_000
    timeout_s: float = 120.0
    max_samples: int = 50_000_000
    enable_experimental: bool = False
    lookback_delta_ms: int = 300_000
    #: added to the process's nice value (0: the collector's own). +10 was measured at
    #: 200k series x 1 s beside a real Prometheus: scrapes on schedule did not move
    #: beyond the noise (0.79-0.89 against 0.86-0.89) while the query took 1.04-1.47x
    #: Prometheus's time instead of 0.80-0.85x, so the default leaves the priority alone.
    nice: int = 0

    def engine(self, querier: Querier, timeout_ms: int | None, gate: QueryGate | None = None) -> Engine:
        """An engine with these options; a request's own ``timeout`` can only shorten
        the configured one. (The collector builds its in-process engines here too.)"""
        timeout_s = self.timeout_s if timeout_ms is None else min(self.timeout_s, timeout_ms / 1000)
        return Engine(
            querier,
            timeout_s=timeout_s,
            max_samples=self.max_samples,
            gate=gate,
            enable_experimental=self.enable_experimental,
            lookback_delta_ms=self.lookback_delta_ms,
        )


@dataclass
class PlanMessage:
    """A select plan on the wire: ``plan.labels`` is empty; the labels of the series the
    process has not seen yet are ``new_labels``, for positions ``new`` of ``plan.sids``."""

    plan: SelectPlan
    new: npt.NDArray[np.int64]
    new_labels: list[Labels]


class RemoteQuerier:
    """A Querier whose selects are planned by the collector and joined here."""

    def __init__(self, conn: Channel, chunks: ChunkReader) -> None:
        self._conn = conn
        self._chunks = chunks
        self._labels: dict[int, Labels] = {}

    def _ask(self, *message: object) -> object:
        self._conn.send(message)
        reply = self._conn.recv()
        assert isinstance(reply, tuple)
        if reply[0] == "error":
            raise StorageError(str(reply[1]))
        return reply[1]

    def select_batch(self, matchers: Sequence[Matcher], mint_ms: int, maxt_ms: int) -> SeriesBatch:
        return select_joined(lambda: self._plan(matchers, mint_ms, maxt_ms), self._chunks)

    def _plan(self, matchers: Sequence[Matcher], mint_ms: int, maxt_ms: int) -> SelectPlan:
        """The collector's plan, with the labels of the series ids it named."""
        msg = self._ask("select", list(matchers), mint_ms, maxt_ms)
        assert isinstance(msg, PlanMessage)
        plan = msg.plan
        known = self._labels
        known.update(zip(plan.sids[msg.new].tolist(), msg.new_labels, strict=True))
        plan.labels = list(map(known.__getitem__, plan.sids.tolist()))
        return plan

    def select(self, matchers: Sequence[Matcher], mint_ms: int, maxt_ms: int) -> list[Series]:
        return self.select_batch(matchers, mint_ms, maxt_ms).series()

    def label_names(
        self, matchers: Sequence[Matcher] = (), mint_ms: int | None = None, maxt_ms: int | None = None
    ) -> list[str]:
        names = self._ask("call", "label_names", (list(matchers), mint_ms, maxt_ms))
        assert isinstance(names, list)
        return names

    def label_values(
        self, name: str, matchers: Sequence[Matcher] = (), mint_ms: int | None = None, maxt_ms: int | None = None
    ) -> list[str]:
        values = self._ask("call", "label_values", (name, list(matchers), mint_ms, maxt_ms))
        assert isinstance(values, list)
        return values


def _no_selectors(text: str) -> Sequence[Matcher]:
    raise ValueError("match[] is answered by the collector, not a query process")


def serve(conn: Channel) -> None:
    """Answer requests on ``conn`` until the collector closes it."""
    settings = conn.recv()
    assert isinstance(settings, WorkerSettings)
    if settings.nice:
        # For machines where a query may wait and a scrape may not: the collector
        # process keeps its priority, so on busy cores it gets the CPU first.
        os.nice(settings.nice)
    querier = RemoteQuerier(conn, open_chunk_reader(settings.data_dir, settings.cache_samples))

    def engine(timeout_ms: int | None) -> Engine:
        return settings.engine(querier, timeout_ms)

    api = PrometheusAPI(engine_factory=engine, querier_factory=lambda: querier, parse_selector=_no_selectors)
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        assert isinstance(message, tuple) and message[0] == "query"
        request = message[1]
        assert isinstance(request, Request)
        try:
            response: Response | str = api.handle(request)
        except Exception as exc:  # as the HTTP server: a bug answers 500, the process lives on
            response = str(exc)
        conn.send(("done", response))


def main(argv: Sequence[str]) -> int:
    # The collector handles Ctrl-C and stops its query processes itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    fd = int(argv[0])
    conn = Channel(socket.socket(fileno=fd))
    try:
        serve(conn)
    except (EOFError, ConnectionError):
        pass  # the collector went away mid-query: nobody is waiting for an answer
    finally:
        conn.close()
    return 0

