"""``prometheus.yml`` → frozen dataclasses, with Prometheus 2.42's rules.

Entry points:

* :func:`load_config(path) <load_config>` → :class:`Config`, or raises
  :class:`~metricslib.errors.ConfigError` for the first problem (its message
  says how many more there are; :func:`check_config` lists them all).
* :func:`parse_config(text, file) <parse_config>` — the same from a string.
* :func:`check_config_cli(path) <check_config_cli>` — ``metricslib check config``.

A file Prometheus accepts is accepted unchanged: top-level sections and
scrape keys metricslib does not implement (``rule_files``,
``kubernetes_sd_configs``, ``oauth2``, ...) are ignored with
a warning in :attr:`Config.warnings`. Unknown keys are errors, as in
Prometheus. Every error names the file, the key path and the line.

Relative file names (``file_sd_configs`` globs, ``*_file`` credentials and TLS
files) are resolved against the config file's directory, as Prometheus does.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from metricslib.collector.config.alerting import AlertingConfig, read_alerting
from metricslib.collector.config.durations import Duration, parse_duration
from metricslib.collector.config.http_client import HTTPClientConfig, read_http_client_config
from metricslib.collector.config.service_discovery import (
    DNSSDConfig,
    FileSDConfig,
    LabelPairs,
    StaticConfig,
    read_dns,
    read_file_sd,
    read_labels,
    read_relabels,
    read_static,
)
from metricslib.collector.config.yaml_reader import NodeReader, compose
from metricslib.collector.model.relabel import RelabelConfig
from metricslib.errors import ConfigError

if TYPE_CHECKING:
    from metricslib.collector.config.remote_write import RemoteWriteConfig

__all__ = [
    "Config",
    "DNSSDConfig",
    "FileSDConfig",
    "GlobalConfig",
    "HTTPClientConfig",
    "ScrapeConfig",
    "StaticConfig",
    "check_config",
    "check_config_cli",
    "load_config",
    "parse_config",
]

_TOP_KEYS = ("global", "scrape_configs", "remote_write", "alerting", "rule_files")
_TOP_IGNORED = (
    "remote_read",
    "storage",
    "tracing",
    "scrape_config_files",
)
_GLOBAL_KEYS = ("scrape_interval", "scrape_timeout", "evaluation_interval", "external_labels",
                "rule_query_offset")
_GLOBAL_IGNORED = ("query_log_file", "body_size_limit", "sample_limit", "label_limit",
                   "label_name_length_limit", "label_value_length_limit", "target_limit",
                   "keep_dropped_targets", "scrape_protocols")
_SCRAPE_KEYS = (
    "job_name", "metrics_path", "scheme", "params", "scrape_interval", "scrape_timeout",
    "honor_labels", "honor_timestamps", "sample_limit", "label_limit", "label_name_length_limit",
    "label_value_length_limit", "body_size_limit", "static_configs", "dns_sd_configs",
    "file_sd_configs", "relabel_configs", "metric_relabel_configs",
    "basic_auth", "authorization", "bearer_token", "bearer_token_file", "tls_config",
    "follow_redirects",
)
_SCRAPE_IGNORED = (
    "target_limit", "oauth2", "proxy_url", "no_proxy", "proxy_from_environment",
    "proxy_connect_header", "enable_http2", "keep_dropped_targets", "scrape_classic_histograms",
    "native_histogram_bucket_limit", "native_histogram_min_bucket_factor", "enable_compression",
    "track_timestamps_staleness", "scrape_protocols", "metric_name_validation_scheme",
    "always_scrape_classic_histograms", "convert_classic_histograms_to_nhcb",
    "scrape_fallback_protocol", "metric_name_escaping_scheme",
)
_BYTE_UNITS = {"B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40, "PB": 1 << 50,
               "EB": 1 << 60}
_BYTES_RE = re.compile(r"(\d+(?:\.\d+)?)\s*([KMGTPE]?i?B)")


_ONE_MINUTE = Duration(60_000)
_TEN_SECONDS = Duration(10_000)
_ZERO = Duration(0)


@dataclass(frozen=True)
class GlobalConfig:
    scrape_interval: Duration = _ONE_MINUTE
    scrape_timeout: Duration = _TEN_SECONDS
    evaluation_interval: Duration = _ONE_MINUTE
    #: Kept for federation and remote write; never added to stored samples.
    external_labels: LabelPairs = ()
    #: Default ``query_offset`` of rule groups (Prometheus 3's ``rule_query_offset``).
    rule_query_offset: Duration = _ZERO


@dataclass(frozen=True)
class ScrapeConfig:
    job_name: str
    scrape_interval: Duration
    scrape_timeout: Duration
    metrics_path: str = "/metrics"
    scheme: str = "http"
    params: tuple[tuple[str, tuple[str, ...]], ...] = ()
    honor_labels: bool = False
    honor_timestamps: bool = True
    sample_limit: int = 0  # 0 = no limit, for every *_limit
    label_limit: int = 0
    label_name_length_limit: int = 0
    label_value_length_limit: int = 0
    body_size_limit: int = 0  # bytes
    http: HTTPClientConfig = field(default_factory=HTTPClientConfig)
    static_configs: tuple[StaticConfig, ...] = ()
    dns_sd_configs: tuple[DNSSDConfig, ...] = ()
    file_sd_configs: tuple[FileSDConfig, ...] = ()
    relabel_configs: tuple[RelabelConfig, ...] = ()
    metric_relabel_configs: tuple[RelabelConfig, ...] = ()


@dataclass(frozen=True)
class Config:
    global_config: GlobalConfig = field(default_factory=GlobalConfig)
    scrape_configs: tuple[ScrapeConfig, ...] = ()
    file: str = ""
    #: Read by ``remote_write.read_remote_writes``.
    remote_write: tuple[RemoteWriteConfig, ...] = ()
    alerting: AlertingConfig = field(default_factory=AlertingConfig)
    #: Sections and keys that were accepted but are not implemented.
    warnings: tuple[str, ...] = ()
    #: ``rule_files`` globs, made absolute against the config file's directory.
    rule_files: tuple[str, ...] = ()

    def scrape_config(self, job_name: str) -> ScrapeConfig | None:
        return next((sc for sc in self.scrape_configs if sc.job_name == job_name), None)


def parse_byte_size(text: str) -> int:
    """``body_size_limit`` syntax: ``0``, ``512KB``, ``10MiB``, ``1GB`` (powers of 1024, as Go's units)."""
    if text.strip() == "0":
        return 0
    match = _BYTES_RE.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not a valid byte size: {text!r} (use e.g. 0, 512KB, 10MB, 1GiB)")
    unit = match.group(2).replace("i", "")
    return int(float(match.group(1)) * _BYTE_UNITS[unit])


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and validate ``path``; raises ConfigError (file, key path, line)."""
    text, file = _read(path)
    return parse_config(text, file, base_dir=str(Path(file).resolve().parent))


def parse_config(text: str, file: str = "", base_dir: str | None = None) -> Config:
    config, problems = _parse(text, file, base_dir)
    if problems:
        first = problems[0]
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise ConfigError(f"{_reason(first)}{more}", first.file, first.key_path) from None
    assert config is not None
    return config


def check_config(path: str | os.PathLike[str]) -> tuple[Config | None, list[ConfigError]]:
    """Every problem in ``path`` (empty list and the config when it is valid)."""
    try:
        text, file = _read(path)
    except ConfigError as exc:
        return None, [exc]
    return _parse(text, file, str(Path(file).resolve().parent))


def check_config_cli(path: str) -> int:
    """``metricslib check config FILE``: promtool's summary line, or each problem."""
    config, problems = check_config(path)
    if problems or config is None:
        print(f"FAILED: {path} is not a valid config file:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    for warning in config.warnings:
        print(f"  WARNING: {warning}", file=sys.stderr)
    jobs = len(config.scrape_configs)
    print(f"SUCCESS: {path} is valid prometheus config file syntax ({jobs} scrape job{'s' * (jobs != 1)})")
    return 0


def _read(path: str | os.PathLike[str]) -> tuple[str, str]:
    file = os.fspath(path)
    try:
        with open(file, encoding="utf-8") as fh:
            return fh.read(), file
    except OSError as exc:
        raise ConfigError(f"cannot read config file: {exc.strerror or exc}", file) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file is not UTF-8: {exc}", file) from exc


def _reason(err: ConfigError) -> str:
    prefix = ": ".join(p for p in (err.file, err.key_path) if p)
    text = str(err)
    return text[len(prefix) + 2 :] if prefix and text.startswith(prefix + ": ") else text


def _parse(text: str, file: str, base_dir: str | None) -> tuple[Config | None, list[ConfigError]]:
    try:
        root, merged = compose(text, file)
    except ConfigError as exc:
        return None, [exc]
    r = NodeReader(file, merged)
    base = base_dir or os.getcwd()
    glob_cfg = GlobalConfig()
    scrape_configs: list[ScrapeConfig] = []
    remote: tuple[RemoteWriteConfig, ...] = ()
    alerting = AlertingConfig()
    rule_files: list[str] = []
    if root is not None:
        top = r.mapping(root, "", _TOP_KEYS, _TOP_IGNORED)
        if "global" in top:
            glob_cfg = _read_global(r, *top["global"])
        if "scrape_configs" in top:
            seen: dict[str, str] = {}
            for node, path in r.sequence(*top["scrape_configs"]):
                sc = _read_scrape(r, node, path, glob_cfg, base)
                if sc is None:
                    continue
                if sc.job_name in seen:
                    r.error(node, path, f"found multiple scrape configs with job name {sc.job_name!r} "
                                        f"(first at {seen[sc.job_name]})")
                    continue
                seen[sc.job_name] = path
                scrape_configs.append(sc)
        if "remote_write" in top:
            from metricslib.collector.config.remote_write import read_remote_writes

            remote = read_remote_writes(r, *top["remote_write"], base, read_relabels)
        if "alerting" in top:
            alerting = read_alerting(r, *top["alerting"], base)
        if "rule_files" in top:
            rule_files = _read_rule_files(r, *top["rule_files"], base)
    if r.problems:
        return None, r.problems
    return Config(glob_cfg, tuple(scrape_configs), file, remote_write=remote,
                  warnings=tuple(r.warnings), alerting=alerting, rule_files=tuple(rule_files)), []


def _read_rule_files(r: NodeReader, node: yaml.Node, path: str, base: str) -> list[str]:
    """Globs as Prometheus checks them (a bad pattern is an error), joined to ``base``."""
    out = []
    for pattern, item, item_path in r.string_list(node, path):
        # Go's filepath.Match rejects an unclosed class or a trailing backslash.
        if pattern.count("[") > pattern.count("]") or pattern.endswith("\\"):
            r.error(item, item_path, f"invalid rule file path {pattern!r}")
            continue
        out.append(os.path.join(base, pattern))
    return out


def _read_global(r: NodeReader, node: yaml.Node, path: str) -> GlobalConfig:
    m = r.mapping(node, path, _GLOBAL_KEYS, _GLOBAL_IGNORED)
    defaults = GlobalConfig()
    values: dict[str, Duration] = {}
    if "rule_query_offset" in m:
        values["rule_query_offset"] = r.duration(*m["rule_query_offset"]) or _ZERO
    for key in ("scrape_interval", "scrape_timeout", "evaluation_interval"):
        if key in m:
            d = r.duration(*m[key])
            if d is not None and d == 0:
                r.error(m[key][0], m[key][1], f"{key} must be greater than 0")
            elif d is not None:
                values[key] = d
    interval = values.get("scrape_interval", defaults.scrape_interval)
    timeout = values.get("scrape_timeout", defaults.scrape_timeout)
    if "scrape_timeout" not in values and "scrape_interval" in values and interval < timeout:
        timeout = interval  # Prometheus lowers the default timeout to fit the interval
    if timeout > interval:
        where = m.get("scrape_timeout") or m.get("scrape_interval") or (node, path)
        r.error(where[0], where[1], f"global scrape timeout {timeout} is greater than "
                                    f"global scrape interval {interval}")
    external: LabelPairs = ()
    if "external_labels" in m:
        external = read_labels(r, *m["external_labels"])
        for name, _ in external:
            if name == "__name__":
                r.error(m["external_labels"][0], m["external_labels"][1] + ".__name__",
                        "'__name__' is not allowed in external_labels")
    return GlobalConfig(
        scrape_interval=interval,
        scrape_timeout=timeout,
        evaluation_interval=values.get("evaluation_interval", defaults.evaluation_interval),
        external_labels=external,
        rule_query_offset=values.get("rule_query_offset", _ZERO),
    )


def _read_scrape(
    r: NodeReader, node: yaml.Node, path: str, glob: GlobalConfig, base: str
) -> ScrapeConfig | None:
    errors_before = len(r.problems)
    m = r.mapping(node, path, _SCRAPE_KEYS, _SCRAPE_IGNORED, ignore_suffix="_sd_configs")
    job = r.string(*m["job_name"]) if "job_name" in m else None
    if not job:
        r.error(node, path, "job_name is empty or missing")
    kw: dict[str, object] = {}
    for key in ("metrics_path", "scheme"):
        if key in m:
            kw[key] = r.string(*m[key])
    if kw.get("scheme") not in (None, "http", "https"):
        r.error(m["scheme"][0], m["scheme"][1], f"unknown scheme {kw['scheme']!r} (use http or https)")
    for key in ("honor_labels", "honor_timestamps"):
        if key in m:
            kw[key] = r.boolean(*m[key])
    for key in ("sample_limit", "label_limit", "label_name_length_limit", "label_value_length_limit"):
        if key in m:
            kw[key] = r.integer(*m[key])
    if "body_size_limit" in m:
        kw["body_size_limit"] = r.convert(*m["body_size_limit"], parse_byte_size)
    interval = r.duration(*m["scrape_interval"]) if "scrape_interval" in m else glob.scrape_interval
    if interval is not None and interval == 0:
        r.error(m["scrape_interval"][0], m["scrape_interval"][1], "scrape_interval must be greater than 0")
    interval = interval or glob.scrape_interval
    if "scrape_timeout" in m:
        timeout = r.duration(*m["scrape_timeout"]) or glob.scrape_timeout
    else:
        timeout = min(glob.scrape_timeout, interval)
    if timeout > interval:
        where = m.get("scrape_timeout") or m.get("scrape_interval") or (node, path)
        r.error(where[0], where[1], f"scrape timeout {timeout} is greater than scrape interval "
                                    f"{interval} for job {job!r}")
    if "params" in m:
        params = []
        pnode, ppath = m["params"]
        mapping = r.mapping(pnode, ppath, None)
        for key, (vnode, vpath) in mapping.items():
            params.append((key, tuple(v for v, _, _ in r.string_list(vnode, vpath))))
        kw["params"] = tuple(sorted(params))
    kw["http"] = read_http_client_config(r, m, base)
    relabel = read_relabels(r, *m["relabel_configs"]) if "relabel_configs" in m else ()
    kw["relabel_configs"] = relabel
    if "metric_relabel_configs" in m:
        kw["metric_relabel_configs"] = read_relabels(r, *m["metric_relabel_configs"])
    if "static_configs" in m:
        kw["static_configs"] = tuple(
            read_static(r, n, p, check_addresses=not relabel) for n, p in r.sequence(*m["static_configs"])
        )
    if "dns_sd_configs" in m:
        kw["dns_sd_configs"] = tuple(read_dns(r, n, p) for n, p in r.sequence(*m["dns_sd_configs"]))
    if "file_sd_configs" in m:
        kw["file_sd_configs"] = tuple(
            read_file_sd(r, n, p, base) for n, p in r.sequence(*m["file_sd_configs"])
        )
    if len(r.problems) > errors_before or not job:
        return None
    return ScrapeConfig(
        job_name=job, scrape_interval=interval, scrape_timeout=timeout,
        **{k: v for k, v in kw.items() if v is not None},  # type: ignore[arg-type]
    )


__all__ += ["parse_byte_size", "parse_duration"]
