"""Prometheus's rule file format: reading and validating it as ``promtool check rules`` does.

A rule file is YAML::

    groups:
      - name: example            # unique in the file
        interval: 30s            # default: global.evaluation_interval
        limit: 0                 # most series (alerts) a rule may produce; 0 = no limit
        query_offset: 1m         # default: global.rule_query_offset
        labels: {team: web}      # added to every rule's output
        rules:
          - record: job:up:sum
            expr: sum by (job) (up)
          - alert: Down
            expr: up == 0
            for: 5m
            keep_firing_for: 1m
            labels: {severity: page}
            annotations: {summary: "{{ $labels.instance }} is down"}

:func:`parse_rule_file` returns the groups and every problem, worded as
promtool words them (``FILE: LINE:COL: group "g", rule 2, "name": reason``),
so a user moving between the two sees the same messages. Unknown keys are
errors, as in Prometheus's strict decoding.

Label and annotation names are checked with Prometheus 2's rule
(``[a-zA-Z_][a-zA-Z0-9_]*``) unless ``utf8_names=True`` asks for Prometheus 3's,
where any UTF-8 name is valid. Record names must be plain PromQL metric names
in both.
"""

from __future__ import annotations

import itertools
import os
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from metricslib.collector.config.durations import parse_duration
from metricslib.collector.config.yaml_reader import compose_merged
from metricslib.collector.model.quoting import go_quote
from metricslib.collector.promql.parser.parse import parse_expr
from metricslib.collector.rules.templates import TemplateCheck
from metricslib.errors import ConfigError

__all__ = [
    "Rule",
    "RuleFile",
    "RuleFileError",
    "RuleGroup",
    "load_rule_file",
    "parse_rule_file",
]

_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_GROUPS_KEYS = ("groups",)
_GROUP_KEYS = ("name", "interval", "query_offset", "limit", "rules", "labels")
_RULE_KEYS = ("record", "alert", "expr", "for", "keep_firing_for", "labels", "annotations")
_STR = "tag:yaml.org,2002:str"
_NULL = "tag:yaml.org,2002:null"



@dataclass(frozen=True)
class Rule:
    """One recording (``record``) or alerting (``alert``) rule as written."""

    expr: str
    record: str = ""
    alert: str = ""
    for_ms: int = 0
    keep_firing_for_ms: int = 0
    labels: tuple[tuple[str, str], ...] = ()
    annotations: tuple[tuple[str, str], ...] = ()
    line: int = 0  # where the rule starts, for messages

    @property
    def name(self) -> str:
        return self.alert or self.record

    @property
    def is_alert(self) -> bool:
        return bool(self.alert)


@dataclass(frozen=True)
class RuleGroup:
    """A named list of rules evaluated together, in order, at one interval."""

    name: str
    file: str
    rules: tuple[Rule, ...] = ()
    interval_ms: int | None = None  # None: the global evaluation_interval
    query_offset_ms: int | None = None  # None: the global rule_query_offset
    limit: int = 0
    labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class RuleFile:
    path: str
    groups: tuple[RuleGroup, ...] = ()
    #: (metric or alert name, labels) of rules given more than once: promtool's lint.
    duplicates: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = field(default=())

    @property
    def rule_count(self) -> int:
        return sum(len(g.rules) for g in self.groups)


class RuleFileError(ConfigError):
    """A rule file that cannot be loaded; ``problems`` holds every message."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))  # each problem already names the file
        self.file = path


def load_rule_file(
    path: str, *, template_check: TemplateCheck | None = None, utf8_names: bool = False
) -> RuleFile:
    """Read and validate ``path``; raises :class:`RuleFileError` with every problem."""
    rule_file, problems = parse_rule_file_at(path, template_check=template_check, utf8_names=utf8_names)
    if problems or rule_file is None:
        raise RuleFileError(path, problems)
    return rule_file


def parse_rule_file_at(
    path: str, *, template_check: TemplateCheck | None = None, utf8_names: bool = False,
    ignore_unknown_fields: bool = False,
) -> tuple[RuleFile | None, list[str]]:
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        return None, [f"{path}: open {path}: {(exc.strerror or str(exc)).lower()}"]
    except UnicodeDecodeError as exc:
        return None, [f"{path}: file is not UTF-8: {exc}"]
    return parse_rule_file(text, path, template_check=template_check, utf8_names=utf8_names,
                           ignore_unknown_fields=ignore_unknown_fields)


def parse_rule_file(
    text: str, path: str = "", *, template_check: TemplateCheck | None = None, utf8_names: bool = False,
    ignore_unknown_fields: bool = False,
) -> tuple[RuleFile | None, list[str]]:
    """The file's groups and its problems; each problem starts with ``path: ``."""
    prefix = f"{path}: " if path else ""
    try:
        root, merged = compose_merged(text, _Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}: " if mark is not None else ""
        return None, [f"{prefix}yaml: {where}{exc.problem}"]
    except yaml.YAMLError as exc:
        return None, [f"{prefix}yaml: {exc}"]
    reader = _Reader(utf8_names, template_check, merged)
    reader.ignore_unknown = ignore_unknown_fields
    groups = reader.read(root)
    if reader.decode_errors:
        # Prometheus decodes strictly first and validates only what decoded.
        return None, [prefix + "yaml: unmarshal errors:\n  " + "\n  ".join(reader.decode_errors)]
    if reader.problems:
        return None, [prefix + p for p in reader.problems]
    rule_file = RuleFile(path, tuple(g.freeze(path) for g in groups))
    return RuleFile(path, rule_file.groups, tuple(_duplicates(groups))), []


# --- YAML with positions ------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """Keeps, for a scalar reached through an alias, the alias's own position and anchor.

    Go's YAML decoder gives such a node the anchor's name as its value; promtool's
    duplicate lint shows that name, so the lint here does too."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            node = super().compose_node(parent, index)
            if isinstance(node, yaml.ScalarNode):
                copy = yaml.ScalarNode(node.tag, node.value, event.start_mark, event.end_mark, node.style)
                copy.alias_anchor = event.anchor  # type: ignore[attr-defined]
                return copy
            return node
        return super().compose_node(parent, index)


def _pos(node: yaml.Node | None) -> str:
    if node is None:
        return "0:0"
    return f"{node.start_mark.line + 1}:{node.start_mark.column + 1}"


def _go_kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "!!map"
    if isinstance(node, yaml.SequenceNode):
        return "!!seq"
    return "!!" + node.tag.rpartition(":")[2]


# --- reading ------------------------------------------------------------------------------


@dataclass
class _RawRule:
    node: yaml.Node
    record: yaml.Node | None = None
    alert: yaml.Node | None = None
    expr: yaml.Node | None = None
    for_ms: int = 0
    keep_firing_for_ms: int = 0
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)

    def value(self, key: str) -> str:
        node = getattr(self, key)
        return str(node.value) if isinstance(node, yaml.ScalarNode) and node.tag != _NULL else ""

    def lint_name(self) -> str:
        node = self.alert if self.value("alert") else self.record
        return str(getattr(node, "alias_anchor", None) or (node.value if node is not None else ""))

    def freeze(self) -> Rule:
        return Rule(
            expr=self.value("expr"), record=self.value("record"), alert=self.value("alert"),
            for_ms=self.for_ms, keep_firing_for_ms=self.keep_firing_for_ms,
            labels=tuple(sorted(self.labels.items())), annotations=tuple(sorted(self.annotations.items())),
            line=self.node.start_mark.line + 1,
        )


@dataclass
class _RawGroup:
    node: yaml.Node
    name: str = ""
    interval_ms: int | None = None
    query_offset_ms: int | None = None
    limit: int = 0
    labels: dict[str, str] = field(default_factory=dict)
    rules: list[_RawRule] = field(default_factory=list)

    def freeze(self, path: str) -> RuleGroup:
        return RuleGroup(
            name=self.name, file=path, rules=tuple(r.freeze() for r in self.rules),
            interval_ms=self.interval_ms, query_offset_ms=self.query_offset_ms, limit=self.limit,
            labels=tuple(sorted(self.labels.items())),
        )


class _Reader:
    """Strict decoding (``decode_errors``, Go's wording) then validation (``problems``)."""

    def __init__(self, utf8_names: bool, template_check: TemplateCheck | None, merged: dict[int, int]) -> None:
        self.merged = merged
        self.ignore_unknown = False
        self.utf8 = utf8_names
        self.template_check = template_check
        self.decode_errors: list[str] = []
        self.problems: list[str] = []

    def _pairs(self, node: yaml.Node, type_name: str, known: tuple[str, ...]) -> list[tuple[str, yaml.Node]]:
        if node.tag == _NULL:
            return []
        if not isinstance(node, yaml.MappingNode):
            self.decode_errors.append(
                f"line {node.start_mark.line + 1}: cannot unmarshal {_go_kind(node)} "
                f"`{getattr(node, 'value', '')}` into {type_name}"
            )
            return []
        out: dict[str, yaml.Node] = {}
        seen: dict[str, int] = {}
        from_merge: set[str] = set()
        for index, (key_node, value_node) in enumerate(node.value):
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if index < self.merged.get(id(node), 0):
                from_merge.add(key)
            elif key in from_merge:  # an explicit key overrides a merged one
                from_merge.discard(key)
                seen.pop(key, None)
            if key in seen:
                self.decode_errors.append(f"line {line}: mapping key {key!r} already defined at line {seen[key]}")
                continue
            seen[key] = line
            if key not in known:
                if self.ignore_unknown:
                    continue
                self.decode_errors.append(f"line {line}: field {key} not found in type {type_name}")
                continue
            out[key] = value_node
        return list(out.items())

    def _scalar(self, node: yaml.Node, go_type: str) -> str | None:
        if node.tag == _NULL:
            return ""
        if not isinstance(node, yaml.ScalarNode):
            self.decode_errors.append(
                f"line {node.start_mark.line + 1}: cannot unmarshal {_go_kind(node)} into {go_type}"
            )
            return None
        return str(node.value)

    def _duration(self, node: yaml.Node) -> int:
        text = self._scalar(node, "model.Duration")
        if not text:
            return 0
        try:
            return int(parse_duration(text))
        except ValueError:
            self.decode_errors.append(f"line {node.start_mark.line + 1}: not a valid duration string: {text!r}")
            return 0

    def _string_map(self, node: yaml.Node) -> dict[str, str]:
        out: dict[str, str] = {}
        if node.tag == _NULL:
            return out
        if not isinstance(node, yaml.MappingNode):
            self.decode_errors.append(
                f"line {node.start_mark.line + 1}: cannot unmarshal {_go_kind(node)} into map[string]string"
            )
            return out
        for key_node, value_node in node.value:
            key = self._scalar(key_node, "string")
            value = self._scalar(value_node, "string")
            if key is not None and value is not None:
                if key in out:
                    self.decode_errors.append(
                        f"line {key_node.start_mark.line + 1}: mapping key {key!r} already defined"
                    )
                out[key] = value
        return out

    def read(self, root: yaml.Node | None) -> list[_RawGroup]:
        groups: list[_RawGroup] = []
        if root is None:
            return groups
        for key, value in self._pairs(root, "rulefmt.RuleGroups", _GROUPS_KEYS):
            if key != "groups":
                continue
            if value.tag == _NULL:
                continue
            if not isinstance(value, yaml.SequenceNode):
                self.decode_errors.append(
                    f"line {value.start_mark.line + 1}: cannot unmarshal {_go_kind(value)} into []rulefmt.RuleGroup"
                )
                continue
            groups.extend(self._group(item) for item in value.value)
        if not self.decode_errors:
            self._validate(groups)
        return groups

    def _group(self, node: yaml.Node) -> _RawGroup:
        group = _RawGroup(node)
        for key, value in self._pairs(node, "rulefmt.RuleGroup", _GROUP_KEYS):
            if key == "name":
                group.name = self._scalar(value, "string") or ""
            elif key in ("interval", "query_offset"):
                duration = self._duration(value)
                setattr(group, f"{key}_ms", duration if value.tag != _NULL else None)
            elif key == "limit":
                text = self._scalar(value, "int") or "0"
                try:
                    group.limit = int(text)
                except ValueError:
                    self.decode_errors.append(
                        f"line {value.start_mark.line + 1}: cannot unmarshal !!str `{text}` into int"
                    )
            elif key == "labels":
                group.labels = self._string_map(value)
            elif key == "rules" and value.tag != _NULL:
                if not isinstance(value, yaml.SequenceNode):
                    self.decode_errors.append(
                        f"line {value.start_mark.line + 1}: cannot unmarshal {_go_kind(value)} "
                        "into []rulefmt.RuleNode"
                    )
                    continue
                group.rules = [self._rule(item) for item in value.value]
        return group

    def _rule(self, node: yaml.Node) -> _RawRule:
        rule = _RawRule(node)
        for key, value in self._pairs(node, "rulefmt.RuleNode", _RULE_KEYS):
            if key in ("record", "alert", "expr"):
                setattr(rule, key, value)
            elif key == "for":
                rule.for_ms = self._duration(value)
            elif key == "keep_firing_for":
                rule.keep_firing_for_ms = self._duration(value)
            else:
                setattr(rule, key, self._string_map(value))
        return rule

    # --- validation, in rulefmt's order and words ---

    def _validate(self, groups: list[_RawGroup]) -> None:
        seen: set[str] = set()
        for group in groups:
            if not group.name:
                self.problems.append(f"{_pos(group.node)}: Groupname must not be empty")
            if group.name in seen:
                self.problems.append(f'{_pos(group.node)}: groupname: "{group.name}" is repeated in the same file')
            seen.add(group.name)
            for name in group.labels:
                if not self._label_name_ok(name) or name == "__name__":
                    self.problems.append(f'group "{group.name}": invalid label name: {name}')
            for index, rule in enumerate(group.rules, 1):
                rule_name = rule.value("alert") or rule.value("record")
                for where, reason in self._rule_problems(rule):
                    self.problems.append(
                        f"{where}group {go_quote(group.name)}, rule {index}, {go_quote(rule_name)}: {reason}"
                    )

    def _rule_problems(self, rule: _RawRule) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        record, alert, expr = rule.value("record"), rule.value("alert"), rule.value("expr")
        if record and alert:
            out.append((f"{_pos(rule.record)}: {_pos(rule.alert)}: ", "only one of 'record' and 'alert' must be set"))
        if not record and not alert:
            out.append((f"{_pos(rule.record)}: ", "one of 'record' or 'alert' must be set"))
        if not expr:
            out.append((f"{_pos(rule.expr)}: ", "field 'expr' must be set in rule"))
        else:
            try:
                parse_expr(expr, enable_experimental=False)
            except ValueError as exc:
                out.append((f"{_pos(rule.expr)}: ", f"could not parse expression: {exc}"))
        if record:
            where = f"{_pos(rule.record)}: "
            if rule.annotations:
                out.append((where, "invalid field 'annotations' in recording rule"))
            if rule.for_ms:
                out.append((where, "invalid field 'for' in recording rule"))
            if rule.keep_firing_for_ms:
                out.append((where, "invalid field 'keep_firing_for' in recording rule"))
            if not self._metric_name_ok(record):
                out.append((where, f"invalid recording rule name: {record}"))
        for name in sorted(rule.labels):
            if not self._label_name_ok(name) or name == "__name__":
                out.append(("", f"invalid label name: {name}"))
        for name in sorted(rule.annotations):
            if not self._label_name_ok(name):
                out.append(("", f"invalid annotation name: {name}"))
        if alert and self.template_check is not None:
            for kind, mapping in (("label", rule.labels), ("annotation", rule.annotations)):
                for name in sorted(mapping):
                    try:
                        self.template_check("__alert_" + alert, mapping[name])
                    except Exception as exc:  # the template engine's error, reported as is
                        out.append(("", f"{kind} {go_quote(name)}: {exc}"))
        return out

    @staticmethod
    def _metric_name_ok(name: str) -> bool:
        # Prometheus 3 still wants a record name usable as a bare PromQL metric name.
        return _METRIC_NAME.fullmatch(name) is not None

    def _label_name_ok(self, name: str) -> bool:
        return bool(name) if self.utf8 else _LABEL_NAME.fullmatch(name) is not None


def _duplicates(groups: list[_RawGroup]) -> list[tuple[str, tuple[tuple[str, str], ...]]]:
    """promtool's duplicate-rule lint: same name and labels, each reported once."""
    keys = sorted(
        (rule.lint_name(), tuple(sorted(rule.labels.items()))) for group in groups for rule in group.rules
    )
    out: list[tuple[str, tuple[tuple[str, str], ...]]] = []
    for previous, current in itertools.pairwise(keys):
        if previous == current and (not out or out[-1] != current):
            out.append(current)
    return out


def resolve_rule_files(patterns: tuple[str, ...]) -> list[str]:
    """Files matched by ``rule_files`` globs (already absolute), sorted within each glob."""
    import glob

    out: list[str] = []
    for pattern in patterns:
        for path in sorted(glob.glob(pattern)):
            if os.path.isfile(path) and path not in out:
                out.append(path)
    return out


__all__ += ["parse_rule_file_at", "resolve_rule_files"]
