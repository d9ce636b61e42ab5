"""The running configuration as YAML, for ``/api/v1/status/config``.

Defaults are written out and secrets are replaced by ``<secret>``, as
Prometheus does, so the page never leaks a password or token.
"""

from __future__ import annotations

from typing import Any

import yaml

from metricslib.collector.config.alerting import AlertingConfig, AlertmanagerConfig
from metricslib.collector.config.config import Config, ScrapeConfig
from metricslib.collector.config.durations import format_duration
from metricslib.collector.config.http_client import HTTPClientConfig
from metricslib.collector.config.remote_write import RemoteWriteConfig
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


def _with_secret(out: dict[str, Any], key: str, secret: str, file: str) -> dict[str, Any]:
    """A secret shows as :data:`SECRET`, never as itself; the file it is read from shows as is."""
    if secret:
        out[key] = SECRET
    if file:
        out[f"{key}_file"] = file
    return out


def _http_client(http: HTTPClientConfig) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if http.basic_auth is not None:
        ba = http.basic_auth
        out["basic_auth"] = _with_secret({"username": ba.username}, "password", ba.password, ba.password_file)
    if http.authorization is not None:
        au = http.authorization
        out["authorization"] = _with_secret({"type": au.type}, "credentials", au.credentials, au.credentials_file)
    tls = {k: v for k, v in vars(http.tls_config).items() if v}
    out["tls_config"] = {"insecure_skip_verify": False, **tls}
    out["follow_redirects"] = http.follow_redirects
    return out


def _seconds(value: float) -> str:
    return format_duration(round(value * 1000))


def _remote_write(rw: RemoteWriteConfig) -> dict[str, Any]:
    # The URL's password shows as Go's url.Redacted shows it; header values
    # may be API keys, so they are hidden like every other secret.
    out: dict[str, Any] = {"url": rw.redacted_url, "remote_timeout": _seconds(rw.remote_timeout_s)}
    if rw.headers:
        out["headers"] = {name: SECRET for name, _ in rw.headers}
    if rw.name:
        out["name"] = rw.name
    if rw.write_relabel_configs:
        out["write_relabel_configs"] = [_relabel(r) for r in rw.write_relabel_configs]
    out.update(_http_client(rw.http))
    out["queue_config"] = {
        "capacity": rw.capacity,
        "max_samples_per_send": rw.max_samples_per_send,
        "batch_send_deadline": _seconds(rw.batch_send_deadline_s),
        "min_backoff": _seconds(rw.min_backoff_s),
        "max_backoff": _seconds(rw.max_backoff_s),
        "retry_on_http_429": rw.retry_on_http_429,
    }
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
    out.update(_http_client(sc.http))
    out.update(_targets(sc))
    if sc.relabel_configs:
        out["relabel_configs"] = [_relabel(r) for r in sc.relabel_configs]
    if sc.metric_relabel_configs:
        out["metric_relabel_configs"] = [_relabel(r) for r in sc.metric_relabel_configs]
    return out


def _targets(sc: ScrapeConfig | AlertmanagerConfig) -> dict[str, Any]:
    out: dict[str, Any] = {}
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
    if config.alerting.alertmanagers or config.alerting.alert_relabel_configs:
        doc["alerting"] = _alerting(config.alerting)
    if config.remote_write:
        doc["remote_write"] = [_remote_write(rw) for rw in config.remote_write]
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)


def _alerting(alerting: AlertingConfig) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if alerting.alert_relabel_configs:
        out["alert_relabel_configs"] = [_relabel(r) for r in alerting.alert_relabel_configs]
    ams = []
    for am in alerting.alertmanagers:
        entry: dict[str, Any] = {
            **_http_client(am.http),
            "scheme": am.scheme,
            **({"path_prefix": am.path_prefix} if am.path_prefix else {}),
            "timeout": str(am.timeout),
            "api_version": am.api_version,
            **_targets(am),
        }
        if am.relabel_configs:
            entry["relabel_configs"] = [_relabel(r) for r in am.relabel_configs]
        if am.alert_relabel_configs:
            entry["alert_relabel_configs"] = [_relabel(r) for r in am.alert_relabel_configs]
        ams.append(entry)
    out["alertmanagers"] = ams
    return out
