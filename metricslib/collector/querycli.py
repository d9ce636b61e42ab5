"""``metricslib query``: run PromQL against any Prometheus-compatible HTTP API.

Talks only HTTP, so it works against the collector, a real Prometheus or
VictoriaMetrics alike. Times are RFC 3339, Unix seconds, or relative to the
moment the command runs: ``now``, ``now-1h``, ``now+5m``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, TextIO

from metricslib.collector.config.durations import parse_duration

__all__ = ["format_table", "query_cli", "resolve_time", "run_query"]


def resolve_time(text: str | None, now: float) -> str | None:
    """``now`` and ``now±DURATION`` as Unix seconds; any other text is passed on as given."""
    if text is None or not text.startswith("now"):
        return text
    rest = text[3:]
    if not rest:
        return f"{now:.3f}"
    sign = rest[0]
    if sign not in "+-":
        raise ValueError(f"cannot parse time {text!r}: use now, now-1h, now+5m, RFC 3339 or Unix seconds")
    try:
        offset = int(parse_duration(rest[1:])) / 1000
    except ValueError as exc:
        raise ValueError(f"cannot parse time {text!r}: {exc}") from None
    return f"{now + offset if sign == '+' else now - offset:.3f}"


def run_query(
    url: str,
    expr: str,
    *,
    time_: str | None = None,
    start: str | None = None,
    end: str | None = None,
    step: str | None = None,
    timeout: float = 60.0,
) -> dict[str, Any]:
    """POST the query and return the decoded envelope; raises RuntimeError on an API error."""
    if start is not None or end is not None:
        if start is None or end is None:
            raise ValueError("a range query needs both --start and --end")
        path = "/api/v1/query_range"
        params = {"query": expr, "start": start, "end": end, "step": step or "15s"}
    else:
        path = "/api/v1/query"
        params = {"query": expr, "time": time_ if time_ is not None else f"{time.time():.3f}"}
    data = urllib.parse.urlencode(params).encode()
    request = urllib.request.Request(
        url.rstrip("/") + path,
        data=data,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            payload: dict[str, Any] = json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        try:
            payload = json.loads(exc.read())
        except ValueError:
            raise RuntimeError(f"{url}{path} answered HTTP {exc.code}") from None
    except urllib.error.URLError as exc:
        raise RuntimeError(f"cannot reach {url}: {exc.reason}") from None
    if payload.get("status") != "success":
        raise RuntimeError(f"{payload.get('errorType', 'error')}: {payload.get('error', '')}")
    return payload


def _series_name(metric: dict[str, str]) -> str:
    name = metric.get("__name__", "")
    labels = ", ".join(
        f'{k}="{json.dumps(v)[1:-1]}"' for k, v in sorted(metric.items()) if k != "__name__"
    )
    return f"{name}{{{labels}}}" if labels or not name else name


def format_table(data: dict[str, Any], out: TextIO) -> None:
    """Print a result like ``promtool query``: one line per series (and point)."""
    kind, result = data["resultType"], data["result"]
    if kind in ("scalar", "string"):
        print(f"{kind} => {result[1]} @[{result[0]}]", file=out)
    elif kind == "vector":
        for item in result:
            value = item["value"]
            print(f"{_series_name(item['metric'])} => {value[1]} @[{value[0]}]", file=out)
    else:
        for item in result:
            print(f"{_series_name(item['metric'])} =>", file=out)
            for t, v in item["values"]:
                print(f"{v} @[{t}]", file=out)


def query_cli(args: argparse.Namespace) -> int:
    try:
        now = time.time()
        payload = run_query(
            args.url,
            args.expr,
            time_=resolve_time(args.time, now),
            start=resolve_time(args.start, now),
            end=resolve_time(args.end, now),
            step=args.step,
        )
    except (RuntimeError, ValueError) as exc:
        print(f"metricslib query: {exc}", file=sys.stderr)
        return 1
    for warning in payload.get("warnings", []):
        print(f"warning: {warning}", file=sys.stderr)
    if args.format == "json":
        json.dump(payload["data"], sys.stdout, indent=2)
        print()
    else:
        format_table(payload["data"], sys.stdout)
    return 0
