"""Shared by the discovery tests."""

from __future__ import annotations

import json
from pathlib import Path

from metricslib.collector.discovery.targetgroup import TargetGroup


def addresses(groups: list[TargetGroup] | None) -> list[str]:
    assert groups is not None
    return [dict(t)["__address__"] for g in groups for t in g.targets]


def write(path: Path, groups: list[dict[str, object]]) -> None:
    path.write_text(json.dumps(groups))
