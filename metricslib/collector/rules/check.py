"""``metricslib check rules FILE...``: promtool's ``check rules``, its output and exit codes.

Per file: ``Checking FILE`` then ``  SUCCESS: N rules found`` on stdout, or
``  FAILED:`` and each problem on stderr. Duplicate rules (same name and
labels) are a lint finding: reported, exit status 0 unless ``--lint-fatal``
(then 3). Any real problem exits 1.
"""

from __future__ import annotations

import os
import sys
from typing import TextIO

from metricslib.collector.rules.rulefmt import RuleFile, parse_rule_file_at
from metricslib.collector.rules.templates import check_template

__all__ = ["FAILURE", "LINT_FAILURE", "SUCCESS", "check_rules_cli", "duplicate_report"]

SUCCESS, FAILURE, LINT_FAILURE = 0, 1, 3


def duplicate_report(rule_file: RuleFile) -> str:
    lines = [f"lint error {len(rule_file.duplicates)} duplicate rule(s) found."]
    for name, labels in rule_file.duplicates:
        lines.append(f"Metric: {name}")
        lines.append("Label(s):")
        lines.extend(f"\t{k}: {v}" for k, v in labels)
    lines.append("Might cause inconsistency while recording expressions")
    return "\n".join(lines)


def check_rules_cli(
    files: list[str],
    *,
    lint: str = "duplicate-rules",
    lint_fatal: bool = False,
    utf8_names: bool = False,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    for path in files:
        if not os.path.exists(path):
            print(f"metricslib: error: path {path!r} does not exist, try --help", file=err)
            return FAILURE
    failed = has_errors = False
    lint_duplicates = lint in ("all", "duplicate-rules")
    for path in files:
        print(f"Checking {path}", file=out)
        rule_file, problems = parse_rule_file_at(path, template_check=check_template, utf8_names=utf8_names)
        if rule_file is not None and not problems and lint_duplicates and rule_file.duplicates:
            out.flush()
            print("  FAILED:", file=err)
            print(duplicate_report(rule_file), file=err)
            failed = True
        elif problems or rule_file is None:
            out.flush()
            print("  FAILED:", file=err)
            for problem in problems:
                print(problem, file=err)
            failed = has_errors = True
        else:
            print(f"  SUCCESS: {rule_file.rule_count} rules found", file=out)
        print(file=out)
    if failed and has_errors:
        return FAILURE
    if failed and lint_fatal:
        return LINT_FAILURE
    return SUCCESS
