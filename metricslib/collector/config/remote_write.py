"""The ``remote_write`` section of prometheus.yml, read with the same rules as the rest.

Keys Prometheus knows but we do not implement (``sigv4``, ``oauth2``,
``metadata_config``, sharding knobs, ...) warn and are ignored; unknown keys
are errors naming the key path and line.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field

import yaml

from metricslib.collector.config.http_client import HTTPClientConfig, read_http_client_config
from metricslib.collector.config.yaml_reader import NodeReader
from metricslib.collector.model.relabel import RelabelConfig

__all__ = ["REDACTED_PASSWORD", "RemoteWriteConfig", "read_remote_writes", "redact_url"]

#: What stands for a URL's password wherever the URL is shown (Go's ``url.Redacted``).
REDACTED_PASSWORD = "xxxxx"


def redact_url(url: str) -> str:
    """``url`` with the password of its user info replaced, as Prometheus shows URLs."""
    parts = urllib.parse.urlsplit(url)
    userinfo, at, host = parts.netloc.rpartition("@")
    if not at or ":" not in userinfo:
        return url
    user = userinfo.partition(":")[0]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}:{REDACTED_PASSWORD}@{host}"))


@dataclass(frozen=True)
class RemoteWriteConfig:
    """One ``remote_write`` entry of prometheus.yml (the keys we implement).

    ``url`` may carry credentials (``http://user:password@host/...``): show
    ``redacted_url`` or ``display_name``, never ``url`` itself."""

    url: str = field(repr=False)
    name: str = ""
    remote_timeout_s: float = 30.0
    headers: tuple[tuple[str, str], ...] = ()
    http: HTTPClientConfig = field(default_factory=HTTPClientConfig)
    write_relabel_configs: tuple[RelabelConfig, ...] = ()
    capacity: int = 100_000
    max_samples_per_send: int = 2_000
    batch_send_deadline_s: float = 5.0
    min_backoff_s: float = 0.03
    max_backoff_s: float = 5.0
    retry_on_http_429: bool = True

    @property
    def redacted_url(self) -> str:
        return redact_url(self.url)

    @property
    def display_name(self) -> str:
        return self.name or urllib.parse.urlsplit(self.redacted_url).netloc



_KEYS = (
    "url", "name", "remote_timeout", "headers", "write_relabel_configs", "queue_config",
    "basic_auth", "authorization", "bearer_token", "bearer_token_file", "tls_config",
    "follow_redirects",
)
_IGNORED = (
    "send_exemplars", "send_native_histograms", "metadata_config", "sigv4", "azuread",
    "google_iam", "oauth2", "proxy_url", "no_proxy", "proxy_from_environment",
    "proxy_connect_header", "enable_http2", "protobuf_message", "round_robin_dns",
)
_QUEUE_KEYS = (
    "capacity", "max_samples_per_send", "batch_send_deadline", "min_backoff", "max_backoff",
    "retry_on_http_429",
)
_QUEUE_IGNORED = ("max_shards", "min_shards", "sample_age_limit")


def read_remote_writes(
    r: NodeReader,
    node: yaml.Node,
    path: str,
    base: str,
    read_relabels: Callable[[NodeReader, yaml.Node, str], tuple[RelabelConfig, ...]],
) -> tuple[RemoteWriteConfig, ...]:
    out: list[RemoteWriteConfig] = []
    names: set[str] = set()
    for item, item_path in r.sequence(node, path):
        m = r.mapping(item, item_path, _KEYS, _IGNORED)
        url = r.string(*m["url"]) if "url" in m else None
        if not url:
            r.error(item, item_path, "url for remote_write is empty or missing")
            continue
        if not url.startswith(("http://", "https://")):
            r.error(m["url"][0], m["url"][1], f"{url!r} is not an http(s) URL")
            continue
        kw: dict[str, object] = {"url": url}
        if "name" in m:
            name = r.string(*m["name"]) or ""
            if name in names:
                r.error(m["name"][0], m["name"][1], f"found multiple remote write configs with name {name!r}")
            names.add(name)
            kw["name"] = name
        if "remote_timeout" in m:
            timeout = r.duration(*m["remote_timeout"])
            if timeout is not None:
                kw["remote_timeout_s"] = timeout.seconds
        if "headers" in m:
            kw["headers"] = tuple((k, v) for k, v, _, _ in r.string_map(*m["headers"]))
        if "write_relabel_configs" in m:
            kw["write_relabel_configs"] = read_relabels(r, *m["write_relabel_configs"])
        if "queue_config" in m:
            q = r.mapping(*m["queue_config"], _QUEUE_KEYS, _QUEUE_IGNORED)
            for key in ("capacity", "max_samples_per_send"):
                if key in q:
                    kw[key] = r.integer(*q[key], minimum=1)
            for key in ("batch_send_deadline", "min_backoff", "max_backoff"):
                if key in q:
                    value = r.duration(*q[key])
                    if value is not None:
                        kw[f"{key}_s"] = value.seconds
            if "retry_on_http_429" in q:
                kw["retry_on_http_429"] = r.boolean(*q["retry_on_http_429"])
        kw["http"] = read_http_client_config(r, m, base)
        out.append(RemoteWriteConfig(**{k: v for k, v in kw.items() if v is not None}))  # type: ignore[arg-type]
    return tuple(out)
