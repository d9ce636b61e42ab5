"""The scrape hot path: a body in, ``(series_key, value, timestamp_ms)`` tuples out.

Prometheus's design: the scrape loop remembers, per target, every raw series
text it has seen (``name{labels}`` exactly as written before the value) and
what it maps to. A line whose series text is already known costs one
``rpartition`` and one ``float()``; only new series are tokenised and
validated in full. Family rules (histogram bucket order and the like) are
``check``'s job, not every scrape's, as in Prometheus.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from metricslib.collector.model import METRIC_NAME, Labels
from metricslib.collector.textparse.family_rules import OM_TYPES, TEXT_TYPES, belongs
from metricslib.collector.textparse.syntax import (
    METRIC_NAME_RE,
    Exemplar,
    FamilyMeta,
    Format,
    LineError,
    parse_sample_line,
    parse_series_key,
    unescape_help,
)
from metricslib.errors import ParseError

__all__ = ["ScrapeParser", "ScrapeResult", "parse_scrape"]

# Characters float() would quietly strip or accept that the grammar does not.
_DIRTY_CHARS = "\t\r\x0b\x0c\x1c\x1d\x1e\x1f"
_OM_META_RE = re.compile(r"# (HELP|TYPE|UNIT) ([^ ]*) (.*)")
_TEXT_META_RE = re.compile(r"#[ \t]*(HELP|TYPE)[ \t]+(\S+)(?:[ \t]+(.*))?")
_META_CACHE_LIMIT = 100_000


@dataclass(slots=True)
class ScrapeResult:
    """One parsed scrape.

    ``samples`` are ``(series_key, value, timestamp_ms or None)`` in body order.
    ``new_series`` maps each key that was not in ``known`` to its validated
    label set; :meth:`labels_for` serves it (or parses any other key).
    """

    samples: list[tuple[str, float, int | None]]
    metadata: dict[str, FamilyMeta]
    new_series: dict[str, Labels] = field(default_factory=dict)
    exemplars: list[tuple[str, Exemplar]] = field(default_factory=list)

    def labels_for(self, series_key: str) -> Labels:
        """Canonical labels (``__name__`` included, sorted, empty values dropped)."""
        labels = self.new_series.get(series_key)
        return labels if labels is not None else parse_series_key(series_key)

    def metadata_for(self, metric_name: str) -> tuple[str, FamilyMeta] | None:
        """The family a sample name belongs to (``x_bucket`` -> ``x``), with its metadata."""
        meta = self.metadata.get(metric_name)
        if meta is not None:
            return metric_name, meta
        for suffix in (
            "_total",
            "_bucket",
            "_count",
            "_sum",
            "_created",
            "_gcount",
            "_gsum",
            "_info",
        ):
            if metric_name.endswith(suffix):
                base = metric_name[: -len(suffix)]
                meta = self.metadata.get(base)
                if meta is not None and belongs(base, meta.type, metric_name, True):
                    return base, meta
        return None


def _clean_token(tok: str) -> bool:
    return tok.isascii() and "_" not in tok and tok[:1] > " " and tok[-1:] > " "


class ScrapeParser:
    """Parses scrapes of one target; keep one per target so metadata lines are cached."""

    def __init__(self) -> None:
        self._meta: dict[str, tuple[str, str, str]] = {}
        # Whole sample lines seen in recent scrapes, with what they parsed to:
        # unchanged lines (constant gauges, _created, idle buckets) cost one
        # dict lookup. Keyed per format, as validity depends on it.
        self._lines: dict[str, tuple[str, float, int | None]] = {}
        self._lines_fmt = ""

    def parse(self, body: str, fmt: Format, known: Mapping[str, object]) -> ScrapeResult:
        """Parse ``body``. Raises :class:`ParseError` (with the line) on malformed input."""
        om = fmt == "openmetrics"
        lines = body.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        if om:
            if not lines or lines[-1] != "# EOF":
                hint = " (lines must end with \\n, not \\r\\n)" if body.endswith("\r\n") else ""
                raise ParseError(
                    f"OpenMetrics body does not end with '# EOF'{hint}", max(len(lines), 1)
                )
            lines.pop()
        # float() accepts surrounding whitespace and non-ASCII digits; a body
        # without either only needs the "_" check per value.
        dirty = not body.isascii() or any(c in body for c in _DIRTY_CHARS)
        samples: list[tuple[str, float, int | None]] = []
        append = samples.append
        result = ScrapeResult(samples, {})
        slow = self._slow
        cache = self._lines
        cached = cache.get
        rebuild = False
        if self._lines_fmt != fmt:
            cache.clear()  # lines validated for the other format
            self._lines_fmt = fmt
        elif len(cache) > 2 * len(lines) + 1024:
            # Lines of changing series pile up. Rather than forget everything
            # (one scrape without hits), keep exactly this scrape's lines.
            cache = self._lines = {}
            rebuild = True
        for lineno, line in enumerate(lines, 1):
            hit = cached(line)
            if hit is not None and hit[0] in known:
                if rebuild:
                    cache[line] = hit
                append(hit)
                continue
            key, _, tok = line.rpartition(" ")
            if key in known:
                try:
                    value = float(tok)
                except ValueError:
                    pass
                else:
                    # Non-finite values take the slow path, whose grammar is
                    # stricter about their spelling than float() ("-nan", "inf").
                    if (
                        value - value == 0.0
                        and "_" not in tok
                        and not (dirty and not _clean_token(tok))
                    ):
                        cache[line] = sample = (key, value, None)
                        append(sample)
                        continue
            parsed = slow(line, lineno, om, known, result)
            if parsed is not None:
                cache[line] = parsed
        return result

    def _slow(
        self, line: str, lineno: int, om: bool, known: Mapping[str, object], result: ScrapeResult
    ) -> tuple[str, float, int | None] | None:
        """A line off the fast path; returns the sample when the line may be cached."""
        first = line[:1]
        if not om and first in (" ", "\t"):
            line = line.lstrip(" \t")  # text format allows leading blanks
            first = line[:1]
        if first == "#":
            self._comment(line, lineno, om, result)
            return None
        if first == "":
            if om:
                raise ParseError("blank line (OpenMetrics allows none)", lineno)
            return None
        # "key value timestamp" of a known series: still cheap.
        head, _, ts_tok = line.rpartition(" ")
        key, _, tok = head.rpartition(" ")
        if key in known and "#" not in ts_tok and "_" not in tok + ts_tok and _clean_token(tok):
            try:
                value = float(tok)
                ts = (
                    int(ts_tok)
                    if not om and len(ts_tok) <= 18 and ts_tok.isascii() and ts_tok.lstrip("-").isdigit()
                    else None
                )
            except ValueError:
                ts = None
            if ts is not None and value - value != 0.0:
                ts = None  # non-finite: let the grammar judge its spelling
            if ts is not None:
                result.samples.append((key, value, ts))
                return (key, value, ts)
        try:
            parsed = parse_sample_line(line, om)
        except LineError as exc:
            raise ParseError(str(exc), lineno) from None
        key = parsed.key
        if key not in known and key not in result.new_series:
            # make_labels, specialised: a list sorted in place is cheaper here.
            pairs = [(k, v) for k, v in parsed.labels.items() if v]
            pairs.append((METRIC_NAME, parsed.name))
            pairs.sort()
            result.new_series[key] = tuple(pairs)
        sample: tuple[str, float, int | None] = (key, parsed.value, parsed.timestamp_ms)
        result.samples.append(sample)
        if parsed.exemplar is not None:
            result.exemplars.append((key, parsed.exemplar))
            return None  # the exemplar must be reported again next time
        return sample

    def _comment(self, line: str, lineno: int, om: bool, result: ScrapeResult) -> None:
        cached = self._meta.get(line)
        if cached is None:
            cached = self._parse_comment(line, lineno, om)
            if len(self._meta) >= _META_CACHE_LIMIT:
                self._meta.clear()  # a target whose HELP texts never repeat
            self._meta[line] = cached
        kind, name, value = cached
        if not kind:
            return
        meta = result.metadata.get(name) or FamilyMeta()
        if kind == "HELP":
            meta = FamilyMeta(meta.type, value, meta.unit)
        elif kind == "TYPE":
            meta = FamilyMeta(value, meta.help, meta.unit)
        else:
            meta = FamilyMeta(meta.type, meta.help, value)
        result.metadata[name] = meta

    @staticmethod
    def _parse_comment(line: str, lineno: int, om: bool) -> tuple[str, str, str]:
        if om:
            if line == "# EOF":
                raise ParseError("'# EOF' must be the last line", lineno)
            m = _OM_META_RE.fullmatch(line)
            if m is None:
                raise ParseError(
                    f"a line starting with '#' must be '# HELP|TYPE|UNIT name text' or '# EOF', "
                    f"got {line[:40]!r}",
                    lineno,
                )
            kind, name, value = m.groups()
        else:
            m = _TEXT_META_RE.fullmatch(line.lstrip(" \t"))
            if m is None:
                return "", "", ""  # any other comment is allowed in text format
            kind, name, value = m.group(1), m.group(2), (m.group(3) or "").strip(" \t")
        if not METRIC_NAME_RE.fullmatch(name):
            raise ParseError(f"# {kind}: invalid metric name {name!r}", lineno)
        if kind == "TYPE":
            if value not in (OM_TYPES if om else TEXT_TYPES):
                raise ParseError(f"# TYPE {name}: unknown type {value!r}", lineno)
            value = "unknown" if value == "untyped" else value
        elif kind == "HELP":
            value = unescape_help(value, om)
        return kind, name, value


def parse_scrape(body: str, fmt: Format, known: Mapping[str, object]) -> ScrapeResult:
    """One-off :meth:`ScrapeParser.parse` (no metadata cache between scrapes)."""
    return ScrapeParser().parse(body, fmt, known)
