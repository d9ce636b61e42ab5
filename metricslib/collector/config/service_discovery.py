"""Target sources and relabel rules of a scrape config: ``static_configs``,
``dns_sd_configs``, ``file_sd_configs`` and ``*relabel_configs``, read from
YAML nodes with the same error rules as the rest of :mod:`config`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import yaml

from metricslib.collector.config.durations import Duration
from metricslib.collector.config.yaml_reader import NodeReader
from metricslib.collector.model.relabel import LABEL_NAME_RE, RelabelConfig

__all__ = [
    "DNSSDConfig",
    "FileSDConfig",
    "LabelPairs",
    "StaticConfig",
    "read_dns",
    "read_file_sd",
    "read_labels",
    "read_relabels",
    "read_static",
]

LabelPairs = tuple[tuple[str, str], ...]

_RELABEL_KEYS = (
    "source_labels", "separator", "regex", "modulus", "target_label", "replacement", "action",
)
_THIRTY_SECONDS = Duration(30_000)
_FIVE_MINUTES = Duration(300_000)


@dataclass(frozen=True)
class StaticConfig:
    targets: tuple[str, ...] = ()
    labels: LabelPairs = ()


@dataclass(frozen=True)
class DNSSDConfig:
    names: tuple[str, ...] = ()
    type: str = "SRV"
    port: int = 0
    refresh_interval: Duration = _THIRTY_SECONDS


@dataclass(frozen=True)
class FileSDConfig:
    files: tuple[str, ...] = ()  # absolute glob patterns
    refresh_interval: Duration = _FIVE_MINUTES


def read_labels(r: NodeReader, node: yaml.Node, path: str) -> LabelPairs:
    out: dict[str, str] = {}
    for key, value, key_node, key_path in r.string_map(node, path):
        if not LABEL_NAME_RE.fullmatch(key):
            r.error(key_node, key_path, f"{key!r} is not a valid label name")
        elif value:
            out[key] = value
    return tuple(sorted(out.items()))


def read_relabels(r: NodeReader, node: yaml.Node, path: str) -> tuple[RelabelConfig, ...]:
    rules = []
    for item, item_path in r.sequence(node, path):
        m = r.mapping(item, item_path, _RELABEL_KEYS)
        kw: dict[str, object] = {}
        if "source_labels" in m:
            kw["source_labels"] = [v for v, _, _ in r.string_list(*m["source_labels"])]
        for key in ("separator", "regex", "target_label", "replacement", "action"):
            if key in m:
                kw[key] = r.string(*m[key])
        if "modulus" in m:
            kw["modulus"] = r.integer(*m["modulus"])
        try:
            rules.append(RelabelConfig.create(**{k: v for k, v in kw.items() if v is not None}))  # type: ignore[arg-type]
        except ValueError as exc:
            culprit = next((k for k in ("action", "regex", "target_label", "modulus", "replacement",
                                        "source_labels") if k in m and k in str(exc)), None)
            where = m[culprit] if culprit else (item, item_path)
            r.error(where[0], where[1], str(exc))
    return tuple(rules)


def read_static(r: NodeReader, node: yaml.Node, path: str, check_addresses: bool) -> StaticConfig:
    m = r.mapping(node, path, ("targets", "labels"))
    targets = []
    if "targets" in m:
        for value, vnode, vpath in r.string_list(*m["targets"]):
            if check_addresses and "/" in value:
                r.error(vnode, vpath, f"{value!r} is not a valid hostname (targets are host:port, "
                                      f"without scheme or path)")
            elif not value:
                r.error(vnode, vpath, "target address is empty")
            else:
                targets.append(value)
    labels = read_labels(r, *m["labels"]) if "labels" in m else ()
    return StaticConfig(tuple(targets), labels)


def read_dns(r: NodeReader, node: yaml.Node, path: str) -> DNSSDConfig:
    m = r.mapping(node, path, ("names", "type", "port", "refresh_interval"))
    names = tuple(v for v, _, _ in r.string_list(*m["names"])) if "names" in m else ()
    if not names:
        r.error(node, path, "DNS-SD config must contain at least one SRV record name")
    rtype = (r.string(*m["type"]) or "SRV").upper() if "type" in m else "SRV"
    if rtype not in ("SRV", "A", "AAAA", "MX", "NS"):
        r.error(m["type"][0], m["type"][1], f"invalid DNS-SD records type {rtype!r}")
    elif rtype in ("MX", "NS"):
        r.error(m["type"][0], m["type"][1], f"DNS-SD records type {rtype} is not supported by metricslib")
    port = r.integer(*m["port"]) if "port" in m else 0
    if rtype in ("A", "AAAA") and not port:
        r.error(node, path, "a port is required in DNS-SD configs for all record types except SRV")
    refresh = r.duration(*m["refresh_interval"]) if "refresh_interval" in m else None
    return DNSSDConfig(names, rtype, port or 0, refresh or DNSSDConfig.refresh_interval)


def read_file_sd(r: NodeReader, node: yaml.Node, path: str, base: str) -> FileSDConfig:
    m = r.mapping(node, path, ("files", "refresh_interval"))
    files = []
    for value, vnode, vpath in (r.string_list(*m["files"]) if "files" in m else []):
        name = os.path.basename(value)
        if not name.endswith((".json", ".yml", ".yaml")):
            r.error(vnode, vpath, f"path name {value!r} is not valid for file discovery "
                                  f"(it must end in .json, .yml or .yaml)")
        else:
            files.append(value if os.path.isabs(value) else os.path.join(base, value))
    if not files and "files" not in m:
        r.error(node, path, "file service discovery config must contain at least one path name")
    refresh = r.duration(*m["refresh_interval"]) if "refresh_interval" in m else None
    return FileSDConfig(tuple(files), refresh or FileSDConfig.refresh_interval)
