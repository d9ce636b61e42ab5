"""The ``metricslib`` command: argument parsing only.

Each subcommand imports its implementation lazily, so ``metricslib check
metrics`` works without the collector's dependencies being imported first and
``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="metricslib", description="Prometheus-compatible metrics toolkit."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    col = sub.add_parser("collector", help="scrape targets, store samples, serve PromQL and a UI")
    col.add_argument("--config", required=True, help="prometheus.yml to load")
    col.add_argument("--data-dir", default="./data", help="where samples are stored")
    col.add_argument(
        "--listen", default="127.0.0.1:9090", help="HOST:PORT for the API and UI"
    )
    col.add_argument("--retention", default="15d", help="how long samples are kept")
    col.add_argument(
        "--flush-interval", default="5s", help="longest time a sample waits before it is on disk"
    )
    col.add_argument("--query-timeout", default="2m", help="longest time a query may run")
    col.add_argument(
        "--query-max-samples", type=int, default=50_000_000, help="most samples a query may load"
    )
    col.add_argument(
        "--query-max-concurrency", "--query.max-concurrency", type=int, default=20,
        help="most queries run at once; more wait in line (as Prometheus's --query.max-concurrency)",
    )  # fmt: skip
    col.add_argument(
        "--enable-feature",
        action="append",
        default=[],
        metavar="FEATURE",
        help="as Prometheus: 'promql-experimental-functions' admits limitk, sort_by_label, "
        "duration expressions, ... (repeatable, or comma-separated)",
    )

    check = sub.add_parser("check", help="validate a config file or exposition text")
    check_sub = check.add_subparsers(dest="what", required=True, metavar="WHAT")
    cc = check_sub.add_parser("config", help="check a prometheus.yml")
    cc.add_argument("file")
    cm = check_sub.add_parser("metrics", help="check exposition text (file or - for stdin)")
    cm.add_argument("--format", choices=("text", "openmetrics"), default=None)
    cm.add_argument("file", nargs="?", default="-")

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
    q.add_argument("--time", default=None, help="instant query time (RFC 3339 or Unix)")
    q.add_argument("--start", default=None)
    q.add_argument("--end", default=None)
    q.add_argument("--step", default=None)
    q.add_argument("--format", choices=("table", "json"), default="table")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "collector":
        from metricslib.collector.server import run_collector_cli

        return run_collector_cli(args)
    if args.command == "check" and args.what == "config":
        from metricslib.collector.config.config import check_config_cli

        return check_config_cli(args.file)
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
