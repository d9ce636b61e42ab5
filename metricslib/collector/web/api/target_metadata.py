"""``/api/v1/targets/metadata``: the metric metadata each active target exposed.

One entry per (target, metric) with the target's labels, as Prometheus 2.42
answers: ``match_target`` selects targets by their labels, ``metric`` keeps one
metric name (and then the entries leave out ``metric``), and ``limit`` is checked before each target: once that many
entries are collected no further target is read (so one target's entries are
never split; a negative or absent limit means all, 0 an empty list).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import Protocol

from metricslib.collector.model import Labels, Matcher
from metricslib.collector.promql.parser.parse import parse_matchers

__all__ = ["TargetWithMetadata", "parse_metadata_limit", "target_metadata"]


class TargetWithMetadata(Protocol):
    lock: threading.Lock
    #: metric name -> (type, help, unit), as the last scrapes exposed them
    metadata: dict[str, tuple[str, str, str]]

    @property
    def public_labels(self) -> Labels: ...


def parse_metadata_limit(raw: str | None) -> int:
    """Prometheus's parsing: any integer; bad_data (ValueError) otherwise."""
    if raw is None or raw == "":
        return -1
    try:
        return int(raw)
    except ValueError:
        raise ValueError("limit must be a number") from None


def _target_matchers(text: str | None) -> Sequence[Matcher]:
    if not text:
        return ()
    try:
        return parse_matchers(text).matchers
    except ValueError as exc:
        raise ValueError(f'invalid parameter "match_target": {exc}') from None


def _matches(labels: Labels, matchers: Sequence[Matcher]) -> bool:
    values = dict(labels)
    return all(m.matches(values.get(m.name, "")) for m in matchers)


def target_metadata(
    targets: Iterable[TargetWithMetadata],
    *,
    match_target: str | None,
    metric: str | None,
    limit: int,
) -> list[dict[str, object]]:
    """The data of the answer; ValueError (bad_data) for a bad ``match_target``."""
    matchers = _target_matchers(match_target)
    out: list[dict[str, object]] = []
    ordered = sorted(targets, key=lambda t: t.public_labels)
    for target in ordered:
        if 0 <= limit <= len(out):
            break
        labels = target.public_labels
        if matchers and not _matches(labels, matchers):
            continue
        with target.lock:
            items = sorted(target.metadata.items())
        for name, (mtype, help_text, unit) in items:
            if metric and name != metric:
                continue
            entry: dict[str, object] = {"target": dict(labels), "metric": name}
            if metric:  # Prometheus leaves out the name that was asked for
                del entry["metric"]
            entry.update(type="unknown" if mtype in ("", "untyped") else mtype, help=help_text, unit=unit)
            out.append(entry)
    return out
