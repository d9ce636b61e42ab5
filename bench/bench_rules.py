"""Rule evaluation CPU: 100 recording rules over 10k series, ours vs promtool 2.42.

Both sides run the same promtool unit-test file (``test rules``) in a child
process: 10,000 counter series sampled every 15 s for 15 minutes, and 100
recording rules, each aggregating a rate over the 100 series of one ``path``
(so one evaluation reads every series once; promtool's test engine refuses
queries loading more than 10,000 samples, so one rule cannot read all 10,000
series). A run evaluating
the rules every minute from 0 to 15 minutes is compared with a run evaluating
them only at 0 (where ``rate`` has one point and produces nothing): the
difference in child CPU seconds (user + system), divided by the 15 more
evaluations, is the CPU per evaluation, with loading and start-up subtracted. Runs alternate
ours / promtool, and the median of ``--repeat`` pairs is reported.

    .venv/bin/python bench/bench_rules.py [--repeat N] [--series N] [--rules N]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def write_files(directory: Path, series: int, rules: int, evaluate_until: str) -> Path:
    rule_lines = ["groups:", "  - name: bench", "    rules:"]
    for r in range(rules):
        grouping = ("job", "shard", "job, shard", "instance")[r % 4]
        rule_lines += [f"      - record: bench:requests:rate5m_{r}",
                       f'        expr: sum by ({grouping}) (rate(bench_requests_total{{path="/p{r % 100}"}}[5m]))']
    (directory / "rules.yml").write_text("\n".join(rule_lines) + "\n")
    test = ["rule_files: [rules.yml]", "evaluation_interval: 1m", "tests:", "  - interval: 15s",
            "    input_series:"]
    for s in range(series):
        labels = f'job="j{s % 10}", path="/p{s % 100}", shard="s{s % 7}", instance="i{s}"'
        test += [f"      - series: 'bench_requests_total{{{labels}}}'", f"        values: '{s % 13}+{s % 5 + 1}x60'"]
    test += ["    promql_expr_test:", "      - expr: vector(1)", f"        eval_time: {evaluate_until}",
             "        exp_samples:", "          - value: 1"]
    path = directory / f"test_{evaluate_until}.yml"
    path.write_text("\n".join(test) + "\n")
    return path


def child_cpu(cmd: list[str], cwd: Path) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=3600, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed:\n{result.stdout}\n{result.stderr}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--rules", type=int, default=100)
    args = parser.parse_args()
    promtool = shutil.which("promtool")
    if promtool is None:
        raise SystemExit("promtool not found: install the Debian package 'prometheus'")
    ours = [sys.executable, "-m", "metricslib", "test", "rules"]
    env_path = os.environ.get("PYTHONPATH", "")
    os.environ["PYTHONPATH"] = f"{ROOT}{os.pathsep}{env_path}" if env_path else str(ROOT)
    with tempfile.TemporaryDirectory(prefix="bench-rules-") as tmp:
        directory = Path(tmp)
        full, base = write_files(directory, args.series, args.rules, "15m"), write_files(
            directory, args.series, args.rules, "0")
        per_eval: dict[str, list[float]] = {"ours": [], "promtool": []}
        for round_ in range(args.repeat):
            for name, cmd in (("ours", ours), ("promtool", [promtool, "test", "rules"])):
                cpu_full = child_cpu([*cmd, full.name], directory)
                cpu_base = child_cpu([*cmd, base.name], directory)
                per_eval[name].append((cpu_full - cpu_base) / 15)
                print(f"round {round_ + 1} {name}: {cpu_full:.2f}s (16 evaluations) - {cpu_base:.2f}s (1) "
                      f"-> {per_eval[name][-1]:.3f} CPU s per evaluation", flush=True)
    ours_s, theirs_s = statistics.median(per_eval["ours"]), statistics.median(per_eval["promtool"])
    print(f"median CPU per evaluation of {args.rules} rules over {args.series} series: "
          f"ours {ours_s:.3f}s, promtool {theirs_s:.3f}s, ratio {ours_s / theirs_s:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
