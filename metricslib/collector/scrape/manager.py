"""The collector runtime: config, discovery and scrape loops, started and stopped as one.

Interface used by the HTTP server (``server.py``/``api.py``)::

    c = Collector("prometheus.yml", storage, transport=None, dns_resolver=None, clock=time.time)
    c.start()            # discovery thread + a scrape timer and a bounded worker pool
    c.reload()           # re-read the file; ConfigError keeps the running config
    c.ready              # True once started and the first discovery round is done
    c.config_text        # running config as YAML (defaults filled, secrets hidden)
    c.targets("active")  # the "data" of /api/v1/targets; state active|dropped|any
    c.metadata("up", 10) # the "data" of /api/v1/metadata
    c.external_labels()  # for /federate and remote write (never added to stored samples)
    c.reload_count, c.last_reload_success, c.last_reload_time  # for status pages
    c.last_reload_success_time  # when the config in force was loaded (runtimeinfo's lastConfigTime)
    c.stop()

Shutdown (:meth:`Collector.stop`) writes **no** staleness markers, as
Prometheus does on shutdown, so a restart continues the same series without a
gap. A target that disappears from discovery (or whose job is removed by a
reload) gets staleness markers for all its series at once.

On reload, a job whose configuration did not change keeps its loops and
state. A changed job is rebuilt; targets that exist under both configs carry
their staleness bookkeeping over, so no spurious markers are written.

``dns_resolver`` is ``None`` (system resolver), a ``dns.resolver.Resolver``
or a ``(host, port)`` nameserver tuple. ``parser`` (keyword) replaces the
exposition parser, mainly for tests.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from metricslib.collector.config.config import Config, ScrapeConfig, load_config
from metricslib.collector.config.dump import dump_config
from metricslib.collector.discovery.dns import make_resolver
from metricslib.collector.discovery.manager import JobDiscovery
from metricslib.collector.discovery.targetgroup import TargetGroup
from metricslib.collector.scrape.counters import ScrapeCounters
from metricslib.collector.scrape.loop import ParserFn, ScrapeLoop
from metricslib.collector.scrape.offsets import hostname, jitter_seed
from metricslib.collector.scrape.scheduler import DEFAULT_MAX_WORKERS, Scheduled, Scheduler
from metricslib.collector.scrape.stats import ScrapeStats
from metricslib.collector.scrape.targets import DroppedTarget, Target, build_targets
from metricslib.collector.scrape.transport import HTTPTransport, Transport
from metricslib.collector.storage.base import Storage
from metricslib.errors import ConfigError

__all__ = ["Collector"]

log = logging.getLogger(__name__)

_DISCOVERY_TICK_S = 1.0  # each tick takes the interpreter; Prometheus batches updates over 5 s


def _scrape_settings(sc: ScrapeConfig) -> ScrapeConfig:
    """``sc`` without its discovery part: what a running scrape loop depends on."""
    return dataclasses.replace(sc, static_configs=(), file_sd_configs=(), dns_sd_configs=())


class _Pool:
    """The targets of one job: its discovery, its loops and its dropped targets."""

    def __init__(self, owner: Collector, config: ScrapeConfig, discovery: JobDiscovery) -> None:
        self.owner = owner
        self.config = config
        self.discovery = discovery
        self.groups: list[TargetGroup] = []
        self.loops: dict[object, Scheduled] = {}
        self.dropped: list[DroppedTarget] = []
        # Loops of the previous config, already stopped: targets found again take
        # over their staleness bookkeeping; the others get markers at the first sync.
        self.inherit: dict[object, Scheduled] | None = None

    def sync(self, groups: list[TargetGroup]) -> None:
        started = time.monotonic()
        try:
            self._sync(groups)
        finally:
            self.owner.stats.observe_sync(self.config.job_name, time.monotonic() - started)

    def _sync(self, groups: list[TargetGroup]) -> None:
        self.groups = groups
        targets, dropped = build_targets(self.config, groups)
        self.dropped = dropped
        wanted = {t.identity: t for t in targets}
        for key in [k for k in self.loops if k not in wanted]:
            self.loops.pop(key).stop(stale=True)
        inherit, self.inherit = self.inherit or {}, None
        for key, retired in inherit.items():
            if key not in wanted:
                retired.loop.mark_stale()
        for key, target in wanted.items():
            if key in self.loops:
                continue
            loop = self.owner._new_loop(target, self.config)
            previous = inherit.get(key)
            if previous is not None:
                loop.inherit(previous.loop)
            running = self.owner._scheduler.add(loop, self.owner._seed)
            self.loops[key] = running
            if self.owner._started:
                running.start()

    def stop(self, stale: bool) -> list[Scheduled]:
        for running in self.loops.values():
            running.stop(stale)
        return list(self.loops.values())


class Collector:
    """Scrapes every target of a ``prometheus.yml`` into ``storage``."""

    def __init__(
        self,
        config_path: str,
        storage: Storage,
        *,
        transport: Transport | None = None,
        dns_resolver: object | None = None,
        clock: Callable[[], float] = time.time,
        parser: ParserFn | None = None,
        max_workers: int = DEFAULT_MAX_WORKERS,
        config: Config | None = None,
    ) -> None:
        """``config``: ``config_path`` already loaded by the caller (read once)."""
        self.config_path = config_path
        self._config: Config = config if config is not None else load_config(config_path)
        self._storage = storage
        self._transport: Transport = transport if transport is not None else HTTPTransport()
        self._dns_resolver = dns_resolver
        self._resolver: Any = None
        self._clock = clock
        self._parser = parser  # None: one ExpositionParser per loop
        self._scheduler = Scheduler(clock, max_workers)
        self._lock = threading.RLock()  # guards pools; never held while scraping
        self._reload_lock = threading.RLock()  # RLock: a SIGHUP handler may interrupt a reload
        self._pools: dict[str, _Pool] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = False
        self._ready = threading.Event()
        self._seed = self._seed_for(self._config)
        self.reload_count = 0
        #: totals over every scrape loop, for the collector's own /metrics
        self.scrape_counters = ScrapeCounters()
        self.last_reload_success = True
        self.last_reload_time = clock()
        self.last_reload_success_time = self.last_reload_time
        self.stats = ScrapeStats()
        for warning in self._config.warnings:
            log.warning("%s", warning)

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        if self._stop.is_set():
            raise RuntimeError("a stopped Collector cannot be started again; create a new one")
        with self._lock:
            if self._started:
                return
            self._started = True
            self._apply(self._config)
        self._thread = threading.Thread(target=self._discover, name="discovery", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        with self._lock:
            loops = [r for pool in self._pools.values() for r in pool.stop(stale=False)]
            longest = max((p.config.scrape_timeout.seconds for p in self._pools.values()), default=0)
            self._started = False
        # A loop in the middle of a scrape finishes it (bounded by its timeout) first.
        deadline = time.monotonic() + longest + 1
        for r in loops:
            r.join(timeout=max(0.0, deadline - time.monotonic()))
        self._scheduler.close(timeout=max(1.0, deadline - time.monotonic()))
        close = getattr(self._transport, "close", None)
        if close is not None:  # kept-alive connections to the targets
            close()

    def reload(self, config: Config | None = None) -> None:
        """Re-read the config file (or take ``config``, already read from it); on
        ConfigError the running config stays in force."""
        with self._reload_lock:  # SIGHUP and POST /-/reload may race
            try:
                new = config if config is not None else load_config(self.config_path)
            except ConfigError:
                self.reload_failed()
                raise
            for warning in new.warnings:
                log.warning("%s", warning)
            seed = self._seed_for(new)  # a host name lookup: outside the lock scrapes share
            with self._lock:
                self._seed = seed
                if self._started:
                    self._apply(new)
                self._config = new
            self.reload_count += 1
            self.last_reload_success = True
            self.last_reload_time = self.last_reload_success_time = self._clock()

    def reload_failed(self) -> None:
        """Record a reload that was refused (here, or by another part reading the same file)."""
        self.last_reload_success = False
        self.last_reload_time = self._clock()

    @property
    def ready(self) -> bool:
        return self._started and self._ready.is_set()

    @property
    def config(self) -> Config:
        return self._config

    @property
    def config_text(self) -> str:
        return dump_config(self._config)

    def external_labels(self) -> dict[str, str]:
        return dict(self._config.global_config.external_labels)

    # --- API data -----------------------------------------------------------------------

    def targets(self, state: str = "any") -> dict[str, object]:
        state = (state or "any").lower()
        with self._lock:
            pools = [self._pools[name] for name in sorted(self._pools)]
            active = [r.loop.target for p in pools
                      for r in sorted(p.loops.values(), key=lambda r: r.loop.target.public_labels)]
            dropped = [d for p in pools for d in p.dropped]
        return {
            "activeTargets": [t.api_dict() for t in active] if state in ("any", "active") else [],
            "droppedTargets": [d.api_dict() for d in dropped] if state in ("any", "dropped") else [],
        }

    def metadata(self, metric: str | None = None, limit: int | None = None) -> dict[str, list[dict[str, str]]]:
        out: dict[str, list[dict[str, str]]] = {}
        for target in self.active_targets():
            with target.lock:
                items = list(target.metadata.items())
            for name, (mtype, help_text, unit) in items:
                if metric is not None and name != metric:
                    continue
                entry = {"type": "unknown" if mtype in ("", "untyped") else mtype,
                         "help": help_text, "unit": unit}
                entries = out.setdefault(name, [])
                if entry not in entries:
                    entries.append(entry)
        names = sorted(out)
        if limit is not None and limit >= 0:
            names = names[:limit]
        return {name: out[name] for name in names}

    def pool_sizes(self) -> dict[str, tuple[int, int]]:
        """Job name -> (active targets, dropped targets), for the collector's /metrics."""
        with self._lock:
            return {name: (len(p.loops), len(p.dropped)) for name, p in sorted(self._pools.items())}

    def active_targets(self) -> list[Target]:
        with self._lock:
            return [r.loop.target for p in self._pools.values() for r in p.loops.values()]

    def discovery_errors(self) -> dict[str, str]:
        with self._lock:
            return {k: v for p in self._pools.values() for k, v in p.discovery.errors.items()}

    # --- internals ----------------------------------------------------------------------

    @staticmethod
    def _seed_for(config: Config) -> int:
        # As Prometheus 2.42 on every config load: the host name (looked up again,
        # as GetFQDN is) and the external labels.
        return jitter_seed(hostname(), config.global_config.external_labels)

    def _new_loop(self, target: Target, config: ScrapeConfig) -> ScrapeLoop:
        loop = ScrapeLoop(target, config, self._storage, self._transport, parser=self._parser,
                          clock=self._clock, counters=self.scrape_counters)
        loop.stats = self.stats
        return loop

    def _resolver_for(self, config: ScrapeConfig) -> Any:
        if not config.dns_sd_configs:
            return None
        if self._resolver is None:
            self._resolver = make_resolver(self._dns_resolver)
        return self._resolver

    def _apply(self, config: Config) -> None:
        """Bring the pools in line with ``config`` (called with the lock held)."""
        wanted = {sc.job_name: sc for sc in config.scrape_configs}
        for name in [n for n in self._pools if n not in wanted]:
            self._pools.pop(name).stop(stale=True)
        for name, sc in wanted.items():
            old = self._pools.get(name)
            if old is not None and old.config == sc:
                continue
            same_sd = old is not None and (
                old.config.static_configs, old.config.file_sd_configs, old.config.dns_sd_configs
            ) == (sc.static_configs, sc.file_sd_configs, sc.dns_sd_configs)
            discovery = old.discovery if (old is not None and same_sd) else JobDiscovery(
                sc, self._resolver_for(sc)
            )
            pool = _Pool(self, sc, discovery)
            self._pools[name] = pool
            with self.stats.lock:
                if old is None:
                    self.stats.pools_created += 1
                else:
                    self.stats.pool_reloads += 1
            if old is None:
                continue
            if _scrape_settings(old.config) == _scrape_settings(sc):
                # Only discovery changed: running loops carry on; the next sync
                # keeps the targets still discovered and retires the rest.
                pool.loops = old.loops
            else:
                old.stop(stale=False)
                pool.inherit = old.loops
            if same_sd:
                pool.sync(old.groups)

    def _discover(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            with self._lock:
                pools = list(self._pools.values())
            for pool in pools:
                try:
                    groups = pool.discovery.poll(now)
                except Exception:  # a broken provider must not stop discovery for all jobs
                    log.exception("discovery for job %s failed", pool.config.job_name)
                    continue
                if groups is not None:
                    with self._lock:
                        if self._pools.get(pool.config.job_name) is pool:
                            pool.sync(groups)
            self._ready.set()
            self._stop.wait(_DISCOVERY_TICK_S)
