"""The notification manager: alerts in from the rule evaluator, out to every discovered Alertmanager.

Usage (``server.py`` does this)::

    m = NotifierManager(config)          # a loaded Config (its ``alerting`` and external labels)
    m.start()                            # discovery thread + one send loop per Alertmanager
    m.send(alerts)                       # from the rule evaluator; never blocks
    m.apply_config(new_config)           # on reload; a config that failed to load never gets here
    m.alertmanagers()                    # /api/v1/alertmanagers
    m.stop()

:meth:`send` adds external labels, applies ``alert_relabel_configs``, then,
for every ``alertmanagers`` entry, that entry's own ``alert_relabel_configs``,
and queues the result on each of the entry's Alertmanagers (see
:mod:`~metricslib.collector.notifier.sender`). With no Alertmanager
discovered the alerts are dropped and counted, as Prometheus does.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from metricslib.collector.config.alerting import AlertmanagerConfig
from metricslib.collector.config.config import Config
from metricslib.collector.discovery.dns import make_resolver
from metricslib.collector.notifier.alert import Alert
from metricslib.collector.notifier.alertmanagers import AlertmanagerSet
from metricslib.collector.notifier.metrics import NotifierMetrics
from metricslib.collector.notifier.relabel import relabel_alerts
from metricslib.collector.notifier.sender import MAX_BATCH_SIZE, Sender, SendStats
from metricslib.collector.notifier.transport import HTTPPoster, Poster

__all__ = ["DEFAULT_QUEUE_CAPACITY", "NotifierManager"]

log = logging.getLogger(__name__)

#: ``--alertmanager.notification-queue-capacity``'s default.
DEFAULT_QUEUE_CAPACITY = 10_000
_DISCOVERY_TICK_S = 1.0  # each tick takes the interpreter; Prometheus batches updates over 5 s


class NotifierManager:
    """Sends alerts to the Alertmanagers of the running config's ``alerting`` section."""

    def __init__(
        self,
        config: Config,
        *,
        poster: Poster | None = None,
        dns_resolver: object | None = None,
        capacity: int = DEFAULT_QUEUE_CAPACITY,
        batch_size: int = MAX_BATCH_SIZE,
        max_attempts: int = 3,
        min_backoff: float = 0.5,
        max_backoff: float = 5.0,
        drain_on_stop: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if capacity < 1:
            raise ValueError(f"notification queue capacity must be at least 1, got {capacity}")
        self.capacity = capacity
        self._poster: Poster = poster if poster is not None else HTTPPoster()
        self._dns_resolver = dns_resolver
        self._resolver: Any = None
        self._sender_options: dict[str, Any] = {
            "capacity": capacity, "batch_size": batch_size, "max_attempts": max_attempts,
            "min_backoff": min_backoff, "max_backoff": max_backoff, "monotonic": monotonic,
        }
        self._drain_on_stop = drain_on_stop
        self._monotonic = monotonic
        self._lock = threading.RLock()  # guards config, sets and senders; never held while sending
        self._discover_lock = threading.Lock()  # one discovery pass at a time; taken before _lock
        self._config = config
        self._sets: list[AlertmanagerSet] = []
        self._senders: list[dict[str, Sender]] = []  # per set: URL → sender
        self._stats: dict[str, SendStats] = {}  # per URL, kept after its sender goes
        self.dropped_without_alertmanager = 0
        self._running = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.metrics = NotifierMetrics(self)
        self._build_sets(config)

    # --- the rule evaluator's entry point ----------------------------------------------

    def send(self, alerts: Sequence[Alert]) -> None:
        """Queue ``alerts`` for every Alertmanager; returns at once (never blocks on the network)."""
        with self._lock:
            glob = self._config.alerting
            ready = relabel_alerts(alerts, dict(self._config.global_config.external_labels),
                                   glob.alert_relabel_configs)
            if not ready:
                return
            if len(ready) > self.capacity:  # a batch bigger than the queue keeps its newest
                self.dropped_without_alertmanager += len(ready) - self.capacity
                ready = ready[-self.capacity:]
            if not any(self._senders):
                self.dropped_without_alertmanager += len(ready)
                return
            for ams, senders in zip(self._sets, self._senders, strict=True):
                if not senders:
                    continue
                mine = relabel_alerts(ready, {}, ams.config.alert_relabel_configs) \
                    if ams.config.alert_relabel_configs else ready
                for sender in senders.values():
                    sender.add(mine)

    notify = send

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        with self._lock:
            if self._running:
                return
            self._running = True
            for senders in self._senders:
                for sender in senders.values():
                    sender.start()
        self.discover(self._monotonic())
        self._thread = threading.Thread(target=self._discover_loop, name="notifier discovery", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop discovery, then give every send loop ``drain_on_stop`` seconds to empty its queue."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        with self._lock:
            self._running = False
            senders = [s for group in self._senders for s in group.values()]
        threads = [threading.Thread(target=s.stop, args=(self._drain_on_stop,), daemon=True) for s in senders]
        for t in threads:  # in parallel: a hanging Alertmanager must not hold up the others' drain
            t.start()
        for t in threads:
            t.join(self._drain_on_stop + 1)

    def apply_config(self, config: Config) -> None:
        """Switch to ``config``'s alerting section. Entries whose config did not change keep their
        Alertmanagers and queues; the others start over from discovery."""
        with self._lock:
            old = {id(s): (s, senders) for s, senders in zip(self._sets, self._senders, strict=True)}
            self._config = config
            self._build_sets(config, reuse=list(old.values()))
            kept = {id(s) for s in self._sets}
            retired = [sender for key, (_, senders) in old.items() if key not in kept
                       for sender in senders.values()]
            running = self._running
        for sender in retired:
            sender.stop(0.0)
        if running:
            self.discover(self._monotonic())

    # --- discovery ----------------------------------------------------------------------

    def _resolver_for(self, config: AlertmanagerConfig) -> Any:
        if not config.dns_sd_configs:
            return None
        if self._resolver is None:
            self._resolver = make_resolver(self._dns_resolver)
        return self._resolver

    def _build_sets(self, config: Config,
                    reuse: Sequence[tuple[AlertmanagerSet, dict[str, Sender]]] = ()) -> None:
        available = list(reuse)
        sets: list[AlertmanagerSet] = []
        senders: list[dict[str, Sender]] = []
        for am_config in config.alerting.alertmanagers:
            match = next((pair for pair in available if pair[0].config == am_config), None)
            if match is not None:
                available.remove(match)
                sets.append(match[0])
                senders.append(match[1])
            else:
                sets.append(AlertmanagerSet(am_config, self._resolver_for(am_config)))
                senders.append({})
        self._sets, self._senders = sets, senders

    def discover(self, now: float) -> None:
        """Poll every entry's discovery once and bring the send loops in line.

        Lookups (DNS can take seconds) run without the lock that :meth:`send` takes."""
        retired: list[Sender] = []
        with self._discover_lock:
            with self._lock:
                pairs = list(zip(self._sets, self._senders, strict=True))
            found = []
            for ams, senders in pairs:
                try:
                    groups = ams.discovery.poll(now)
                except Exception:  # a broken provider must not stop notifications for all
                    log.exception("notifier: discovery of Alertmanagers failed")
                    continue
                if groups is not None:
                    found.append((ams, senders, groups))
            with self._lock:
                for ams, senders, groups in found:
                    if any(ams is current for current in self._sets) and ams.sync(groups):
                        retired.extend(self._sync(ams, senders))
        for sender in retired:
            sender.stop(0.0)

    def _sync(self, ams: AlertmanagerSet, senders: dict[str, Sender]) -> list[Sender]:
        wanted = {am.url for am in ams.active}
        gone = [senders.pop(url) for url in list(senders) if url not in wanted]
        for url in sorted(wanted - set(senders)):
            stats = self._stats.setdefault(url, SendStats())
            sender = Sender(url, ams.config, self._poster, stats, **self._sender_options)
            senders[url] = sender
            if self._running:
                sender.start()
        return gone

    def _discover_loop(self) -> None:
        while not self._stop.wait(_DISCOVERY_TICK_S):
            self.discover(self._monotonic())

    # --- state for the API and /metrics -------------------------------------------------

    def alertmanagers(self) -> dict[str, list[dict[str, str]]]:
        """``/api/v1/alertmanagers``'s ``data``."""
        with self._lock:
            active = [am.url for ams in self._sets for am in ams.active]
            dropped = [am.url for ams in self._sets for am in ams.dropped]
        return {
            "activeAlertmanagers": [{"url": url} for url in active],
            "droppedAlertmanagers": [{"url": url} for url in dropped],
        }

    def senders(self) -> list[Sender]:
        with self._lock:
            return [s for group in self._senders for s in group.values()]

    def stats(self) -> dict[str, SendStats]:
        with self._lock:
            return dict(self._stats)

    def queue_length(self) -> int:
        """Alerts still waiting for at least one Alertmanager (the longest queue)."""
        return max((s.queue_length() for s in self.senders()), default=0)

    def now(self) -> float:
        """The monotonic clock the send loops time requests with."""
        return self._monotonic()

    def discovered(self) -> int:
        with self._lock:
            return sum(len(ams.active) for ams in self._sets)

    def dropped_total(self) -> int:
        with self._lock:
            return self.dropped_without_alertmanager + sum(s.dropped for s in self._stats.values())
