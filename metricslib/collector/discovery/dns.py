"""``dns_sd_configs``: targets from A, AAAA or SRV records, looked up every ``refresh_interval``.

A failed lookup keeps the previous targets of that name. DNS uses dnspython;
``resolver`` may be ``None`` (the system's resolver), a
``dns.resolver.Resolver``, or a ``(host, port)`` tuple naming a nameserver
(how tests point it at a local dnsmasq).
"""

from __future__ import annotations

import logging
from typing import Any

from metricslib.collector.config.config import DNSSDConfig
from metricslib.collector.discovery.targetgroup import TargetGroup

__all__ = ["DNSProvider", "make_resolver"]

log = logging.getLogger(__name__)


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
