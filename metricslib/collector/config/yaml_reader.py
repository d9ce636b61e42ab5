"""Reading YAML nodes with their line numbers, collecting every problem found.

The config loader walks PyYAML's node tree (not the plain objects) so that an
error can name the line of the offending key or value as well as its key path
(``scrape_configs[2].static_configs[0].targets[1]``). Problems are collected
rather than raised one at a time, so ``metricslib check config`` can list them
all in one run.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any, TypeVar

import yaml

from metricslib.collector.config.durations import Duration, parse_duration
from metricslib.errors import ConfigError

__all__ = ["NodeReader", "compose", "compose_merged"]

T = TypeVar("T")
# libyaml's composer when PyYAML was built with it: about ten times faster.
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_NULL_TAG = "tag:yaml.org,2002:null"


def compose(text: str, file: str) -> tuple[yaml.Node | None, dict[int, int]]:
    """Parse ``text`` into a node tree with merge keys (``<<:``) resolved.

    Also returns, per mapping node id, how many leading pairs came from a merge:
    keys given explicitly may override those, as YAML's merge rules say."""
    try:
        return compose_merged(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConfigError(f"invalid YAML: {exc.problem}{line}", file) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", file) from exc


def compose_merged(text: str, loader_class: Callable[[str], Any] = _Loader) -> tuple[yaml.Node | None, dict[int, int]]:
    """:func:`compose` without the wording: YAML errors are raised as PyYAML raises them,
    for callers (the rule file reader) that word them their own way; ``loader_class``
    lets such a caller compose with its own loader."""
    loader = loader_class(text)
    merged: dict[int, int] = {}
    try:
        node = loader.get_single_node()
        if node is not None:
            _flatten(loader, node, merged)
        return node, merged
    finally:
        loader.dispose()


def _flatten(loader: Any, node: yaml.Node, merged: dict[int, int]) -> None:
    if id(node) in merged:  # aliases share nodes; visit each once
        return
    merged[id(node)] = 0
    if isinstance(node, yaml.MappingNode):
        explicit = sum(1 for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge")
        loader.flatten_mapping(node)
        merged[id(node)] = len(node.value) - explicit
        for key, value in node.value:
            _flatten(loader, key, merged)
            _flatten(loader, value, merged)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _flatten(loader, item, merged)


def is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == _NULL_TAG


class NodeReader:
    """Typed reads from nodes; on a bad value it records a problem and returns None."""

    def __init__(self, file: str, merged: dict[int, int] | None = None) -> None:
        self.file = file
        self._merged = merged or {}
        self.problems: list[ConfigError] = []
        self.warnings: list[str] = []

    def error(self, node: yaml.Node | None, path: str, message: str) -> None:
        line = f" (line {node.start_mark.line + 1})" if node is not None else ""
        self.problems.append(ConfigError(f"{message}{line}", self.file, path))

    def warn(self, node: yaml.Node, path: str, message: str) -> None:
        where = ": ".join(p for p in (self.file, path) if p)
        self.warnings.append(f"{where}: {message} (line {node.start_mark.line + 1})")

    def mapping(
        self,
        node: yaml.Node,
        path: str,
        known: Collection[str] | None,
        ignored: Collection[str] = (),
        ignore_suffix: str | None = None,
    ) -> dict[str, tuple[yaml.Node, str]]:
        """Known keys with non-null values → (node, key path). Unknown keys are
        problems; ``ignored`` keys (and keys ending in ``ignore_suffix``) warn.
        ``known=None`` accepts every key (free-form maps such as ``params``)."""
        if is_null(node):
            return {}
        if not isinstance(node, yaml.MappingNode):
            self.error(node, path, f"expected a mapping, got {_kind(node)}")
            return {}
        out: dict[str, tuple[yaml.Node, str]] = {}
        from_merge: set[str] = set()
        for index, (key_node, value_node) in enumerate(node.value):
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str):
                self.error(key_node, path, "mapping keys must be strings")
                continue
            child = f"{path}.{key}" if path else key
            if index < self._merged.get(id(node), 0):
                from_merge.add(key)
            elif key in from_merge:
                from_merge.discard(key)  # an explicit key overrides a merged one
                out.pop(key, None)
            if key in out:
                self.error(key_node, child, f"key {key!r} is given twice")
            elif known is None or key in known:
                if not is_null(value_node):
                    out[key] = (value_node, child)
            elif key in ignored or (ignore_suffix is not None and key.endswith(ignore_suffix)):
                self.warn(key_node, child, f"{key!r} is not supported by metricslib and is ignored")
            else:
                self.error(key_node, child, f"unknown key {key!r}")
        return out

    def sequence(self, node: yaml.Node, path: str) -> list[tuple[yaml.Node, str]]:
        if is_null(node):
            return []
        if not isinstance(node, yaml.SequenceNode):
            self.error(node, path, f"expected a list, got {_kind(node)}")
            return []
        return [(item, f"{path}[{i}]") for i, item in enumerate(node.value)]

    def string(self, node: yaml.Node, path: str) -> str | None:
        if not isinstance(node, yaml.ScalarNode):
            self.error(node, path, f"expected a string, got {_kind(node)}")
            return None
        return str(node.value)

    def boolean(self, node: yaml.Node, path: str) -> bool | None:
        value = self.string(node, path)
        if value is None:
            return None
        lowered = value.lower()
        if lowered in ("true", "yes", "on"):
            return True
        if lowered in ("false", "no", "off"):
            return False
        self.error(node, path, f"expected true or false, got {value!r}")
        return None

    def integer(self, node: yaml.Node, path: str, minimum: int = 0) -> int | None:
        value = self.string(node, path)
        if value is None:
            return None
        try:
            number = int(value, 0) if value.lower().startswith(("0x", "0o")) else int(value)
        except ValueError:
            self.error(node, path, f"expected an integer, got {value!r}")
            return None
        if number < minimum:
            self.error(node, path, f"must be at least {minimum}, got {number}")
            return None
        return number

    def duration(self, node: yaml.Node, path: str) -> Duration | None:
        return self.convert(node, path, parse_duration)

    def convert(self, node: yaml.Node, path: str, parse: Callable[[str], T]) -> T | None:
        value = self.string(node, path)
        if value is None:
            return None
        try:
            return parse(value)
        except ValueError as exc:
            self.error(node, path, str(exc))
            return None

    def string_list(self, node: yaml.Node, path: str) -> list[tuple[str, yaml.Node, str]]:
        out = []
        for item, item_path in self.sequence(node, path):
            value = self.string(item, item_path)
            if value is not None:
                out.append((value, item, item_path))
        return out

    def string_map(self, node: yaml.Node, path: str) -> list[tuple[str, str, yaml.Node, str]]:
        """(key, value, key node, key path) for a mapping of strings."""
        if is_null(node):
            return []
        if not isinstance(node, yaml.MappingNode):
            self.error(node, path, f"expected a mapping, got {_kind(node)}")
            return []
        out = []
        for key_node, value_node in node.value:
            key = self.string(key_node, path)
            if key is None:
                continue
            child = f"{path}.{key}"
            value = "" if is_null(value_node) else self.string(value_node, child)
            if value is not None:
                out.append((key, value, key_node, child))
        return out


def _kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return f"the scalar {node.value!r}"
