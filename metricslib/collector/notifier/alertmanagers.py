"""Alertmanagers of one ``alertmanagers`` entry: discovered target groups → URLs, as Prometheus does.

Each discovered target starts with its own labels, ``__scheme__`` (the
entry's ``scheme``) and ``__alerts_path__`` (``<path_prefix>/api/<version>/alerts``),
then the group's labels it does not already have, and goes through the
entry's ``relabel_configs``. A kept target's URL is
``<__scheme__>://<__address__><__alerts_path__>``; a dropped one is listed
with the URL its labels had before relabelling (``/api/v1/alertmanagers``
shows both). Duplicate URLs are sent to once. A group with a relabelled
address containing ``/`` is skipped with an error, as Prometheus does.
"""

from __future__ import annotations

import logging
import posixpath
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from metricslib.collector.config.alerting import AlertmanagerConfig
from metricslib.collector.discovery.manager import JobDiscovery
from metricslib.collector.discovery.targetgroup import TargetGroup
from metricslib.collector.model.relabel import relabel

__all__ = ["ALERTS_PATH_LABEL", "Alertmanager", "AlertmanagerSet", "alerts_path", "resolve_group"]

log = logging.getLogger(__name__)

ALERTS_PATH_LABEL = "__alerts_path__"


def alerts_path(path_prefix: str, api_version: str) -> str:
    """``/<prefix>/api/<version>/alerts`` with slashes cleaned as Go's ``path.Join`` does."""
    return posixpath.normpath(posixpath.join("/", path_prefix.lstrip("/"), f"api/{api_version}/alerts"))


@dataclass(frozen=True)
class Alertmanager:
    """One Alertmanager to send to (or one dropped by relabelling)."""

    url: str
    labels: tuple[tuple[str, str], ...]


def _url(labels: Mapping[str, str]) -> str:
    host = labels.get("__address__", "")
    return urllib.parse.urlunsplit((labels.get("__scheme__", ""), host, labels.get(ALERTS_PATH_LABEL, ""), "", ""))


def resolve_group(
    group: TargetGroup, config: AlertmanagerConfig
) -> tuple[list[Alertmanager], list[Alertmanager]]:
    """(kept, dropped) Alertmanagers of one group; ValueError for an address with a path."""
    kept: list[Alertmanager] = []
    dropped: list[Alertmanager] = []
    path = alerts_path(config.path_prefix, config.api_version)
    for target in group.targets:
        labels = dict(target)
        labels["__scheme__"] = config.scheme
        labels[ALERTS_PATH_LABEL] = path
        for name, value in group.labels:
            labels.setdefault(name, value)
        before = tuple(sorted(labels.items()))
        after = relabel(labels, config.relabel_configs) if config.relabel_configs else labels
        if after is None:
            dropped.append(Alertmanager(_url(labels), before))
            continue
        address = after.get("__address__", "")
        if "/" in address:
            raise ValueError(f"{address!r} is not a valid hostname")
        final = tuple(sorted((k, v) for k, v in after.items() if v))
        kept.append(Alertmanager(_url(after), final))
    return kept, dropped


class AlertmanagerSet:
    """One ``alertmanagers`` entry: its discovery and its current Alertmanagers."""

    def __init__(self, config: AlertmanagerConfig, resolver: Any = None,
                 discovery: JobDiscovery | None = None) -> None:
        self.config = config
        self.discovery = discovery if discovery is not None else JobDiscovery(config, resolver)
        self.active: list[Alertmanager] = []
        self.dropped: list[Alertmanager] = []

    def poll(self, now: float) -> bool:
        """Poll discovery; True when the active or dropped Alertmanagers changed."""
        groups = self.discovery.poll(now)
        if groups is None:
            return False
        return self.sync(groups)

    def sync(self, groups: Sequence[TargetGroup]) -> bool:
        active: list[Alertmanager] = []
        dropped: list[Alertmanager] = []
        for group in groups:
            try:
                kept, gone = resolve_group(group, self.config)
            except ValueError as exc:
                log.error("notifier: skipping Alertmanager group %s: %s", group.source, exc)
                continue
            active.extend(kept)
            dropped.extend(gone)
        seen: set[str] = set()
        unique = []
        for am in active:
            if am.url not in seen:
                seen.add(am.url)
                unique.append(am)
        changed = (unique, dropped) != (self.active, self.dropped)
        self.active, self.dropped = unique, dropped
        return changed
