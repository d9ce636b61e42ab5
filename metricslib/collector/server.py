"""``metricslib collector``: wires the store, the scrape runtime, the engine and HTTP together.

This is the only module that knows every part; each part knows only the
interface it needs (the runtime an Appender, the engine a Querier).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from metricslib.collector.config.durations import parse_duration
from metricslib.collector.malloc import tune_malloc
from metricslib.collector.model import Matcher
from metricslib.collector.promql.engine import Engine
from metricslib.collector.promql.gate import DEFAULT_MAX_CONCURRENCY, QueryGate
from metricslib.collector.promql.parser.parse import parse_matchers
from metricslib.collector.scrape.manager import Collector
from metricslib.collector.storage import open_storage
from metricslib.collector.storage.remote.write import ForwardingStorage, RemoteWriteQueue
from metricslib.collector.web.api.v1 import PrometheusAPI, Response
from metricslib.collector.web.federate import make_federate_handler
from metricslib.collector.web.selfmetrics import SelfMetrics
from metricslib.collector.web.server import CollectorHTTPServer, Routes, serve
from metricslib.errors import ConfigError

__all__ = ["CollectorServer", "ServerOptions", "parse_selector", "run_collector_cli"]

API_COMPAT_VERSION = "2.42.0"


def parse_selector(text: str) -> Sequence[Matcher]:
    """Matchers of a series selector such as ``up{job="api"}`` (for ``match[]``)."""
    expr = parse_matchers(text)
    if all(m.matches_empty() for m in expr.matchers):
        raise ValueError("match[] must contain at least one non-empty matcher")
    return expr.matchers


@dataclass
class ServerOptions:
    config_file: str
    data_dir: str = "./data"
    host: str = "127.0.0.1"
    port: int = 9090
    retention_ms: int = 15 * 86_400_000
    flush_interval_s: float = 5.0
    query_timeout_s: float = 120.0
    query_max_samples: int = 50_000_000
    query_max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    experimental_functions: bool = False
    flags: dict[str, str] = field(default_factory=dict)


class CollectorServer:
    """The running collector: storage, scraping and HTTP, started and stopped as one."""

    def __init__(self, options: ServerOptions, *, clock: Callable[[], float] = time.time) -> None:
        self.options = options
        Path(options.data_dir).mkdir(parents=True, exist_ok=True)
        self.storage = open_storage(
            options.data_dir,
            retention_ms=options.retention_ms,
            flush_interval_s=options.flush_interval_s,
        )
        try:
            self.ingest = ForwardingStorage(self.storage, [])
            self.collector = Collector(options.config_file, self.ingest, clock=clock)
            # Remote write is read once at start: changing receivers needs a restart.
            self.remote_queues = [
                RemoteWriteQueue(rw, external_labels=self.collector.external_labels)
                for rw in self.collector.config.remote_write
            ]
            self.ingest.queues.extend(self.remote_queues)
        except BaseException:
            self.storage.close()
            raise
        self._clock = clock
        self.query_gate = QueryGate(options.query_max_concurrency)
        self._http: CollectorHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.self_metrics = SelfMetrics(self.storage, self.collector, self.remote_queues)
        self.self_metrics.registry.register(self.query_gate)
        api = PrometheusAPI(
            engine_factory=self._engine,
            querier_factory=self.storage.querier,
            parse_selector=parse_selector,
            collector=self.collector,
            flags=options.flags,
            build_info={
                "version": API_COMPAT_VERSION,
                "revision": "metricslib",
                "branch": "metricslib",
                "buildUser": "metricslib",
                "buildDate": "",
                "goVersion": f"python{sys.version_info.major}.{sys.version_info.minor}",
            },
            clock=clock,
        )
        self.routes = Routes(
            api=api,
            federate=make_federate_handler(
                self.storage.querier, parse_selector, clock, self.collector.external_labels
            ),
            reload=self.collector.reload,
            ready=lambda: self.collector.ready,
            own_metrics=self._own_metrics,
        )

    def _engine(self, timeout_ms: int | None) -> Engine:
        timeout_s = self.options.query_timeout_s
        if timeout_ms is not None:
            timeout_s = min(timeout_s, timeout_ms / 1000)
        return Engine(
            self.storage.querier(),
            timeout_s=timeout_s,
            max_samples=self.options.query_max_samples,
            gate=self.query_gate,
            enable_experimental=self.options.experimental_functions,
        )

    def _own_metrics(self, accept: str) -> Response:
        body, content_type = self.self_metrics.render(accept)
        return Response(200, body, content_type)

    @property
    def url(self) -> str:
        assert self._http is not None
        host, port = self._http.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self.ingest.start()
        self.collector.start()
        self._http, self._thread = serve(self.options.host, self.options.port, self.routes)

    def stop(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
        self.collector.stop()
        self.ingest.close()  # sends what the remote queues hold, then closes the store


KNOWN_FEATURES = frozenset({"promql-experimental-functions"})


def _options_from_args(args: argparse.Namespace) -> ServerOptions:
    host, _, port = str(args.listen).rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"--listen must be HOST:PORT, got {args.listen!r}")
    features = {f.strip() for value in args.enable_feature for f in value.split(",") if f.strip()}
    unknown = sorted(features - KNOWN_FEATURES)
    if unknown:
        # Prometheus only warns: a flag line shared with it must not stop us.
        print(f"metricslib collector: ignoring unknown --enable-feature {', '.join(unknown)}", file=sys.stderr)
    return ServerOptions(
        config_file=args.config,
        data_dir=args.data_dir,
        host=host.strip("[]"),
        port=int(port),
        retention_ms=parse_duration(args.retention),
        flush_interval_s=parse_duration(args.flush_interval).seconds,
        query_timeout_s=parse_duration(args.query_timeout).seconds,
        query_max_samples=args.query_max_samples,
        query_max_concurrency=args.query_max_concurrency,
        experimental_functions="promql-experimental-functions" in features,
        flags={
            "config.file": args.config,
            "storage.tsdb.path": args.data_dir,
            "storage.tsdb.retention.time": args.retention,
            "web.listen-address": args.listen,
            "query.timeout": args.query_timeout,
            "query.max-samples": str(args.query_max_samples),
            "query.max-concurrency": str(args.query_max_concurrency),
            "query.lookback-delta": "5m",
            "enable-feature": ",".join(sorted(features)),
        },
    )


def run_collector_cli(args: argparse.Namespace) -> int:
    tune_malloc()  # the process is ours: keep query temporaries' memory between queries
    try:
        options = _options_from_args(args)
        server = CollectorServer(options)
    except (ConfigError, ValueError, OSError) as exc:
        print(f"metricslib collector: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_hup(signum: int, frame: FrameType | None) -> None:
        try:
            server.collector.reload()
            print("metricslib collector: configuration reloaded", file=sys.stderr)
        except ConfigError as exc:
            print(f"metricslib collector: reload failed, keeping the old config: {exc}", file=sys.stderr)

    def on_term(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGHUP, on_hup)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    try:
        server.start()
    except OSError as exc:
        print(f"metricslib collector: cannot listen on {args.listen}: {exc}", file=sys.stderr)
        server.stop()
        return 2
    print(f"metricslib collector: serving on {server.url} (data in {options.data_dir})", file=sys.stderr, flush=True)
    try:
        while not stop.wait(1.0):
            pass
    finally:
        server.stop()
    return 0
