"""The ``alerting`` section of prometheus.yml: where alerts go and how they are relabelled.

Read with the same rules as the rest of :mod:`config` (every error names the
file, key path and line). What Prometheus 2.42 accepts is accepted, with two
differences that would otherwise fail only at send time: ``scheme`` must be
``http`` or ``https``, and ``timeout`` must be greater than 0. ``api_version``
is ``v2`` by default; ``v1`` is accepted as 2.42 accepts it (alerts then go to
``/api/v1/alerts``), with a warning, since Prometheus 3 and Alertmanager 0.27
dropped it. ``alert_relabel_configs`` inside one Alertmanager entry is
Prometheus 3's per-set relabelling and is accepted too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import yaml

from metricslib.collector.config.durations import Duration
from metricslib.collector.config.http_client import HTTPClientConfig, read_http_client_config
from metricslib.collector.config.service_discovery import (
    DNSSDConfig,
    FileSDConfig,
    StaticConfig,
    read_dns,
    read_file_sd,
    read_relabels,
    read_static,
)
from metricslib.collector.config.yaml_reader import NodeReader, is_null
from metricslib.collector.model.relabel import RelabelConfig

__all__ = ["API_VERSIONS", "AlertingConfig", "AlertmanagerConfig", "read_alerting"]

#: What 2.42 accepts; Prometheus 3 accepts only v2.
API_VERSIONS = ("v1", "v2")

_TEN_SECONDS = Duration(10_000)
_ALERTING_KEYS = ("alert_relabel_configs", "alertmanagers")
_AM_KEYS = (
    "static_configs", "dns_sd_configs", "file_sd_configs", "scheme", "path_prefix", "timeout",
    "api_version", "relabel_configs", "alert_relabel_configs",
    "basic_auth", "authorization", "bearer_token", "bearer_token_file", "tls_config",
    "follow_redirects",
)
_AM_IGNORED = ("oauth2", "proxy_url", "no_proxy", "proxy_from_environment", "proxy_connect_header",
               "enable_http2", "sigv4")


@dataclass(frozen=True)
class AlertmanagerConfig:
    """One ``alertmanagers`` entry: how to find a set of Alertmanagers and talk to them."""

    scheme: str = "http"
    path_prefix: str = ""
    timeout: Duration = _TEN_SECONDS
    api_version: str = "v2"
    http: HTTPClientConfig = field(default_factory=HTTPClientConfig)
    static_configs: tuple[StaticConfig, ...] = ()
    dns_sd_configs: tuple[DNSSDConfig, ...] = ()
    file_sd_configs: tuple[FileSDConfig, ...] = ()
    relabel_configs: tuple[RelabelConfig, ...] = ()
    #: Applied after the global ``alert_relabel_configs``, to this set only.
    alert_relabel_configs: tuple[RelabelConfig, ...] = ()


@dataclass(frozen=True)
class AlertingConfig:
    alert_relabel_configs: tuple[RelabelConfig, ...] = ()
    alertmanagers: tuple[AlertmanagerConfig, ...] = ()


def _relabels(r: NodeReader, node: yaml.Node, path: str, what: str) -> tuple[RelabelConfig, ...]:
    for item, item_path in r.sequence(node, path):
        if is_null(item):  # Prometheus's own wording: a bare "-" is easy to leave behind
            r.error(item, item_path, f"empty or null {what} relabeling rule")
    return read_relabels(r, node, path)


def read_alerting(r: NodeReader, node: yaml.Node, path: str, base: str) -> AlertingConfig:
    m = r.mapping(node, path, _ALERTING_KEYS)
    rules = _relabels(r, *m["alert_relabel_configs"], "alert") if "alert_relabel_configs" in m else ()
    ams: list[AlertmanagerConfig] = []
    if "alertmanagers" in m:
        for item, item_path in r.sequence(*m["alertmanagers"]):
            am = _read_alertmanager(r, item, item_path, base)
            if am is not None:
                ams.append(am)
    return AlertingConfig(rules, tuple(ams))


def _read_alertmanager(r: NodeReader, node: yaml.Node, path: str, base: str) -> AlertmanagerConfig | None:
    errors_before = len(r.problems)
    m = r.mapping(node, path, _AM_KEYS, _AM_IGNORED, ignore_suffix="_sd_configs")
    kw: dict[str, object] = {}
    if "scheme" in m:
        scheme = r.string(*m["scheme"])
        if scheme not in ("http", "https"):
            r.error(m["scheme"][0], m["scheme"][1], f"unknown scheme {scheme!r} (use http or https)")
        kw["scheme"] = scheme
    if "path_prefix" in m:
        kw["path_prefix"] = r.string(*m["path_prefix"])
    if "timeout" in m:
        timeout = r.duration(*m["timeout"])
        if timeout is not None and timeout == 0:
            r.error(m["timeout"][0], m["timeout"][1], "timeout must be greater than 0")
        kw["timeout"] = timeout
    if "api_version" in m:
        version = r.string(*m["api_version"])
        if version not in API_VERSIONS:
            r.error(m["api_version"][0], m["api_version"][1],
                    f"expected Alertmanager api version to be one of [v1 v2] but got {version}")
        elif version == "v1":
            r.warn(m["api_version"][0], m["api_version"][1],
                   "api_version v1 is deprecated: Prometheus 3 rejects it and Alertmanager 0.27 "
                   "removed it; use v2")
        kw["api_version"] = version
    kw["http"] = read_http_client_config(r, m, base)
    relabel: tuple[RelabelConfig, ...] = ()
    if "relabel_configs" in m:
        relabel = _relabels(r, *m["relabel_configs"], "Alertmanager target")
        kw["relabel_configs"] = relabel
    if "alert_relabel_configs" in m:
        kw["alert_relabel_configs"] = _relabels(r, *m["alert_relabel_configs"], "alert")
    _read_sd(r, m, base, kw, check_addresses=not relabel)
    if len(r.problems) > errors_before:
        return None
    return AlertmanagerConfig(**{k: v for k, v in kw.items() if v is not None})  # type: ignore[arg-type]


def _read_sd(
    r: NodeReader, m: dict[str, tuple[yaml.Node, str]], base: str, kw: dict[str, object],
    check_addresses: bool,
) -> None:
    readers: dict[str, Callable[[yaml.Node, str], object]] = {
        "static_configs": lambda n, p: read_static(r, n, p, check_addresses=check_addresses),
        "dns_sd_configs": lambda n, p: read_dns(r, n, p),
        "file_sd_configs": lambda n, p: read_file_sd(r, n, p, base),
    }
    for key, read in readers.items():
        if key in m:
            kw[key] = tuple(read(n, p) for n, p in r.sequence(*m[key]))
