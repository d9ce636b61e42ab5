"""Dashboards from files: Grafana's JSON model as exported, and our shorter YAML.

Both are turned into Grafana's model, which is what the UI draws, so a board
written here opens in Grafana unchanged and a board exported from Grafana
opens here. Loading checks what the UI needs (panels, their grid positions,
targets, variables) and names the file and key of anything wrong; a reload
that fails keeps every board that was loaded before.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from metricslib.errors import ConfigError

__all__ = ["Dashboard", "DashboardSet", "load_dashboard", "load_dashboards"]

_SUFFIXES = (".json", ".yml", ".yaml")
_UID = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")
_GRID_WIDTH = 24


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    tags: tuple[str, ...]
    file: str
    model: Mapping[str, Any]

    def summary(self) -> dict[str, Any]:
        return {"uid": self.uid, "title": self.title, "tags": list(self.tags), "file": self.file}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "dashboard"


def _require(cond: bool, file: str, key: str, message: str) -> None:
    if not cond:
        raise ConfigError(message, file, key)


def _check_panels(panels: Any, file: str, key: str) -> None:
    _require(isinstance(panels, list), file, key, "must be a list of panels")
    for i, panel in enumerate(panels):
        where = f"{key}[{i}]"
        _require(isinstance(panel, dict), file, where, "a panel must be a mapping")
        _require(isinstance(panel.get("type", "timeseries"), str), file, f"{where}.type", "must be a string")
        grid = panel.get("gridPos")
        if grid is not None:
            _require(isinstance(grid, dict), file, f"{where}.gridPos", "must be a mapping of x, y, w, h")
            for k in ("x", "y", "w", "h"):
                _require(isinstance(grid.get(k, 0), int), file, f"{where}.gridPos.{k}", "must be an integer")
        targets = panel.get("targets", [])
        _require(isinstance(targets, list), file, f"{where}.targets", "must be a list")
        for j, target in enumerate(targets):
            _require(isinstance(target, dict), file, f"{where}.targets[{j}]", "a target must be a mapping")
            _require(isinstance(target.get("expr", ""), str), file, f"{where}.targets[{j}].expr", "must be a string")
        _require(isinstance(panel.get("repeat") or "", str), file, f"{where}.repeat", "must be the name of a variable")
        _require(panel.get("repeatDirection", "h") in ("h", "v"), file, f"{where}.repeatDirection",
                 "must be 'h' (across) or 'v' (down)")
        per_row = panel.get("maxPerRow")
        _require(per_row is None or (isinstance(per_row, int) and per_row >= 1), file, f"{where}.maxPerRow",
                 "must be a positive integer")
        if panel.get("type") == "row":
            _check_panels(panel.get("panels", []), file, f"{where}.panels")


def _check_annotations(model: Mapping[str, Any], file: str) -> None:
    annotations = model.get("annotations", {})
    listed: Any = annotations.get("list", []) if isinstance(annotations, dict) else None
    _require(isinstance(listed, list), file, "annotations.list", "must be a list of annotations")
    for i, item in enumerate(listed):
        where = f"annotations.list[{i}]"
        _require(isinstance(item, dict), file, where, "an annotation must be a mapping")
        for key in ("expr", "step", "titleFormat", "textFormat", "tagKeys"):
            _require(isinstance(item.get(key, ""), str), file, f"{where}.{key}", "must be a string")


def _check_grafana(model: Any, file: str) -> dict[str, Any]:
    _require(isinstance(model, dict), file, "", "a dashboard must be a JSON object")
    if isinstance(model.get("dashboard"), dict):  # the HTTP API's envelope
        model = model["dashboard"]
    _check_panels(model.get("panels", []), file, "panels")
    _check_annotations(model, file)
    _require(isinstance(model.get("timezone") or "", str), file, "timezone", "must be 'utc', 'browser' or a time zone name")
    templating = model.get("templating", {})
    variables: Any = templating.get("list", []) if isinstance(templating, dict) else None
    _require(isinstance(variables, list), file, "templating.list", "must be a list of variables")
    for i, var in enumerate(variables):
        _require(isinstance(var, dict) and isinstance(var.get("name"), str), file, f"templating.list[{i}].name",
                 "every variable needs a name")
    return dict(model)


# ---------------------------------------------------------------- our YAML


def _yaml_target(raw: Any, file: str, key: str) -> dict[str, Any]:
    if isinstance(raw, str):
        return {"expr": raw, "refId": "A"}
    _require(isinstance(raw, dict) and isinstance(raw.get("expr"), str), file, key, "needs `expr`")
    target: dict[str, Any] = {"expr": raw["expr"]}
    for ours, theirs in (("legend", "legendFormat"), ("interval", "interval"), ("instant", "instant")):
        if ours in raw:
            target[theirs] = raw[ours]
    return target


_PANEL_KEYS = {"title", "type", "expr", "legend", "targets", "unit", "width", "height", "stacked",
               "thresholds", "min", "max", "interval", "instant", "text", "repeat", "repeat_direction", "max_per_row"}
_VAR_KEYS = {"name", "label", "type", "query", "values", "value", "multi", "include_all", "all_value", "regex", "refresh"}
# Grafana's variable refresh codes: 1 asks on load, 2 also when the time range changes.
_REFRESH = {"load": 1, "time": 2}


def _yaml_panel(raw: Any, file: str, key: str, pos: list[int]) -> dict[str, Any]:
    _require(isinstance(raw, dict), file, key, "a panel must be a mapping")
    unknown = sorted(set(raw) - _PANEL_KEYS)
    _require(not unknown, file, f"{key}.{unknown[0] if unknown else ''}",
             f"unknown panel key (known: {', '.join(sorted(_PANEL_KEYS))})")
    kind = raw.get("type", "timeseries")
    if "targets" in raw:
        _require(isinstance(raw["targets"], list), file, f"{key}.targets", "must be a list")
        targets = [_yaml_target(t, file, f"{key}.targets[{i}]") for i, t in enumerate(raw["targets"])]
    elif "expr" in raw:
        targets = [_yaml_target({k: raw[k] for k in ("expr", "legend", "interval", "instant") if k in raw}, file, key)]
    else:
        _require(kind == "text", file, key, "needs `expr` or `targets`")
        targets = []
    for i, t in enumerate(targets):
        t["refId"] = chr(ord("A") + i % 26)
    width, height = raw.get("width", 12), raw.get("height", 8)
    _require(isinstance(width, int) and 1 <= width <= _GRID_WIDTH, file, f"{key}.width", "must be 1 to 24 columns")
    _require(isinstance(height, int) and height >= 1, file, f"{key}.height", "must be a positive number of rows")
    x, y, row_height = pos
    if x + width > _GRID_WIDTH:
        x, y, row_height = 0, y + row_height, 0
    pos[:] = [x + width, y, max(row_height, height)]
    defaults: dict[str, Any] = {}
    if "unit" in raw:
        defaults["unit"] = raw["unit"]
    for k in ("min", "max"):
        if k in raw:
            defaults[k] = raw[k]
    if "thresholds" in raw:
        steps = raw["thresholds"]
        _require(isinstance(steps, list), file, f"{key}.thresholds", "must be a list of {value, color}")
        defaults["thresholds"] = {"mode": "absolute", "steps": [{"color": "green", "value": None}] + [
            {"color": s.get("color", "red"), "value": s.get("value")} for s in steps if isinstance(s, dict)]}
    if raw.get("stacked"):
        defaults["custom"] = {"stacking": {"mode": "normal", "group": "A"}, "fillOpacity": 35}
    panel: dict[str, Any] = {
        "type": kind,
        "title": str(raw.get("title", "")),
        "gridPos": {"x": x, "y": y, "w": width, "h": height},
        "targets": targets,
        "fieldConfig": {"defaults": defaults, "overrides": []},
    }
    if "repeat" in raw:
        _require(isinstance(raw["repeat"], str), file, f"{key}.repeat", "must be the name of a variable")
        direction = raw.get("repeat_direction", "h")
        _require(direction in ("h", "v"), file, f"{key}.repeat_direction", "must be 'h' (across) or 'v' (down)")
        panel["repeat"], panel["repeatDirection"] = raw["repeat"], direction
        if "max_per_row" in raw:
            per_row = raw["max_per_row"]
            _require(isinstance(per_row, int) and per_row >= 1, file, f"{key}.max_per_row", "must be a positive integer")
            panel["maxPerRow"] = per_row
    if kind == "text":
        panel["options"] = {"mode": "markdown", "content": str(raw.get("text", ""))}
        panel["content"] = str(raw.get("text", ""))
    return panel


def _yaml_variable(raw: Any, file: str, key: str) -> dict[str, Any]:
    _require(isinstance(raw, dict) and isinstance(raw.get("name"), str), file, f"{key}.name", "every variable needs a name")
    unknown = sorted(set(raw) - _VAR_KEYS)
    _require(not unknown, file, f"{key}.{unknown[0] if unknown else ''}",
             f"unknown variable key (known: {', '.join(sorted(_VAR_KEYS))})")
    kind = raw.get("type", "query" if "query" in raw else "custom")
    query = raw.get("query", "")
    if "values" in raw:
        _require(isinstance(raw["values"], list), file, f"{key}.values", "must be a list")
        query = ",".join(str(v) for v in raw["values"])
    var: dict[str, Any] = {
        "name": raw["name"], "type": kind, "query": query,
        "multi": bool(raw.get("multi", False)), "includeAll": bool(raw.get("include_all", False)),
    }
    for ours, theirs in (("label", "label"), ("regex", "regex"), ("all_value", "allValue")):
        if ours in raw:
            var[theirs] = raw[ours]
    if "refresh" in raw:
        _require(raw["refresh"] in _REFRESH, file, f"{key}.refresh", "must be 'load' or 'time' (also when the time range changes)")
        var["refresh"] = _REFRESH[raw["refresh"]]
    elif kind == "query":
        var["refresh"] = 1
    if "value" in raw:
        var["current"] = {"value": raw["value"], "text": raw["value"]}
    return var


def _from_yaml(doc: Any, file: str) -> dict[str, Any]:
    _require(isinstance(doc, dict), file, "", "a dashboard must be a mapping with `title` and `panels`")
    _require(isinstance(doc.get("panels"), list), file, "panels", "must be a list of panels")
    pos = [0, 0, 0]
    panels = [_yaml_panel(p, file, f"panels[{i}]", pos) for i, p in enumerate(doc["panels"])]
    variables = doc.get("variables", [])
    _require(isinstance(variables, list), file, "variables", "must be a list")
    time = str(doc.get("time", "1h"))
    return {
        "uid": doc.get("uid"),
        "title": doc.get("title"),
        "tags": doc.get("tags", []),
        "time": {"from": f"now-{time}", "to": "now"},
        "refresh": doc.get("refresh", ""),
        "timezone": str(doc.get("timezone", "")),
        "schemaVersion": 39,
        "templating": {"list": [_yaml_variable(v, file, f"variables[{i}]") for i, v in enumerate(variables)]},
        "panels": panels,
    }


# ---------------------------------------------------------------- loading


def load_dashboard(path: Path) -> Dashboard:
    """One board from a ``.json`` (Grafana) or ``.yml``/``.yaml`` (ours) file."""
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read dashboard: {exc}", file) from exc
    if path.suffix == ".json":
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})", file) from exc
        model = _check_grafana(raw, file)
    else:
        try:
            raw = yaml.safe_load(text)
        except yaml.MarkedYAMLError as exc:
            line = f" (line {exc.problem_mark.line + 1})" if exc.problem_mark is not None else ""
            raise ConfigError(f"invalid YAML: {exc.problem}{line}", file) from exc
        model = _from_yaml(raw, file)
    uid = model.get("uid") or _slug(path.stem)
    _require(isinstance(uid, str) and bool(_UID.match(uid)), file, "uid",
             "must be 1 to 40 letters, digits, '.', '_' or '-'")
    title = model.get("title") or path.stem
    _require(isinstance(title, str), file, "title", "must be a string")
    tags = model.get("tags") or []
    _require(isinstance(tags, list), file, "tags", "must be a list of strings")
    model = {**model, "uid": uid, "title": title}
    return Dashboard(uid=str(uid), title=title, tags=tuple(str(t) for t in tags), file=file, model=model)


def _files(dirs: Iterable[str]) -> list[Path]:
    found: list[Path] = []
    for d in dirs:
        path = Path(d)
        if not path.is_dir():
            raise ConfigError("is not a directory", str(path))
        found.extend(sorted(p for p in path.iterdir() if p.suffix in _SUFFIXES and p.is_file()))
    return found


def load_dashboards(dirs: Sequence[str]) -> dict[str, Dashboard]:
    """Every board in ``dirs``, by uid; one ConfigError naming each bad file."""
    boards: dict[str, Dashboard] = {}
    problems: list[str] = []
    for path in _files(dirs):
        try:
            board = load_dashboard(path)
        except ConfigError as exc:
            problems.append(str(exc))
            continue
        if board.uid in boards:
            problems.append(f"{board.file}: uid {board.uid!r} is already used by {boards[board.uid].file}")
            continue
        boards[board.uid] = board
    if problems:
        raise ConfigError("; ".join(problems))
    return boards


class DashboardSet:
    """The boards being served; ``reload`` swaps them all or, on an error, none."""

    def __init__(self, dirs: Sequence[str]) -> None:
        self.dirs = tuple(dirs)
        self._boards = load_dashboards(self.dirs)
        self._lock = threading.Lock()

    def reload(self) -> None:
        boards = load_dashboards(self.dirs)  # raises before anything changes
        with self._lock:
            self._boards = boards

    def summaries(self) -> list[dict[str, Any]]:
        with self._lock:
            boards = list(self._boards.values())
        return [b.summary() for b in sorted(boards, key=lambda b: (b.title.lower(), b.uid))]

    def get(self, uid: str) -> Dashboard | None:
        with self._lock:
            return self._boards.get(uid)

    def answer(self, path: str) -> tuple[int, bytes]:
        """The UI's dashboard API: ``/api/ui/dashboards`` and ``/api/ui/dashboards/<uid>``."""
        rest = path[len("/api/ui/dashboards") :].strip("/")
        if not rest:
            return 200, _envelope(self.summaries())
        board = self.get(rest)
        if board is None:
            return 404, json.dumps({"status": "error", "errorType": "not_found",
                                    "error": f"no dashboard with uid {rest!r}"}).encode()
        return 200, _envelope(board.model)


def _envelope(data: Any) -> bytes:
    return json.dumps({"status": "success", "data": data}).encode()
