"""From discovered target groups to scrape targets, as Prometheus 2.42 does it.

:func:`populate_labels` builds one target's labels: group labels under the
target's own, then ``job``, ``__scheme__``, ``__metrics_path__``,
``__scrape_interval__``, ``__scrape_timeout__`` and ``__param_<name>``
defaults, then ``relabel_configs``; a missing port is filled from the scheme
(80/443), ``__meta_*`` labels are removed and ``instance`` defaults to
``__address__``. Labels starting with ``__`` stay on the target (they shape
the URL) but never reach stored series.

:class:`Target` carries those labels plus the state the targets API shows.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import urlencode

from metricslib.collector.config.config import ScrapeConfig
from metricslib.collector.config.durations import Duration, parse_duration
from metricslib.collector.discovery.targetgroup import TargetGroup
from metricslib.collector.model import Labels
from metricslib.collector.model.relabel import LABEL_NAME_RE, relabel
from metricslib.collector.scrape.offsets import offset_ns

__all__ = ["DroppedTarget", "Target", "build_targets", "populate_labels", "rfc3339"]

log = logging.getLogger(__name__)

def rfc3339(ts: float) -> str:
    """Go's RFC3339Nano in UTC; the zero time for "never"."""
    if ts <= 0:
        return "0001-01-01T00:00:00Z"
    return datetime.fromtimestamp(ts, timezone.utc).isoformat().replace("+00:00", "Z")


@dataclass
class Target:
    """One scrape target; the ``last_*`` fields are updated by its scrape loop."""

    discovered: dict[str, str]
    labels: dict[str, str]  # after relabelling, "__" labels included
    scrape_pool: str
    interval: Duration
    timeout: Duration
    params: tuple[tuple[str, tuple[str, ...]], ...] = ()
    health: str = "unknown"
    last_error: str = ""
    last_scrape: float = 0.0  # Unix seconds of the start of the last scrape
    last_duration: float = 0.0
    metadata: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def public_labels(self) -> Labels:
        """What every stored sample of this target carries (no ``__`` labels)."""
        return tuple(sorted((k, v) for k, v in self.labels.items() if not k.startswith("__") and v))

    @property
    def url(self) -> str:
        params: dict[str, list[str]] = {k: list(v) for k, v in self.params}
        for name, value in self.labels.items():
            if name.startswith("__param_"):
                key = name[len("__param_"):]
                if params.get(key):
                    params[key][0] = value
                else:
                    params[key] = [value]
        url = f"{self.labels['__scheme__']}://{self.labels['__address__']}{self.labels['__metrics_path__']}"
        if params:
            url += "?" + urlencode(sorted(params.items()), doseq=True)
        return url

    @property
    def identity(self) -> tuple[Labels, str]:
        """Two discoveries of the same target keep one loop (and its state)."""
        return (self.public_labels, self.url)

    def offset_ns(self, seed: int = 0) -> int:
        """Where in each interval this target is scraped, in ns past every multiple
        of the interval: Prometheus 2.42's rule over all its labels and its URL
        (:mod:`~metricslib.collector.scrape.offsets`), so the phases are
        Prometheus's, survive restarts and spread targets over the interval."""
        return offset_ns(self.labels.items(), self.url, max(int(self.interval), 1) * 1_000_000, seed)

    def api_dict(self) -> dict[str, object]:
        with self.lock:
            return {
                "discoveredLabels": dict(sorted(self.discovered.items())),
                "labels": dict(self.public_labels),
                "scrapePool": self.scrape_pool,
                "scrapeUrl": self.url,
                "globalUrl": self.url,
                "lastError": self.last_error,
                "lastScrape": rfc3339(self.last_scrape),
                "lastScrapeDuration": self.last_duration,
                "health": self.health,
                "scrapeInterval": str(self.interval),
                "scrapeTimeout": str(self.timeout),
            }


@dataclass(frozen=True)
class DroppedTarget:
    discovered: dict[str, str]
    reason: str = ""

    def api_dict(self) -> dict[str, object]:
        return {"discoveredLabels": dict(sorted(self.discovered.items()))}


def _add_port(addr: str, scheme: str) -> str:
    if addr.startswith("["):  # [IPv6] or [IPv6]:port
        return addr if "]:" in addr else f"{addr}:{443 if scheme == 'https' else 80}"
    if addr.count(":") > 1:  # a bare IPv6 address
        return f"[{addr}]:{443 if scheme == 'https' else 80}"
    if ":" in addr:
        return addr
    return f"{addr}:{443 if scheme == 'https' else 80}"


def populate_labels(
    target: dict[str, str], group_labels: dict[str, str], sc: ScrapeConfig
) -> tuple[dict[str, str], dict[str, str] | None, str]:
    """(discovered labels, final labels or None when dropped, error text or "")."""
    lset = {**group_labels, **target}
    defaults = {
        "job": sc.job_name,
        "__scrape_interval__": str(sc.scrape_interval),
        "__scrape_timeout__": str(sc.scrape_timeout),
        "__metrics_path__": sc.metrics_path,
        "__scheme__": sc.scheme,
    }
    for name, value in defaults.items():
        if not lset.get(name):
            lset[name] = value
    for name, values in sc.params:
        if values and not lset.get(f"__param_{name}"):
            lset[f"__param_{name}"] = values[0]
    discovered = dict(lset)
    result = relabel(lset, sc.relabel_configs)
    if result is None:
        return discovered, None, ""
    addr = result.get("__address__", "")
    if not addr:
        return discovered, None, "no address"
    addr = _add_port(addr, result.get("__scheme__", sc.scheme))
    if "/" in addr:
        return discovered, None, f"{addr!r} is not a valid hostname"
    result["__address__"] = addr
    for name in [n for n in result if n.startswith("__meta_")]:
        del result[name]
    if not result.get("instance"):
        result["instance"] = addr
    for name in result:
        if not LABEL_NAME_RE.fullmatch(name):
            return discovered, None, f"invalid label name {name!r}"
    for key in ("__scrape_interval__", "__scrape_timeout__"):
        try:
            if parse_duration(result.get(key, "")) == 0:
                return discovered, None, f"{key} cannot be 0"
        except ValueError as exc:
            return discovered, None, f"{key}: {exc}"
    if result.get("__scheme__") not in ("http", "https"):
        return discovered, None, f"unknown __scheme__ {result.get('__scheme__')!r}"
    if not result.get("__metrics_path__", "").startswith("/"):
        result["__metrics_path__"] = "/" + result.get("__metrics_path__", "")
    return discovered, result, ""


def build_targets(
    sc: ScrapeConfig, groups: list[TargetGroup]
) -> tuple[list[Target], list[DroppedTarget]]:
    """Targets and dropped targets of one scrape pool from its discovered groups."""
    active: dict[tuple[Labels, str], Target] = {}
    dropped: list[DroppedTarget] = []
    for group in groups:
        shared = dict(group.labels)
        for raw in group.targets:
            discovered, labels, error = populate_labels(dict(raw), shared, sc)
            if labels is None:
                if error:
                    log.warning("job %s: dropping target %s: %s", sc.job_name,
                                discovered.get("__address__", "?"), error)
                dropped.append(DroppedTarget(discovered, error))
                continue
            interval = parse_duration(labels["__scrape_interval__"])
            timeout = parse_duration(labels["__scrape_timeout__"])
            if timeout > interval:
                reason = f"scrape timeout {timeout} is greater than scrape interval {interval}"
                dropped.append(DroppedTarget(discovered, reason))
                continue
            t = Target(discovered, labels, sc.job_name, interval, timeout, sc.params)
            active.setdefault(t.identity, t)  # Prometheus de-duplicates identical targets
    return list(active.values()), dropped
