"""``file_sd_configs``: target groups read from JSON or YAML files.

A file is re-read as soon as its size or modification time changes (checked
at every poll, which is cheap) and every ``refresh_interval``; a file that
fails to parse keeps its previous groups and its error is kept in
:attr:`FileProvider.errors`, as Prometheus does.
"""

from __future__ import annotations

import glob
import json
import logging
import os
import time
from collections.abc import Callable
from typing import Any

import yaml

from metricslib.collector.config.config import FileSDConfig
from metricslib.collector.discovery.targetgroup import TargetGroup
from metricslib.collector.model.relabel import LABEL_NAME_RE

__all__ = ["FileProvider", "parse_target_groups"]

log = logging.getLogger(__name__)


def parse_target_groups(text: str, file: str) -> list[TargetGroup]:
    """Groups from one file-SD file (JSON or YAML by extension); ValueError on bad content."""
    data: Any
    if file.endswith(".json"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{file}: invalid JSON at line {exc.lineno}: {exc.msg}") from exc
    else:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ValueError(f"{file}: invalid YAML: {exc}") from exc
    if data is None:
        return []
    if not isinstance(data, list):
        raise ValueError(f"{file}: expected a list of target groups, got {type(data).__name__}")
    groups = []
    for i, item in enumerate(data):
        where = f"{file}: [{i}]"
        if not isinstance(item, dict):
            raise ValueError(f"{where}: expected a mapping with 'targets' and 'labels'")
        unknown = set(item) - {"targets", "labels"}
        if unknown:
            raise ValueError(f"{where}: unknown key {sorted(unknown)[0]!r}")
        targets = item.get("targets") or []
        labels = item.get("labels") or {}
        if not isinstance(targets, list) or not all(isinstance(t, str) and t for t in targets):
            raise ValueError(f"{where}.targets: expected a list of host:port strings")
        if not isinstance(labels, dict):
            raise ValueError(f"{where}.labels: expected a mapping of label names to values")
        for name, value in labels.items():
            if not isinstance(name, str) or not LABEL_NAME_RE.fullmatch(name):
                raise ValueError(f"{where}.labels: {name!r} is not a valid label name")
            if not isinstance(value, str):
                raise ValueError(f"{where}.labels.{name}: value must be a string, got {value!r}")
        for t in targets:
            if "/" in t:
                raise ValueError(f"{where}.targets: {t!r} is not a valid hostname")
        shared = {**{k: v for k, v in labels.items() if v}, "__meta_filepath": file}
        groups.append(
            TargetGroup(
                f"{file}:{i}",
                tuple((("__address__", t),) for t in targets),
                tuple(sorted(shared.items())),
            )
        )
    return groups


class FileProvider:
    def __init__(self, config: FileSDConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self._clock = clock
        self._stamps: dict[str, tuple[float, int]] = {}
        self._groups: dict[str, list[TargetGroup]] = {}
        self._next_full = 0.0
        self.errors: dict[str, str] = {}

    def _files(self) -> list[str]:
        found: set[str] = set()
        for pattern in self.config.files:
            found.update(glob.glob(pattern))
        return sorted(found)

    def poll(self, now: float) -> list[TargetGroup] | None:
        full = now >= self._next_full
        if full:
            self._next_full = now + self.config.refresh_interval.seconds
        changed = False
        files = self._files()
        for gone in set(self._groups) - set(files):
            del self._groups[gone]
            self._stamps.pop(gone, None)
            self.errors.pop(gone, None)
            changed = True
        for file in files:
            try:
                st = os.stat(file)
            except OSError:
                continue
            stamp = (st.st_mtime, st.st_size)
            if not full and self._stamps.get(file) == stamp:
                continue
            self._stamps[file] = stamp
            try:
                with open(file, encoding="utf-8") as fh:
                    groups = parse_target_groups(fh.read(), file)
            except (OSError, UnicodeDecodeError, ValueError) as exc:
                if self.errors.get(file) != str(exc):
                    log.error("file_sd: keeping previous targets of %s: %s", file, exc)
                self.errors[file] = str(exc)
                continue
            self.errors.pop(file, None)
            if self._groups.get(file) != groups:
                self._groups[file] = groups
                changed = True
        return [g for file in sorted(self._groups) for g in self._groups[file]] if changed else None
