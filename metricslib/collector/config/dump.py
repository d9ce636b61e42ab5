"""The running configuration as YAML, for ``/api/v1/status/config``.

Defaults are written out and secrets are replaced by ``<secret>``, as
Prometheus does, so the page never leaks a password or token.
"""

from __future__ import annotations

from typing import Any

import yaml

from metricslib.collector.config.config import Config, ScrapeConfig
from metricslib.collector.model.relabel import RelabelConfig

__all__ = ["dump_config"]

SECRET = "<secret>"


def _bytes(size: int) -> str:
    for unit, shift in (("GB", 30), ("MB", 20), ("KB", 10)):
        if size % (1 << shift) == 0:
            return f"{size >> shift}{unit}"
    return f"{size}B"


def _relabel(rule: RelabelConfig) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if rule.source_labels:
        out["source_labels"] = list(rule.source_labels)
    out["separator"] = rule.separator
    out["regex"] = rule.regex
    if rule.modulus:
        out["modulus"] = rule.modulus
    if rule.target_label:
        out["target_label"] = rule.target_label
    out["replacement"] = rule.replacement
    out["action"] = rule.action
    return out


def _scrape(sc: ScrapeConfig) -> dict[str, Any]:
    out: dict[str, Any] = {
        "job_name": sc.job_name,
        "honor_labels": sc.honor_labels,
        "honor_timestamps": sc.honor_timestamps,
        "scrape_interval": str(sc.scrape_interval),
        "scrape_timeout": str(sc.scrape_timeout),
        "metrics_path": sc.metrics_path,
        "scheme": sc.scheme,
    }
    if sc.params:
        out["params"] = {k: list(v) for k, v in sc.params}
    for key in ("sample_limit", "label_limit", "label_name_length_limit",
                "label_value_length_limit"):
        if getattr(sc, key):
            out[key] = getattr(sc, key)
    if sc.body_size_limit:
        out["body_size_limit"] = _bytes(sc.body_size_limit)
    http = sc.http
    if http.basic_auth is not None:
        ba: dict[str, Any] = {"username": http.basic_auth.username}
        if http.basic_auth.password:
            ba["password"] = SECRET
        if http.basic_auth.password_file:
            ba["password_file"] = http.basic_auth.password_file
        out["basic_auth"] = ba
    if http.authorization is not None:
        au: dict[str, Any] = {"type": http.authorization.type}
        if http.authorization.credentials:
            au["credentials"] = SECRET
        if http.authorization.credentials_file:
            au["credentials_file"] = http.authorization.credentials_file
        out["authorization"] = au
    tls = {k: v for k, v in vars(http.tls_config).items() if v}
    out["tls_config"] = {"insecure_skip_verify": False, **tls}
    out["follow_redirects"] = http.follow_redirects
    if sc.static_configs:
        out["static_configs"] = [
            {"targets": list(s.targets), **({"labels": dict(s.labels)} if s.labels else {})}
            for s in sc.static_configs
        ]
    if sc.dns_sd_configs:
        out["dns_sd_configs"] = [
            {"names": list(d.names), "type": d.type, "port": d.port,
             "refresh_interval": str(d.refresh_interval)}
            for d in sc.dns_sd_configs
        ]
    if sc.file_sd_configs:
        out["file_sd_configs"] = [
            {"files": list(f.files), "refresh_interval": str(f.refresh_interval)}
            for f in sc.file_sd_configs
        ]
    if sc.relabel_configs:
        out["relabel_configs"] = [_relabel(r) for r in sc.relabel_configs]
    if sc.metric_relabel_configs:
        out["metric_relabel_configs"] = [_relabel(r) for r in sc.metric_relabel_configs]
    return out


def dump_config(config: Config) -> str:
    g = config.global_config
    doc: dict[str, Any] = {
        "global": {
            "scrape_interval": str(g.scrape_interval),
            "scrape_timeout": str(g.scrape_timeout),
            "evaluation_interval": str(g.evaluation_interval),
            **({"external_labels": dict(g.external_labels)} if g.external_labels else {}),
        },
        **({"rule_files": list(config.rule_files)} if config.rule_files else {}),
        "scrape_configs": [_scrape(sc) for sc in config.scrape_configs],
    }
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)
