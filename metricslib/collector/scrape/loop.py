"""The scrape loop: fetch one target, turn its samples into stored series.

:class:`ScrapeLoop` scrapes one :class:`~metricslib.collector.scrape.targets.Target`
and writes only through ``storage.appender()``. One scrape, as in Prometheus:

1. GET the target's URL with ``Accept`` (OpenMetrics preferred, then text
   0.0.4), ``Accept-Encoding: gzip``, ``X-Prometheus-Scrape-Timeout-Seconds``
   and the job's auth, within ``scrape_timeout`` for the whole exchange.
2. Parse the body. Each sample's final labels — target labels merged in
   (``honor_labels``, or ``exported_`` prefixes on conflict), then
   ``metric_relabel_configs`` — are computed once per distinct series text and
   cached, so a repeated series costs a dict lookup.
3. Append every sample at the scrape's start time (or its own timestamp when
   ``honor_timestamps``), then a staleness marker for each series the previous
   scrape had and this one lacks.
4. Append ``up``, ``scrape_duration_seconds``, ``scrape_samples_scraped``,
   ``scrape_samples_post_metric_relabeling`` and ``scrape_series_added``.

Any failure — connection, HTTP status, timeout, ``body_size_limit``,
``sample_limit``, label limits, a malformed body — fails this scrape only: its
samples are rolled back, every series of the previous scrape gets a staleness
marker, ``up`` is 0 and the error is kept for the targets API. Samples older
than what is stored (``OutOfOrderSampleError``) are counted and skipped; they
do not fail the scrape. A series that appears again in the same body (without
its own timestamp) keeps its first sample; the others are counted in
``ScrapeCounters.duplicate_timestamp`` and logged, as Prometheus 3 does.

The parser is injectable (``parser=``): a callable ``(body, content_type,
known_keys) ->`` :class:`Parsed`. The default, :class:`ExpositionParser`,
wraps :class:`metricslib.collector.textparse.formats.ScrapeParser` and hands it the loop's
label cache as the set of known series keys, so known lines take its fast path.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
import zlib
from collections.abc import Callable
from operator import itemgetter

from metricslib.collector.config.config import ScrapeConfig
from metricslib.collector.config.http_connect import auth_headers
from metricslib.collector.model import STALE_NAN, Labels
from metricslib.collector.scrape.counters import ScrapeCounters
from metricslib.collector.scrape.labels import label_limit_error, sample_labels
from metricslib.collector.scrape.offsets import next_slot
from metricslib.collector.scrape.parser import ExpositionParser, Parsed, ParserFn
from metricslib.collector.scrape.seed import seed_keys, seedable
from metricslib.collector.scrape.shape import BodyShape
from metricslib.collector.scrape.stats import ScrapeStats
from metricslib.collector.scrape.targets import Target
from metricslib.collector.scrape.transport import BodyTooLarge, Transport
from metricslib.collector.storage.base import Appender, Storage
from metricslib.collector.storage.columns import ColumnRefs
from metricslib.collector.textparse.formats import ACCEPT_HEADER
from metricslib.errors import OutOfOrderSampleError, StorageError

__all__ = ["ACCEPT_HEADER", "ExpositionParser", "Parsed", "ParserFn", "ScrapeFailed", "ScrapeLoop"]

log = logging.getLogger(__name__)

USER_AGENT = "metricslib-collector/0.1"
REPORT_NAMES = (
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
)


class ScrapeFailed(Exception):
    """Internal: this scrape failed; the message is what the targets API shows.

    ``counts`` carries (scraped, post-relabel) when they are known, so ``up`` 0
    is still reported with how many samples the target exposed (sample_limit)."""

    def __init__(self, message: str, counts: tuple[int, int] = (0, 0)) -> None:
        super().__init__(message)
        self.counts = counts


def _gunzip(body: bytes, limit: int) -> bytes:
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = d.decompress(body, limit + 1) if limit else d.decompress(body)
    except zlib.error as exc:
        raise ScrapeFailed(f"invalid gzip body: {exc}") from exc
    if limit and len(out) > limit:
        raise ScrapeFailed(f"body size limit exceeded ({limit} bytes)")
    return out


class _Column:
    """A successful scrape's shape, for the bulk path: the series keys in body
    order, which positions were kept after relabelling, their refs in order,
    the staleness map that scrape produced and, once a body has repeated the
    keys, that body's shape (values read without the line parser)."""

    __slots__ = ("body_shape", "keep", "kept", "keys", "refs", "seen", "shape_tried")

    def __init__(self, keys: tuple[str, ...], kept: list[int] | None, refs: list[int],
                 seen: dict[str, Labels]) -> None:
        self.keys = keys
        self.kept = kept  # None: every position
        #: the kept positions' values, in one C-level pass (None: keep all)
        self.keep: Callable[[list[float]], list[float]] | None = None
        if kept is not None:
            self.keep = _keeper(kept)
        self.refs = ColumnRefs(refs)  # the store caches their series in it
        self.seen = seen
        self.body_shape: BodyShape | None = None
        self.shape_tried = False  # once per column: a body without a shape costs a pass over its lines


def _keeper(kept: list[int]) -> Callable[[list[float]], list[float]]:
    if not kept:
        return lambda values: []
    if len(kept) == 1:
        return lambda values: [values[kept[0]]]
    pick = itemgetter(*kept)
    return lambda values: list(pick(values))


class _Series:
    """A cached series: its final labels (() when dropped) and the store's ref."""

    __slots__ = ("labels", "ref")

    def __init__(self, labels: Labels) -> None:
        self.labels = labels
        self.ref: int | None = None


def _as_ref(result: object) -> int | None:
    return result if isinstance(result, int) else None


class ScrapeLoop:
    """Scrapes one target on its interval; see the module docstring."""

    def __init__(
        self,
        target: Target,
        config: ScrapeConfig,
        storage: Storage,
        transport: Transport,
        *,
        parser: ParserFn | None = None,
        clock: Callable[[], float] = time.time,
        counters: ScrapeCounters | None = None,
    ) -> None:
        self.target = target
        self.counters = counters if counters is not None else ScrapeCounters()
        self.config = config
        self._storage = storage
        self._transport = transport
        self._parser: ParserFn = parser if parser is not None else ExpositionParser()
        self._clock = clock
        self._cache: dict[str, _Series] = {}
        self._prev: dict[str, Labels] = {}  # series of the last scrape, for staleness
        self._reported = False
        self._target_labels = target.public_labels
        self._report_labels = {
            name: tuple(sorted((*self._target_labels, ("__name__", name)))) for name in REPORT_NAMES
        }
        self.out_of_order = 0
        #: Shared counters for the collector's /metrics (set by the manager).
        self.stats: ScrapeStats | None = None
        self._last_start: float | None = None
        self._column: _Column | None = None
        #: Set before stopping: write staleness markers when the loop exits.
        self.stale_on_exit = False
        #: The slot time (ms) the current or last scheduled scrape was due at.
        self.due_ms: int | None = None
        self._seeded = False

    # --- one scrape ---------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        headers = {
            "Accept": ACCEPT_HEADER,
            "Accept-Encoding": "gzip",
            "User-Agent": USER_AGENT,
            "X-Prometheus-Scrape-Timeout-Seconds": f"{self.target.timeout.seconds:g}",
        }
        http = self.config.http
        try:
            headers.update(auth_headers(http))
        except OSError as exc:
            raise ScrapeFailed(f"cannot read credentials file: {exc}") from exc
        return headers

    def _fetch(self) -> tuple[bytes, str]:
        url = self.target.url
        limit = self.config.body_size_limit
        try:
            status, headers, body = self._transport.fetch(
                url,
                self._headers(),
                self.target.timeout.seconds,
                tls=self.config.http.tls_config,
                follow_redirects=self.config.http.follow_redirects,
                max_body=limit,
            )
        except BodyTooLarge as exc:
            raise ScrapeFailed(str(exc)) from exc
        except TimeoutError as exc:
            raise ScrapeFailed(f'Get "{url}": context deadline exceeded') from exc
        except ScrapeFailed:
            raise
        except Exception as exc:  # any transport failure is this target's problem only
            raise ScrapeFailed(f'Get "{url}": {_describe(exc, self.target.labels["__address__"])}') from exc
        if status != 200:
            raise ScrapeFailed(f"server returned HTTP status {status}")
        if headers.get("content-encoding", "").lower() == "gzip":
            body = _gunzip(body, limit)
        elif limit and len(body) > limit:
            raise ScrapeFailed(f"body size limit exceeded ({limit} bytes)")
        return body, headers.get("content-type", "")

    def _final_labels(self, raw: Labels) -> Labels:
        return sample_labels(raw, self._target_labels, self.config.honor_labels,
                             self.config.metric_relabel_configs)

    def _check_limits(self, labels: Labels) -> None:
        problem = label_limit_error(labels, self.config)
        if problem:
            raise ScrapeFailed(problem)

    def _seed_cache(self, lines: int) -> None:
        """Once, before the first parse: the target's series the store already
        has (after a restart), so they take the known-series path (``seed.py``).
        Not when the store holds far more of them than the body has lines (a
        target whose series churn): the cache would drop most of them again."""
        self._seeded = True
        found = getattr(self._storage, "series_with", None)
        if found is None or self._cache or not seedable(self.config):
            return
        stored = found(self._target_labels)
        if len(stored) > 2 * lines + 1000:
            return
        for key, labels, ref in seed_keys(stored, self._target_labels):
            entry = self._cache[key] = _Series(labels)
            entry.ref = ref

    def _append_samples(
        self, app: Appender, parsed: Parsed, t_ms: int
    ) -> tuple[int, int, int, dict[str, Labels]]:
        """(scraped, post-relabel, new series, series seen by key for staleness)."""
        column = self._column_append(app, parsed, t_ms)
        if column is not None:
            return column
        self._column = None
        cache = self._cache
        honor_ts = self.config.honor_timestamps
        limit = self.config.sample_limit
        # The store's by-ref path skips hashing the label set again (duck-typed:
        # the Appender protocol only promises append()).
        append_ref = getattr(app, "append_ref", None)
        out_of_order_before = self.out_of_order
        seen: dict[str, Labels] = {}
        prev = self._prev
        total = added = series_added = duplicates = 0
        for key, value, ts in parsed.samples:
            total += 1
            entry = cache.get(key)
            if entry is None:
                labels = self._final_labels(parsed.labels_for(key))
                if labels:
                    self._check_limits(labels)
                entry = cache[key] = _Series(labels)
            labels = entry.labels
            if not labels:
                continue
            added += 1
            if limit and added > limit:
                continue  # keep counting; the whole scrape fails below
            t = ts if (honor_ts and ts is not None) else t_ms
            if key in seen and (ts is None or not honor_ts):  # its own timestamp: not a duplicate
                duplicates += 1
                continue
            try:
                if entry.ref is not None and append_ref is not None:
                    try:
                        append_ref(entry.ref, t, value)
                    except OutOfOrderSampleError:
                        raise
                    except StorageError:  # the ref went away (retention): go by labels
                        entry.ref = None
                        entry.ref = _as_ref(app.append(labels, t, value))
                else:
                    entry.ref = _as_ref(app.append(labels, t, value))
            except OutOfOrderSampleError:
                self.out_of_order += 1
                continue
            if ts is None or not honor_ts:
                # Keyed by the raw series text: str hashes are cached, label tuples' are not.
                seen[key] = labels
                if key not in prev:
                    series_added += 1
        if duplicates:
            self.counters.add_duplicates(duplicates)
            log.warning("scrape of %s: %d samples dropped, their series came earlier in the same scrape "
                        "(duplicate timestamp)", self.target.url, duplicates)
        if limit and added > limit:
            raise ScrapeFailed(f"sample limit exceeded (samples: {added}, limit: {limit})", (total, added))
        if len(cache) > 2 * total + 1000:  # forget series keys that stopped appearing
            self._cache = {k: cache[k] for k, _, _ in parsed.samples if k in cache}
        self._column = self._shape(app, parsed, seen, out_of_order_before)
        return total, added, series_added, seen

    def _column_append(
        self, app: Appender, parsed: Parsed, t_ms: int
    ) -> tuple[int, int, int, dict[str, Labels]] | None:
        """The bulk path: the body has exactly the last scrape's series, in the
        same order, without timestamps, so their final labels, refs, limits and
        staleness are all known; only the values are new. None: take the checked path."""
        column = self._column
        append_column = getattr(app, "append_column", None)
        if column is None or append_column is None or not parsed.samples:
            return None
        keys, values, stamps = zip(*parsed.samples, strict=True)
        if keys != column.keys:
            return None
        if self.config.honor_timestamps and stamps.count(None) != len(stamps):
            return None
        if column.keep is None:
            append_column(column.refs, t_ms, list(values))
        else:
            append_column(column.refs, t_ms, column.keep(list(values)))
        return len(keys), len(column.refs), 0, column.seen

    def _bulk_values(self, body: bytes, content_type: str) -> list[float] | None:
        """The values of a body shaped as the last one read line by line, or None."""
        column = self._column
        if column is None or column.body_shape is None:
            return None
        return column.body_shape.values(body, content_type)

    def _learn_shape(self, body: bytes, content_type: str) -> None:
        """After the keys repeated, remember the body's shape for the next scrapes
        (not earlier: a target whose series change every time never pays for it)."""
        column = self._column
        if column is not None and not column.shape_tried and isinstance(self._parser, ExpositionParser):
            column.shape_tried = True
            column.body_shape = BodyShape.of(body, content_type, column.keys)

    def _shape(self, app: Appender, parsed: Parsed, seen: dict[str, Labels],
               out_of_order_before: int) -> _Column | None:
        """The shape of a scrape that went through the checked path cleanly, or None."""
        if self.out_of_order != out_of_order_before or not hasattr(app, "append_column"):
            return None
        cache = self._cache
        kept: list[int] = []
        refs: list[int] = []
        keys: list[str] = []
        for i, (key, _, ts) in enumerate(parsed.samples):
            if ts is not None and self.config.honor_timestamps:
                return None
            entry = cache.get(key)
            if entry is None:
                return None
            keys.append(key)
            if entry.labels:
                if entry.ref is None:
                    return None
                kept.append(i)
                refs.append(entry.ref)
        if len(set(refs)) != len(refs):
            return None  # relabelling merged series: let the checked path judge each sample
        return _Column(tuple(keys), None if len(kept) == len(keys) else kept, refs, seen)

    def _refused(self, refused: set[int]) -> None:
        """Commit refused bulk samples (a newer sample from elsewhere, or the series
        deleted): as on the checked path, they count as out of order and their
        series are not tracked for staleness; every sample is checked next time."""
        column = self._column
        assert column is not None
        positions = column.kept if column.kept is not None else range(len(column.keys))
        keys = {column.keys[i] for i, ref in zip(positions, column.refs, strict=True) if ref in refused}
        if keys:
            self.out_of_order += len(keys)
            self._prev = {k: v for k, v in self._prev.items() if k not in keys}
        self._column = None

    def _gone(self, seen: dict[str, Labels]) -> set[Labels]:
        """Series of the previous scrape missing from this one."""
        if seen is self._prev:  # the bulk path: the same series as last time
            return set()
        gone = self._prev.keys() - seen.keys()
        if not gone:
            return set()
        # Two raw texts can map to one label set (relabelling): still alive if either is.
        return {self._prev[k] for k in gone} - set(seen.values())

    def _append_stale(self, app: Appender, series: set[Labels], t_ms: int) -> None:
        for labels in series:
            try:
                app.append(labels, t_ms, STALE_NAN)
            except OutOfOrderSampleError:
                pass  # a newer sample exists; the series is not stale there

    def scrape_once(self) -> bool:
        """Run one scrape now; True when it succeeded (``up`` 1)."""
        start_wall = self._clock()
        start = time.monotonic()
        if self.stats is not None and self._last_start is not None:
            self.stats.observe_interval(str(self.target.interval), start_wall - self._last_start)
        self._last_start = start_wall
        out_of_order_before = self.out_of_order
        t_ms = int(start_wall * 1000)
        total = added = series_added = 0
        error = ""
        metadata = None
        app = self._storage.appender()
        try:
            body, content_type = self._fetch()
            values = self._bulk_values(body, content_type)
            if values is not None:
                # The last body's series and comments, new values: one column,
                # no staleness, and the metadata is what it was.
                column = self._column
                assert column is not None
                app.append_column(column.refs, t_ms,  # type: ignore[attr-defined]
                                  values if column.keep is None else column.keep(values))
                total, added = len(values), len(column.refs)
            else:
                if not self._seeded:
                    self._seed_cache(body.count(b"\n"))
                try:
                    parsed = self._parser(body, content_type, self._cache)
                except ValueError as exc:  # ParseError and friends
                    raise ScrapeFailed(str(exc)) from exc
                total, added, series_added, seen = self._append_samples(app, parsed, t_ms)
                if seen is self._prev and self._column is not None:  # the keys repeated: bulk from now on
                    self._learn_shape(body, content_type)
                self._append_stale(app, self._gone(seen), t_ms)
                self._prev = seen
                metadata = {name: (m.type, m.help, m.unit) for name, m in parsed.metadata.items()}
        except ScrapeFailed as exc:
            error = str(exc)
            total, added = exc.counts
        except Exception as exc:  # a bug or a storage failure must not kill the loop
            log.exception("scrape of %s failed unexpectedly", self.target.url)
            error = f"internal error: {type(exc).__name__}: {exc}"
        if error:
            self._column = None
            app.rollback()
            app = self._storage.appender()
            self._append_stale(app, set(self._prev.values()), t_ms)
            self._prev = {}
            series_added = 0
        duration = time.monotonic() - start
        report = (0.0 if error else 1.0, duration, float(total), float(added), float(series_added))
        for name, value in zip(REPORT_NAMES, report, strict=True):
            try:
                app.append(self._report_labels[name], t_ms, value)
            except OutOfOrderSampleError:
                pass
        try:
            app.commit()
            self._reported = True
            refused = getattr(app, "refused", None)
            if refused and self._column is not None:
                self._refused(set(refused))
        except Exception as exc:  # e.g. the store was closed under us: the loop lives on
            log.error("storing the scrape of %s failed: %s", self.target.url, exc)
            error = error or f"storage: {exc}"
        if self.stats is not None:
            self.stats.count_scrape(error, self.out_of_order - out_of_order_before)
        with self.target.lock:
            self.target.health = "down" if error else "up"
            self.target.last_error = error
            self.target.last_scrape = start_wall
            self.target.last_duration = duration
            if metadata is not None:
                self.target.metadata = metadata
        return not error

    def inherit(self, old: ScrapeLoop) -> None:
        """Continue where ``old`` (same target, previous config) stopped."""
        self._prev = dict(old._prev)
        self._reported = old._reported
        with old.target.lock:
            state = (old.target.health, old.target.last_error, old.target.last_scrape,
                     old.target.last_duration, dict(old.target.metadata))
        with self.target.lock:
            (self.target.health, self.target.last_error, self.target.last_scrape,
             self.target.last_duration, self.target.metadata) = state

    def mark_stale(self) -> None:
        """The target went away: every series it had, and its report series, end now."""
        if not self._reported:
            return
        t_ms = int(self._clock() * 1000)
        app = self._storage.appender()
        self._append_stale(app, set(self._prev.values()) | set(self._report_labels.values()), t_ms)
        self._prev = {}
        try:
            app.commit()
        except Exception as exc:
            log.error("staleness markers for %s not stored: %s", self.target.url, exc)

    # --- on a schedule ------------------------------------------------------------------

    def run(self, stop: threading.Event, seed: int = 0) -> None:
        """Scrape at this target's offset in every interval until ``stop`` is set."""
        interval = max(int(self.target.interval), 1) * 1_000_000
        offset = self.target.offset_ns(seed)
        last_slot = None
        while True:
            now_ns = round(self._clock() * 1e9)
            last_slot, due_ns = next_slot(now_ns, offset, interval, last_slot)
            if stop.wait((due_ns - now_ns) / 1e9):
                if self.stale_on_exit:
                    self.mark_stale()
                return
            self.due_ms = due_ns // 1_000_000
            try:
                self.scrape_once()
            except Exception:  # never let one bad scrape end this target's loop
                log.exception("scrape loop of %s", self.target.url)


def _describe(exc: BaseException, address: str) -> str:
    """Transport errors in the words Prometheus uses, so alerts and habits carry over."""
    if isinstance(exc, ConnectionRefusedError):
        return f"dial tcp {address}: connect: connection refused"
    if isinstance(exc, socket.gaierror):
        return f"dial tcp: lookup {address.rsplit(':', 1)[0]}: {exc.strerror or exc}"
    if isinstance(exc, OSError) and exc.strerror:
        return f"dial tcp {address}: {exc.strerror.lower()}"
    return str(exc) or type(exc).__name__
