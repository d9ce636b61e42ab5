"""``metricslib collector``: wires the store, the scrape runtime, the engine and HTTP together.

This is the only module that knows every part; each part knows only the
interface it needs (the runtime an Appender, the engine a Querier).
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import re
import signal
import socket
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import FrameType

from metricslib.collector.config.config import Config, load_config
from metricslib.collector.config.durations import parse_duration
from metricslib.collector.malloc import tune_malloc
from metricslib.collector.model import Matcher
from metricslib.collector.notifier.alert import Alert
from metricslib.collector.notifier.manager import NotifierManager
from metricslib.collector.promql.engine import Engine
from metricslib.collector.promql.gate import DEFAULT_MAX_CONCURRENCY, QueryGate
from metricslib.collector.promql.parser.parse import parse_matchers
from metricslib.collector.querypool.pool import QueryPool
from metricslib.collector.querypool.worker import WorkerSettings
from metricslib.collector.rules.manager import ManagerOptions, RuleManager
from metricslib.collector.rules.metrics import RuleMetrics
from metricslib.collector.rules.query import engine_query
from metricslib.collector.scrape.manager import Collector
from metricslib.collector.storage import open_storage
from metricslib.collector.storage.remote.write import ForwardingStorage, RemoteWriteQueue
from metricslib.collector.web.api.admin import AdminAPI
from metricslib.collector.web.api.remote_write import RemoteWriteReceiver
from metricslib.collector.web.api.runtimeinfo import RuntimeInfo
from metricslib.collector.web.api.v1 import PrometheusAPI, Request, Response
from metricslib.collector.web.federate import make_federate_handler
from metricslib.collector.web.selfmetrics import SelfMetrics
from metricslib.collector.web.server import CollectorHTTPServer, Routes
from metricslib.collector.web.ui.dashboards import DashboardSet
from metricslib.errors import ConfigError, StorageError
from metricslib.web_guard import WebConfigFile

__all__ = ["CollectorServer", "ServerOptions", "parse_selector", "run_collector_cli"]

API_COMPAT_VERSION = "2.42.0"
#: The interpreter's GIL switch interval in the collector process (Python's default: 5 ms).
SWITCH_INTERVAL_S = 0.0005


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
    flush_interval_s: float = 30.0  # the CLI's default: per-series flush work, spread over more samples
    query_timeout_s: float = 120.0
    query_max_samples: int = 50_000_000
    query_max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    #: query processes for /api/v1/query(_range) (querypool/); 0: evaluate them in this process
    query_processes: int = 1
    experimental_functions: bool = False
    flags: dict[str, str] = field(default_factory=dict)
    dashboard_dirs: tuple[str, ...] = ()
    retention_bytes: int = 0
    lookback_delta_ms: int = 300_000
    external_url: str = ""
    route_prefix: str = ""
    enable_lifecycle: bool = False
    enable_admin_api: bool = False
    enable_remote_write_receiver: bool = False  # POST /api/v1/write
    web_config_file: str | None = None  # --web.config.file: TLS, basic auth, headers
    rules_outage_tolerance_ms: int = 3_600_000
    rules_grace_period_ms: int = 600_000
    rules_resend_delay_ms: int = 60_000


class CollectorServer:
    """The running collector: storage, scraping and HTTP, started and stopped as one."""

    def __init__(
        self,
        options: ServerOptions,
        *,
        clock: Callable[[], float] = time.time,
        http: CollectorHTTPServer | None = None,
        notify: Callable[[Sequence[Alert]], None] | None = None,
        web_config: WebConfigFile | None = None,
        config: Config | None = None,
    ) -> None:
        """``http``: a server already bound (the CLI binds before creating anything on disk);
        ``web_config`` and ``config``: the files already read by the caller.

        ``notify`` receives each batch of alerts due to Alertmanager; by default
        the notifier built from the config's ``alerting`` section."""
        self.options = options
        # Read the config and the boards before anything is created: a typo must
        # not leave a data dir behind.
        if config is None:
            config = load_config(options.config_file)
        self.dashboards = DashboardSet(options.dashboard_dirs) if options.dashboard_dirs else None
        if web_config is None and options.web_config_file:
            web_config = WebConfigFile(options.web_config_file)
        self.web_config = web_config
        self.storage = open_storage(
            options.data_dir,
            retention_ms=options.retention_ms,
            flush_interval_s=options.flush_interval_s,
            retention_bytes=options.retention_bytes,
        )
        try:
            self.ingest = ForwardingStorage(self.storage, [])
            self.collector = Collector(options.config_file, self.ingest, clock=clock, config=config)
            # Remote write is read once at start: changing receivers needs a restart.
            self.remote_queues = [
                RemoteWriteQueue(rw, external_labels=self.collector.external_labels)
                for rw in self.collector.config.remote_write
            ]
            self.ingest.queues.extend(self.remote_queues)
            # The rules manager sends alerts through ``self.notifier.send``.
            self.notifier = NotifierManager(self.collector.config)
            self.rules = RuleManager(
                query=engine_query(lambda: self._engine(None)),
                appender=self.ingest.appender,
                querier=self.storage.querier,
                notify=notify or self.notifier.send,
                options=ManagerOptions(
                    outage_tolerance_ms=options.rules_outage_tolerance_ms,
                    grace_period_ms=options.rules_grace_period_ms,
                    resend_delay_ms=options.rules_resend_delay_ms,
                    external_url=options.external_url or f"http://{options.host}:{options.port}",
                ),
                clock=clock,
            )
            self.rules.update(self.collector.config)
        except BaseException:
            self.storage.close()
            raise
        self._clock = clock
        self.query_gate = QueryGate(options.query_max_concurrency)
        self._query_settings = WorkerSettings(
            data_dir=str(self.storage.db.dir), cache_samples=self.storage.cache.max_samples,
            timeout_s=options.query_timeout_s, max_samples=options.query_max_samples,
            enable_experimental=options.experimental_functions, lookback_delta_ms=options.lookback_delta_ms,
        )
        self.query_pool: QueryPool | None = None
        if options.query_processes > 0:
            self.query_pool = QueryPool(options.query_processes, self._query_settings, self.storage.querier,
                                        gate=self.query_gate, clock=clock)
        self._http: CollectorHTTPServer | None = http
        self._thread: threading.Thread | None = None
        #: Set by /-/quit (with --web.enable-lifecycle): whoever runs the server stops it.
        self.quit_requested = threading.Event()
        build_info = {
            "version": API_COMPAT_VERSION,
            "revision": "metricslib",
            "branch": "metricslib",
            "buildUser": "metricslib",
            "buildDate": "",
            "goVersion": f"python{sys.version_info.major}.{sys.version_info.minor}",
        }
        self.self_metrics = SelfMetrics(
            self.storage, self.collector, self.remote_queues,
            build_info=build_info,
            parts=[self.notifier.metrics],
            rules=RuleMetrics(self.rules.groups),
        )
        self.self_metrics.registry.register(self.query_gate)
        api = PrometheusAPI(
            engine_factory=lambda timeout_ms: self.self_metrics.timed(self._engine(timeout_ms)),
            querier_factory=self.storage.querier,
            parse_selector=parse_selector,
            collector=self.collector,
            flags=options.flags,
            build_info=build_info,
            clock=clock,
            alertmanagers=self.notifier.alertmanagers,
            wal_replay=self.storage.wal_replay.as_api,
            tsdb_status=self.storage.tsdb_status,
            runtime_info=RuntimeInfo(
                start_time=clock(),
                retention_ms=options.retention_ms,
                reload_state=lambda: (self.collector.last_reload_success, self.collector.last_reload_success_time),
            ),
            active_targets=self.collector.active_targets,
            rule_groups=self.rules.groups,
            query_handler=self._pooled_query if self.query_pool is not None else None,
        )
        self.routes = Routes(
            api=api,
            federate=make_federate_handler(
                self.storage.querier, parse_selector, clock, self.collector.external_labels
            ),
            reload=self.reload,
            ready=lambda: self.collector.ready,
            own_metrics=self._own_metrics,
            dashboards=self.dashboards,
            lifecycle=options.enable_lifecycle,
            quit=self.quit_requested.set,
            admin=AdminAPI(self.storage, parse_selector, enabled=options.enable_admin_api, clock=clock).handle,
            route_prefix=options.route_prefix,
            remote_write=RemoteWriteReceiver(self.ingest.appender, enabled=options.enable_remote_write_receiver).handle,
        )

    def reload(self) -> None:
        """Re-read the config and the dashboards; each keeps its old state when its new one is bad."""
        problems: list[str] = []
        for part in (self._reload_config, self.dashboards.reload if self.dashboards else None):
            if part is None:
                continue
            try:
                part()
            except ConfigError as exc:
                problems.append(str(exc))
        if problems:
            raise ConfigError("; ".join(problems))

    def _reload_config(self) -> None:
        """Scraping, rules and notifier from the config file; on ConfigError (a bad
        config or rule file) every part keeps what it runs."""
        try:
            config = load_config(self.options.config_file)
            groups = self.rules.build_groups(config)  # raises before anything changes
        except ConfigError:
            self.collector.reload_failed()  # a bad config or rule file fails the reload as a whole
            raise
        self.collector.reload(config)
        self.notifier.apply_config(config)
        self.rules.apply(groups)

    def _engine(self, timeout_ms: int | None) -> Engine:
        return self._query_settings.engine(self.storage.querier(), timeout_ms, gate=self.query_gate)

    def _pooled_query(self, request: Request) -> Response:
        assert self.query_pool is not None
        with self.self_metrics.query_timer():
            return self.query_pool.handle(request)

    def _own_metrics(self, accept: str) -> Response:
        body, content_type = self.self_metrics.render(accept)
        return Response(200, body, content_type)

    @property
    def url(self) -> str:
        assert self._http is not None
        host, port = self._http.server_address[:2]
        return f"{self._http.scheme}://{host!s}:{port}"

    def start(self) -> None:
        if self.query_pool is not None:
            self.query_pool.start()
        self.ingest.start()
        self.collector.start()
        self.notifier.start()
        self.rules.start()
        if self._http is None:
            self._http = CollectorHTTPServer((self.options.host, self.options.port), self.routes,
                                             web_config=self.web_config)
        else:
            self._http.routes = self.routes
            self._http.web_config = self.web_config
        self._http.observe = self.self_metrics.observe_http
        # A long poll: every wake-up takes the interpreter from the scrapes (20 a second
        # cost as much CPU as ingesting 10k series). stop() wakes the loop itself.
        self._thread = threading.Thread(target=self._http.serve_forever, kwargs={"poll_interval": 0.5},
                                        name="metricslib-http", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._http is not None:
            _shutdown_now(self._http)
            self._http.server_close()
        if self.query_pool is not None:
            self.query_pool.close()  # after HTTP: no query comes in any more
        self.rules.stop()
        self.collector.stop()
        self.notifier.stop()  # after the rule side stopped sending; drains for a few seconds
        self.ingest.close()  # sends what the remote queues hold, then closes the store


KNOWN_FEATURES = frozenset({"promql-experimental-functions"})
_SIZE_RE = re.compile(r"(\d+(?:\.\d+)?)((?:[KMGTPE]i?)?B)?")
_BYTE_UNITS = {"B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40, "PB": 1 << 50, "EB": 1 << 60}


def _shutdown_now(http: CollectorHTTPServer) -> None:
    """``http.shutdown()`` without waiting for the serve loop's poll interval:
    the loop sees the request when its ``select()`` returns, so connections wake it."""
    stopper = threading.Thread(target=http.shutdown, name="metricslib-http-stop", daemon=True)
    stopper.start()
    host, port = http.server_address[:2]
    host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(str(host), str(host))
    while stopper.is_alive():
        try:
            with socket.create_connection((host, int(port)), timeout=0.5):
                pass
        except OSError:
            pass  # the poll interval ends the loop anyway
        stopper.join(0.05)


def _duration_ms(flag: str, text: str) -> int:
    try:
        return int(parse_duration(text))
    except ValueError as exc:
        raise ValueError(f"--{flag}: {exc}") from None


def parse_retention_size(text: str) -> int:
    """Prometheus's ``--storage.tsdb.retention.size``: a number and a unit, powers of
    1024 (``512MB``, ``1.5GiB``, ``0B``); ``0`` turns it off."""
    match = _SIZE_RE.fullmatch(text.strip())
    if match is None:
        raise ValueError(
            f"--storage.tsdb.retention.size: not a valid size: {text!r} (use e.g. 0B, 512MB, 10GB)"
        )
    number, unit = match.groups()
    return int(float(number) * _BYTE_UNITS[(unit or "B").replace("i", "")])


def route_prefix(external_url: str, prefix: str | None) -> str:
    """The path every route is served under ("" for the root), as Prometheus derives it."""
    if prefix is None:
        prefix = urllib.parse.urlsplit(external_url).path if external_url else ""
    prefix = "/" + prefix.strip("/")
    return "" if prefix == "/" else prefix


def _options_from_args(args: argparse.Namespace) -> ServerOptions:
    host, sep, port = str(args.listen).rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"--web.listen-address must be HOST:PORT, got {args.listen!r}")
    # ":9090" listens on every interface, as Go's (and so Prometheus's) listeners do.
    host = host or "0.0.0.0"
    if args.external_url and not urllib.parse.urlsplit(args.external_url).scheme:
        raise ValueError(f"--web.external-url must be an absolute URL, got {args.external_url!r}")
    if args.query_processes < 0:
        raise ValueError(f"--query.processes must be 0 or more, got {args.query_processes}")
    if args.query_max_concurrency < 1:
        raise ValueError(f"--query.max-concurrency must be at least 1, got {args.query_max_concurrency}")
    features = {f.strip() for value in args.enable_feature for f in value.split(",") if f.strip()}
    unknown = sorted(features - KNOWN_FEATURES)
    if unknown:
        # Prometheus only warns: a flag line shared with it must not stop us.
        print(f"metricslib collector: ignoring unknown --enable-feature {', '.join(unknown)}", file=sys.stderr)
    retention_ms = _duration_ms("storage.tsdb.retention.time", args.retention)
    if retention_ms <= 0:
        raise ValueError(f"--storage.tsdb.retention.time must be positive, got {args.retention!r}")
    prefix = route_prefix(args.external_url, args.route_prefix)
    return ServerOptions(
        config_file=args.config,
        data_dir=args.data_dir,
        host=host.strip("[]"),
        port=int(port),
        retention_ms=retention_ms,
        retention_bytes=parse_retention_size(args.retention_size),
        flush_interval_s=_duration_ms("flush-interval", args.flush_interval) / 1000,
        query_timeout_s=_duration_ms("query.timeout", args.query_timeout) / 1000,
        query_max_samples=args.query_max_samples,
        lookback_delta_ms=_duration_ms("query.lookback-delta", args.lookback_delta),
        query_max_concurrency=args.query_max_concurrency,
        query_processes=args.query_processes,
        experimental_functions="promql-experimental-functions" in features,
        dashboard_dirs=tuple(args.dashboards),
        external_url=args.external_url,
        route_prefix=prefix,
        enable_lifecycle=args.enable_lifecycle,
        enable_admin_api=args.enable_admin_api,
        enable_remote_write_receiver=args.enable_remote_write_receiver,
        web_config_file=args.web_config_file,
        flags=_flags(args, features, prefix),
        rules_outage_tolerance_ms=parse_duration(args.outage_tolerance),
        rules_grace_period_ms=parse_duration(args.grace_period),
        rules_resend_delay_ms=parse_duration(args.resend_delay),
    )


def _flags(args: argparse.Namespace, features: set[str], prefix: str) -> dict[str, str]:
    """``/api/v1/status/flags``: every flag under Prometheus's name, values as given."""
    return {
        "config.file": args.config,
        "storage.tsdb.path": args.data_dir,
        "storage.tsdb.retention.time": args.retention,
        "storage.tsdb.retention.size": args.retention_size,
        "web.listen-address": args.listen,
        "web.external-url": args.external_url,
        "web.route-prefix": prefix or "/",
        "web.enable-lifecycle": str(args.enable_lifecycle).lower(),
        "web.enable-admin-api": str(args.enable_admin_api).lower(),
        "web.enable-remote-write-receiver": str(args.enable_remote_write_receiver).lower(),
        "web.config.file": args.web_config_file or "",
        "query.timeout": args.query_timeout,
        "query.max-samples": str(args.query_max_samples),
        "query.lookback-delta": args.lookback_delta,
        "query.max-concurrency": str(args.query_max_concurrency),
        "enable-feature": ",".join(sorted(features)),
        "log.level": args.log_level,
        "log.format": args.log_format,
        "flush-interval": args.flush_interval,
        "rules.alert.for-outage-tolerance": args.outage_tolerance,
        "rules.alert.for-grace-period": args.grace_period,
        "rules.alert.resend-delay": args.resend_delay,
    }


class _JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps({"ts": self.formatTime(record), "level": record.levelname.lower(),
                           "caller": record.name, "msg": record.getMessage()})


def _configure_logging(level: str, fmt: str) -> None:
    """``--log.level`` and ``--log.format`` for the standard logging tree, on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(_JSONFormatter())
    else:
        handler.setFormatter(logging.Formatter('ts=%(asctime)s level=%(levelname)s caller=%(name)s msg="%(message)s"'))
    logging.basicConfig(level=level.upper().replace("WARN", "WARNING"), handlers=[handler])


def _fail(message: object, status: int) -> int:
    print(f"metricslib collector: {message}", file=sys.stderr)
    return status


def run_collector_cli(args: argparse.Namespace) -> int:
    """Each operational error is one line on stderr and a non-zero exit status:
    2 for a bad flag value or config, 1 when the port or the data directory
    cannot be used, as Prometheus exits."""
    try:
        options = _options_from_args(args)
    except ValueError as exc:
        return _fail(exc, 2)
    _configure_logging(args.log_level, args.log_format)
    tune_malloc()  # the process is ours: keep query temporaries' memory between queries
    # A thread that wants the GIL waits up to the switch interval for a busy one (a
    # query) to hand it over, at every hand-off: a scrape gives it up for each socket
    # read and WAL write, so at the default 5 ms a long query delays every scrape by
    # tens of ms (see docs/benchmarks.md, "Queries beside scrapes (issue 12)").
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    try:
        config = load_config(options.config_file)
    except ConfigError as exc:
        return _fail(f"error loading config: {exc}", 2)
    try:  # the message names the web config file and key
        web_config = WebConfigFile(options.web_config_file) if options.web_config_file else None
    except ConfigError as exc:
        return _fail(exc, 2)
    # Bind before the store is opened, so a port in use creates nothing.
    try:
        http = CollectorHTTPServer((options.host, options.port), None)
    except OSError as exc:
        return _fail(f"cannot listen on {args.listen}: {exc.strerror or exc}", 1)
    gc.disable()  # until the head is rebuilt and frozen, below
    try:
        server = CollectorServer(options, http=http, web_config=web_config, config=config)
    except ConfigError as exc:
        http.server_close()
        return _fail(f"error loading config: {exc}", 2)
    except (StorageError, ValueError, OSError) as exc:
        http.server_close()
        return _fail(f"cannot open storage at {options.data_dir}: {exc}", 1)
    # What exists now (the head rebuilt from disk above all: millions of objects at
    # 200k series) lives as long as the process. Frozen, the cyclic GC never walks
    # it again; otherwise its first passes would land on the first queries.
    gc.freeze()
    gc.enable()
    stop = server.quit_requested

    def on_hup(signum: int, frame: FrameType | None) -> None:
        try:
            server.reload()
            print("metricslib collector: configuration reloaded", file=sys.stderr)
        except ConfigError as exc:
            print(f"metricslib collector: reload failed, keeping the old config: {exc}", file=sys.stderr)

    def on_term(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGHUP, on_hup)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    server.start()
    print(f"metricslib collector: serving on {server.url} (data in {options.data_dir})", file=sys.stderr, flush=True)
    try:
        while not stop.wait(1.0):
            pass
    finally:
        server.stop()
        # The interpreter's last collection at exit would walk every series
        # created since start (half a second at 200k); none of it is garbage.
        gc.freeze()
    return 0
