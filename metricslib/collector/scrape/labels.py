"""A scraped series' final labels: target labels merged in, then metric relabelling.

Prometheus's rules (2.42): with ``honor_labels`` the exposed value wins;
otherwise the target's value wins and the exposed one is kept as
``exported_<name>`` (``exported_exported_<name>`` if that is taken too,
shortest names resolved first). Empty values mean "absent" and are dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from metricslib.collector.model import Labels
from metricslib.collector.model.relabel import RelabelConfig, relabel

if TYPE_CHECKING:
    from metricslib.collector.config.config import ScrapeConfig

__all__ = ["label_limit_error", "sample_labels"]

_DROPPED: Labels = ()


def sample_labels(
    raw: Labels, target_labels: Labels, honor_labels: bool, rules: Sequence[RelabelConfig]
) -> Labels:
    """The stored label set of a sample exposed with ``raw``; () when relabelling drops it."""
    sample = dict(raw)
    if honor_labels:
        for name, value in target_labels:
            sample.setdefault(name, value)
        merged = sample
    else:
        merged = dict(sample)
        conflicts = []
        for name, value in target_labels:
            if sample.get(name):
                conflicts.append((name, sample[name]))
            merged[name] = value
        conflicts.sort(key=lambda kv: len(kv[0]))
        taken = set(sample) | dict(target_labels).keys()
        for name, value in conflicts:
            new = name
            while True:
                new = "exported_" + new
                if new not in taken:
                    break
            taken.add(new)
            merged[new] = value
    if rules:
        result = relabel(merged, rules)
        if result is None:
            return _DROPPED
        merged = result
    return tuple(sorted((k, v) for k, v in merged.items() if v))


def label_limit_error(labels: Labels, cfg: ScrapeConfig) -> str:
    """Why ``labels`` breaks the job's label limits (worded as Prometheus), or ""."""
    if not any(k == "__name__" for k, _ in labels):
        return f"series {dict(labels)} has no metric name (__name__) after relabelling"
    if cfg.label_limit and len(labels) > cfg.label_limit:
        return (f"label_limit exceeded (metric: {_name(labels)}, number of labels: {len(labels)}, "
                f"limit: {cfg.label_limit})")
    for name, value in labels:
        if cfg.label_name_length_limit and len(name) > cfg.label_name_length_limit:
            return (f"label_name_length_limit exceeded (metric: {_name(labels)}, label name: {name}, "
                    f"length: {len(name)}, limit: {cfg.label_name_length_limit})")
        if cfg.label_value_length_limit and len(value) > cfg.label_value_length_limit:
            return (f"label_value_length_limit exceeded (metric: {_name(labels)}, label: {name}, "
                    f"length: {len(value)}, limit: {cfg.label_value_length_limit})")
    return ""


def _name(labels: Labels) -> str:
    return next((v for k, v in labels if k == "__name__"), "")
