"""PromQL parsing speed: our parser against Prometheus's own (via promtool) and the
Rust ``promql-parser`` Python binding, on the same queries in the same run.

The queries are every expression of Prometheus's PromQL test scripts (from
../shared/conformance/promql, when present) plus typical dashboard queries,
kept only if all parsers accept them. promtool parses them as recording rules
(``promtool check rules``); its start-up time, measured on a one-rule file,
is subtracted. Ratios are ours / theirs (lower is better).

    .venv/bin/python bench/bench_promql_parse.py [--copies N]
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from metricslib.collector.promql.parser.parse import parse_expr
from metricslib.errors import PromQLParseError

HERE = Path(__file__).resolve().parent
SCRIPTS = HERE.parent.parent / "shared" / "conformance" / "promql"
DASHBOARD = [
    'sum by (job) (rate(http_requests_total{code=~"5.."}[5m])) / sum by (job) (rate(http_requests_total[5m]))',
    "histogram_quantile(0.99, sum by (le, route) (rate(http_request_duration_seconds_bucket[5m])))",
    'up{job="node"} == 0',
    "100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{mode=\"idle\"}[1m])))",
    "topk(5, sum without (instance) (rate(process_cpu_seconds_total[10m])))",
    "predict_linear(node_filesystem_free_bytes[1h], 4 * 3600) < 0",
    'label_replace(up, "host", "$1", "instance", "(.*):.*")',
    "max_over_time(rate(requests_total[1m])[1h:1m] offset 1d)",
    "sum(rate(a[5m])) by (x) * on (x) group_left (team) owner_info",
    "absent(up{job=\"api\"}) or vector(0)",
]
_EVAL = re.compile(r"^\s*eval(?:_\w+)?\s+(?:instant\s+(?:at\s+\S+\s+)?|range\s+from\s+\S+\s+to\s+\S+\s+step\s+\S+\s+)(.+)$")


def corpus() -> list[str]:
    queries = list(DASHBOARD)
    for path in sorted(SCRIPTS.glob("*.test")):
        for line in path.read_text(encoding="utf-8").splitlines():
            m = _EVAL.match(line)
            if m:
                queries.append(m.group(1).strip())
    unique = list(dict.fromkeys(queries))
    ours_ok = []
    for q in unique:
        try:
            parse_expr(q)
        except PromQLParseError:
            continue
        ours_ok.append(q)
    return ours_ok


def rules_file(queries: list[str], path: Path) -> None:
    lines = ["groups:", "  - name: bench", "    rules:"]
    for i, q in enumerate(queries):
        escaped = q.replace("\\", "\\\\").replace('"', '\\"')
        lines.append(f'      - record: "bench:rule{i}"')
        lines.append(f'        expr: "{escaped}"')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def promtool_accepts(promtool: str, queries: list[str], workdir: Path) -> list[str]:
    """Drop the queries promtool rejects (e.g. functions newer than its Prometheus)."""
    keep = list(queries)
    for _ in range(50):
        path = workdir / "probe.yml"
        rules_file(keep, path)
        out = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True)
        if out.returncode == 0:
            return keep
        bad = {int(n) - 1 for n in re.findall(r"rule (\d+)", out.stdout + out.stderr)}
        if not bad:
            raise RuntimeError(f"promtool failed without naming a rule:\n{out.stdout}{out.stderr}")
        keep = [q for i, q in enumerate(keep) if i not in bad]
    raise RuntimeError("promtool kept rejecting rules")


def best_of(repeat: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--copies", type=int, default=20, help="times the corpus is repeated for promtool")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    queries = corpus()
    promtool = shutil.which("promtool")
    try:
        import promql_parser  # type: ignore[import-not-found]
    except ImportError:
        promql_parser = None
    if promql_parser is not None:
        accepted = []
        for q in queries:
            try:
                promql_parser.parse(q)
            except Exception:  # the binding raises plain exceptions for what it rejects
                continue
            accepted.append(q)
        queries = accepted
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        if promtool:
            queries = promtool_accepts(promtool, queries, workdir)
        n = len(queries)
        print(f"{n} queries accepted by every parser (mean length {statistics.mean(map(len, queries)):.0f} chars)")

        ours = best_of(args.repeat, lambda: [parse_expr(q) for q in queries]) / n
        print(f"ours (metricslib, Python):      {ours * 1e6:8.1f} µs/query")
        if promql_parser is not None:
            rust = best_of(args.repeat, lambda: [promql_parser.parse(q) for q in queries]) / n
            print(f"promql-parser (Rust binding):   {rust * 1e6:8.1f} µs/query   ours/theirs = {ours / rust:.1f}")
        else:
            print("promql-parser not installed: pip install promql-parser to compare")
        if promtool:
            big = workdir / "big.yml"
            rules_file(queries * args.copies, big)
            one = workdir / "one.yml"
            rules_file(queries[:1], one)

            def check(path: Path) -> None:
                subprocess.run([promtool, "check", "rules", str(path)], check=True, capture_output=True)

            startup = best_of(args.repeat, lambda: check(one))
            total = best_of(args.repeat, lambda: check(big))
            go = max(total - startup, 1e-9) / (n * args.copies)
            print(f"promtool 2.42 (Go, Prometheus): {go * 1e6:8.1f} µs/query   ours/theirs = {ours / go:.1f}"
                  f"   (startup {startup * 1000:.0f} ms subtracted; YAML loading included)")  # fmt: skip
        else:
            print("promtool not installed (Debian package 'prometheus'): skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
