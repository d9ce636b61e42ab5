"""The ``metricslib`` command: argument parsing only.

Each subcommand imports its implementation lazily, so ``metricslib check
metrics`` works without the collector's dependencies being imported first and
``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

__all__ = ["add_collector_arguments", "build_parser", "main", "version_text"]

#: The Prometheus release whose HTTP API and behaviour the collector follows.
PROMETHEUS_COMPAT = "2.42.0"


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line (``prog: error: ...``), as Prometheus's kingpin prints them."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def version_text() -> str:
    try:
        from importlib.metadata import version

        ours = version("metricslib")
    except Exception:  # not installed (running from a checkout)
        ours = "unknown"
    return f"metricslib, version {ours} (Prometheus API {PROMETHEUS_COMPAT}, python {sys.version.split()[0]})"


def add_collector_arguments(col: argparse.ArgumentParser) -> None:
    """``metricslib collector``'s flags: Prometheus's names first, ours as aliases."""
    col.add_argument("--version", action="version", version=version_text())
    col.add_argument("--config.file", "--config", dest="config", default="prometheus.yml",
                     help="Prometheus configuration file path")
    col.add_argument("--storage.tsdb.path", "--data-dir", dest="data_dir", default="data/",
                     help="base path for metrics storage")
    col.add_argument("--storage.tsdb.retention.time", "--retention", dest="retention", default="15d",
                     help="how long to retain samples in storage")
    col.add_argument("--storage.tsdb.retention.size", dest="retention_size", default="0B",
                     help="most bytes of storage (units B, KB, MB, GB, TB, PB, EB; 0 means off); "
                     "the oldest chunks go first")
    col.add_argument("--web.listen-address", "--listen", dest="listen", default="127.0.0.1:9090",
                     help="HOST:PORT to listen on for UI, API and telemetry")
    col.add_argument("--web.external-url", dest="external_url", default="",
                     help="the URL under which the collector is externally reachable; its path "
                     "is the default --web.route-prefix")
    col.add_argument("--web.route-prefix", dest="route_prefix", default=None,
                     help="prefix for the internal routes of web endpoints (default: the path of "
                     "--web.external-url)")
    col.add_argument("--web.config.file", dest="web_config_file", default=None, metavar="FILE",
                     help="TLS, basic auth and response headers, in Prometheus's web config format "
                     "(docs/web-config.md); re-read for new connections when it changes")
    col.add_argument("--web.enable-lifecycle", dest="enable_lifecycle", action="store_true",
                     help="enable shutdown and reload via HTTP request (/-/quit, /-/reload)")
    col.add_argument("--web.enable-admin-api", dest="enable_admin_api", action="store_true",
                     help="enable API endpoints for admin control actions (/api/v1/admin/tsdb/*)")
    col.add_argument("--web.enable-remote-write-receiver", dest="enable_remote_write_receiver", action="store_true",
                     help="accept remote-write requests on /api/v1/write (docs/collector.md)")
    col.add_argument("--flush-interval", default="30s",
                     help="how often new samples are checkpointed into SQLite (the write-ahead log holds "
                          "every commit meanwhile)")
    col.add_argument("--query.timeout", "--query-timeout", dest="query_timeout", default="2m",
                     help="maximum time a query may take before being aborted")
    col.add_argument("--query.max-samples", "--query-max-samples", dest="query_max_samples",
                     type=int, default=50_000_000,
                     help="maximum number of samples a single query can load into memory")
    col.add_argument("--query.lookback-delta", dest="lookback_delta", default="5m",
                     help="how far back to look for a sample when evaluating an instant vector")
    col.add_argument("--query.max-concurrency", "--query-max-concurrency", dest="query_max_concurrency",
                     type=int, default=20,
                     help="maximum number of queries executed concurrently; more wait in line within their timeout")
    col.add_argument("--query.processes", dest="query_processes", type=int, default=1,
                     help="processes that evaluate /api/v1/query and /api/v1/query_range, so a heavy query "
                          "cannot starve the scrapes (metricslib's own flag); 0 evaluates them in the "
                          "collector process")
    col.add_argument("--rules.alert.for-outage-tolerance", dest="outage_tolerance", default="1h",
                     help="longest outage after which 'for' state is still restored")
    col.add_argument("--rules.alert.for-grace-period", dest="grace_period", default="10m",
                     help="least time between a restart and a restored alert firing")
    col.add_argument("--rules.alert.resend-delay", dest="resend_delay", default="1m",
                     help="how often a firing alert is re-sent to Alertmanager")
    col.add_argument(
        "--dashboards", action="append", default=[], metavar="DIR",
        help="load every *.json (Grafana) and *.yml dashboard in DIR; reloaded with the config (repeatable)",
    )
    col.add_argument(
        "--enable-feature",
        action="append",
        default=[],
        metavar="FEATURE",
        help="as Prometheus: 'promql-experimental-functions' admits limitk, sort_by_label, "
        "duration expressions, ... (repeatable, or comma-separated)",
    )
    col.add_argument("--log.level", dest="log_level", default="info",
                     choices=("debug", "info", "warn", "error"), help="only log messages at or above this level")
    col.add_argument("--log.format", dest="log_format", default="logfmt",
                     choices=("logfmt", "json"), help="output format of log messages")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="metricslib", description="Prometheus-compatible metrics toolkit.")
    parser.add_argument("--version", action="version", version=version_text())
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    col = sub.add_parser(
        "collector",
        help="scrape targets, store samples, serve PromQL and a UI",
        description="Prometheus's flag names are accepted beside ours, as --flag=value or --flag value.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        # No prefix matching: an abbreviated or unknown Prometheus flag is an error naming it.
        allow_abbrev=False,
    )
    add_collector_arguments(col)
    check = sub.add_parser("check", help="validate a config file or exposition text")
    check_sub = check.add_subparsers(dest="what", required=True, metavar="WHAT")
    cc = check_sub.add_parser("config", help="check a prometheus.yml")
    cc.add_argument("file")
    cr = check_sub.add_parser("rules", help="check rule files as promtool check rules does")
    cr.add_argument("--lint", choices=("all", "duplicate-rules", "none"), default="duplicate-rules")
    cr.add_argument("--lint-fatal", action="store_true", help="exit 3 on lint findings")
    cr.add_argument("--utf8-names", action="store_true", help="Prometheus 3's UTF-8 metric and label names")
    cr.add_argument("files", nargs="+", metavar="FILE")
    cm = check_sub.add_parser("metrics", help="check exposition text (file or - for stdin)")
    cm.add_argument("--format", choices=("text", "openmetrics"), default=None)
    cm.add_argument("file", nargs="?", default="-")

    test = sub.add_parser("test", help="run rule unit tests (promtool test rules format)")
    test_sub = test.add_subparsers(dest="what", required=True, metavar="WHAT")
    tr = test_sub.add_parser("rules", help="run promtool rule unit-test files")
    tr.add_argument("--run", action="append", default=[], metavar="REGEX",
                    help="only test groups whose name matches (repeatable)")
    tr.add_argument("--ignore-unknown-fields", action="store_true", help="ignore unknown fields in rule files")
    tr.add_argument("files", nargs="+", metavar="FILE")

    imp = sub.add_parser("import", help="backfill an OpenMetrics or text file into the store")
    imp.add_argument("--data-dir", default="./data")
    imp.add_argument("--format", choices=("text", "openmetrics"), default=None)
    bar = imp.add_mutually_exclusive_group()
    bar.add_argument("--progress", dest="progress", action="store_true", default=None,
                     help="draw a progress bar even when stderr is not a terminal")
    bar.add_argument("--no-progress", dest="progress", action="store_false",
                     help="never draw a progress bar")
    imp.add_argument("file")

    q = sub.add_parser("query", help="run a PromQL query against a Prometheus-compatible API")
    q.add_argument("expr")
    q.add_argument("--url", default="http://127.0.0.1:9090")
    q.add_argument("--time", default=None, help="instant query time (RFC 3339, Unix, now or now-5m)")
    q.add_argument("--start", default=None, help="range start (RFC 3339, Unix, or relative: now-1h)")
    q.add_argument("--end", default=None, help="range end (RFC 3339, Unix, now or now-5m)")
    q.add_argument("--step", default=None)
    q.add_argument("--format", choices=("table", "json"), default="table")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        flag = extra[0].split("=", 1)[0]
        where = f"{parser.prog} {args.command}"
        if flag.startswith("-"):
            parser.exit(2, f"{where}: error: unknown flag {flag} (not implemented; see {where} --help)\n")
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command == "collector":
        from metricslib.collector.server import run_collector_cli

        return run_collector_cli(args)
    if args.command == "check" and args.what == "config":
        from metricslib.collector.config.config import check_config_cli

        return check_config_cli(args.file)
    if args.command == "test":
        from metricslib.collector.rules.unittest import test_rules_cli

        return test_rules_cli(args.files, run=args.run, ignore_unknown_fields=args.ignore_unknown_fields)
    if args.command == "check" and args.what == "rules":
        from metricslib.collector.rules.check import check_rules_cli

        return check_rules_cli(args.files, lint=args.lint, lint_fatal=args.lint_fatal, utf8_names=args.utf8_names)
    if args.command == "check":
        from metricslib.collector.textparse.formats import check_metrics_cli

        return check_metrics_cli(args.file, args.format)
    if args.command == "import":
        from metricslib.collector.storage.importer import import_cli

        return import_cli(args.data_dir, args.file, args.format, progress=args.progress)
    from metricslib.collector.querycli import query_cli

    return query_cli(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
