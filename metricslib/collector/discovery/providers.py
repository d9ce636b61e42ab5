"""Service discovery: static, file and DNS providers → target groups.

A :class:`TargetGroup` is what every provider produces: a ``source`` that
identifies it (a file and index, a DNS name, ``static/0``), its targets (each
a label dict with at least ``__address__``) and labels shared by all of them.

:class:`JobDiscovery` owns the providers of one scrape config. The runtime
calls :meth:`JobDiscovery.poll` often (about every quarter second); each
provider decides whether it is due:

* static groups never change;
* file SD re-reads a file as soon as its size or modification time changes
  (checked at every poll, which is cheap) and every ``refresh_interval``; a
  file that fails to parse keeps its previous groups and its error is kept in
  :attr:`JobDiscovery.errors`, as Prometheus does;
* DNS SD queries every ``refresh_interval``; a failed lookup keeps the
  previous targets of that name.

DNS uses dnspython. ``resolver`` may be ``None`` (the system's resolver), a
``dns.resolver.Resolver``, or a ``(host, port)`` tuple naming a nameserver
(how tests point it at a local dnsmasq).
"""

from __future__ import annotations

import glob
import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from metricslib.collector.config.config import DNSSDConfig, FileSDConfig, ScrapeConfig, StaticConfig
from metricslib.collector.model.relabel import LABEL_NAME_RE

__all__ = [
    "DNSProvider",
    "FileProvider",
    "JobDiscovery",
    "StaticProvider",
    "TargetGroup",
    "make_resolver",
]

log = logging.getLogger("metricslib.collector.discovery.providers")


@dataclass(frozen=True)
class TargetGroup:
    source: str
    targets: tuple[tuple[tuple[str, str], ...], ...]
    labels: tuple[tuple[str, str], ...] = ()


class StaticProvider:
    def __init__(self, configs: Sequence[StaticConfig]) -> None:
        self._groups = [
            TargetGroup(f"static/{i}", tuple((("__address__", t),) for t in sc.targets), sc.labels)
            for i, sc in enumerate(configs)
        ]
        self._sent = False

    def poll(self, now: float) -> list[TargetGroup] | None:
        if self._sent:
            return None
        self._sent = True
        return list(self._groups)


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


def make_resolver(resolver: object | None) -> Any:
    """A dnspython Resolver from ``None``, a Resolver, or ``(host, port)``."""
    import dns.resolver

    if resolver is None:
        try:
            return dns.resolver.Resolver()
        except dns.resolver.NoResolverConfiguration:
            # No usable /etc/resolv.conf: Go (and so Prometheus) then asks localhost:53.
            log.warning("dns_sd: no resolver configuration found; using 127.0.0.1:53")
            fallback = dns.resolver.Resolver(configure=False)
            fallback.nameservers = ["127.0.0.1"]
            return fallback
    if isinstance(resolver, dns.resolver.Resolver):
        return resolver
    if isinstance(resolver, tuple) and len(resolver) == 2:
        res = dns.resolver.Resolver(configure=False)
        res.nameservers = [str(resolver[0])]
        res.port = int(resolver[1])
        return res
    raise TypeError(f"dns_resolver must be None, a dns.resolver.Resolver or (host, port), got {resolver!r}")


class DNSProvider:
    def __init__(self, config: DNSSDConfig, resolver: Any) -> None:
        self.config = config
        self._resolver = resolver
        self._next = 0.0
        self._groups: dict[str, TargetGroup] = {}
        self.errors: dict[str, str] = {}

    def _lookup(self, name: str) -> TargetGroup:
        import dns.resolver

        rtype = self.config.type
        targets = []
        try:
            answer = self._resolver.resolve(name, rtype, lifetime=5.0, search=False)
            records = list(answer)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            records = []  # a name with no records has no targets, which is not an error
        for rec in records:
            meta = {"__meta_dns_name": name}
            if rtype == "SRV":
                host = str(rec.target).rstrip(".")
                addr = f"{host}:{rec.port}"
                meta["__meta_dns_srv_record_target"] = str(rec.target)
                meta["__meta_dns_srv_record_port"] = str(rec.port)
            elif rtype == "AAAA":
                addr = f"[{rec.address}]:{self.config.port}"
            else:
                addr = f"{rec.address}:{self.config.port}"
            targets.append(tuple(sorted({**meta, "__address__": addr}.items())))
        return TargetGroup(name, tuple(sorted(targets)))

    def poll(self, now: float) -> list[TargetGroup] | None:
        import dns.exception

        if now < self._next:
            return None
        self._next = now + self.config.refresh_interval.seconds
        changed = False
        for name in self.config.names:
            try:
                group = self._lookup(name)
            except dns.exception.DNSException as exc:
                if self.errors.get(name) != str(exc):
                    log.error("dns_sd: lookup of %s failed, keeping previous targets: %s", name, exc)
                self.errors[name] = str(exc)
                continue
            self.errors.pop(name, None)
            if self._groups.get(name) != group:
                self._groups[name] = group
                changed = True
        return [self._groups[n] for n in self.config.names if n in self._groups] if changed else None


class JobDiscovery:
    """All providers of one scrape config; :meth:`poll` → the full group list when it changed."""

    def __init__(self, config: ScrapeConfig, resolver: Any = None) -> None:
        self.providers: list[StaticProvider | FileProvider | DNSProvider] = []
        if config.static_configs:
            self.providers.append(StaticProvider(config.static_configs))
        for fc in config.file_sd_configs:
            self.providers.append(FileProvider(fc))
        if config.dns_sd_configs:
            res = resolver if resolver is not None else make_resolver(None)
            for dc in config.dns_sd_configs:
                self.providers.append(DNSProvider(dc, res))
        self._latest: list[list[TargetGroup]] = [[] for _ in self.providers]
        self._first = True

    @property
    def errors(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for p in self.providers:
            if not isinstance(p, StaticProvider):
                out.update(p.errors)
        return out

    def poll(self, now: float) -> list[TargetGroup] | None:
        """All groups when any provider changed, and always on the first call."""
        changed, self._first = self._first, False
        for i, provider in enumerate(self.providers):
            groups = provider.poll(now)
            if groups is not None and groups != self._latest[i]:
                self._latest[i] = groups
                changed = True
        if not changed:
            return None
        return [g for groups in self._latest for g in groups]
