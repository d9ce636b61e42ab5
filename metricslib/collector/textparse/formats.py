"""Exposition parsing for the collector: Prometheus text 0.0.4 and OpenMetrics 1.0.

Three entry points, for three jobs.

**Scraping (hot path).** Keep one :class:`ScrapeParser` per target and a dict
of the raw series texts you have seen (``known``), as Prometheus does::

    parser = ScrapeParser()
    fmt = content_type_format(response.headers.get("Content-Type"))
    result = parser.parse(body, fmt, known)      # raises ParseError -> up = 0
    for key, value, ts_ms in result.samples:     # ts_ms is None unless exposed
        ref = known.get(key)
        if ref is None:
            labels = result.labels_for(key)      # ('__name__', ...) sorted, validated
            ref = known[key] = relabel(labels)

``series_key`` is everything before the value on the line, e.g.
``http_requests_total{code="200",method="get"}``. A known key costs about a
split and a ``float()``, a line identical to one in the target's previous
scrape one dict lookup; a new key is validated in full and its labels are in
``result.new_series``. ``result.metadata`` maps family name to
:class:`FamilyMeta` (type, help, unit; text ``untyped`` is ``unknown``), and
``result.metadata_for(sample_name)`` finds a sample's family. Exemplars are
validated and listed in ``result.exemplars`` as ``(series_key, Exemplar)``.
Send :data:`ACCEPT_HEADER` and pick the format with :func:`content_type_format`.
Per-family rules (bucket order, counts adding up) are not checked per scrape,
as in Prometheus; :func:`check` applies them.

**Full parse (backfill, tools).** :func:`parse_families` yields
:class:`Family` objects (name, type, help, unit, samples, line) one at a time
from a string or any iterable of lines (an open file streams). Each
:class:`Sample` has ``name``, ``labels`` (dict as exposed, no ``__name__``),
``value``, ``timestamp_ms`` (OpenMetrics seconds become exact milliseconds,
clamped to int64), ``exemplar`` and ``line``; ``sample.series()`` gives
canonical ``Labels``.
With ``errors=None`` the first problem raises :class:`ParseError`; pass a list
to collect every problem and keep going (bad lines are skipped, every good
sample is still yielded).

**Checking.** :func:`check` returns every problem (a list of
:class:`ParseError`, each with ``.line``); :func:`check_metrics_cli` backs
``metricslib check metrics``.

Format detection (:func:`detect_format`): OpenMetrics when the input ends
with ``# EOF`` or uses something only OpenMetrics has (``# UNIT``, or a
``# TYPE`` of ``unknown``, ``info``, ``stateset`` or ``gaugehistogram``), so a
truncated OpenMetrics file is reported as missing its ``# EOF`` rather than
misread as text.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Iterator
from typing import Literal

from metricslib.collector.textparse.fast import ScrapeParser, ScrapeResult, parse_scrape
from metricslib.collector.textparse.syntax import (
    Exemplar,
    Family,
    FamilyMeta,
    Format,
    Sample,
    parse_series_key,
)
from metricslib.collector.textparse.validating import iter_families
from metricslib.errors import ParseError

__all__ = [
    "ACCEPT_HEADER",
    "Exemplar",
    "Family",
    "FamilyMeta",
    "Format",
    "ParseError",
    "Sample",
    "ScrapeParser",
    "ScrapeResult",
    "check",
    "check_metrics_cli",
    "content_type_format",
    "detect_format",
    "parse_families",
    "parse_scrape",
    "parse_series_key",
]

#: What a scraper sends: OpenMetrics preferred, text as the fallback (as Prometheus).
ACCEPT_HEADER = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)

_OM_ONLY_RE = re.compile(r"^# (?:UNIT |TYPE \S+ (?:unknown|info|stateset|gaugehistogram)$)", re.M)


def content_type_format(content_type: str | None) -> Literal["text", "openmetrics"]:
    """The format a response's ``Content-Type`` announces; text when absent or unknown."""
    if content_type and content_type.split(";", 1)[0].strip().lower() == "application/openmetrics-text":
        return "openmetrics"
    return "text"


def detect_format(text: str) -> Literal["text", "openmetrics"]:
    """Guess the format of a whole document (see the module docstring for the rule)."""
    if text.rstrip("\n").endswith("# EOF") or _OM_ONLY_RE.search(text):
        return "openmetrics"
    return "text"


def parse_families(
    source: str | Iterable[str], fmt: Format, errors: list[ParseError] | None = None
) -> Iterator[Family]:
    """Families in input order, validated; see the module docstring."""
    return iter_families(source, fmt, errors)


def check(text: str | Iterable[str], fmt: Format) -> list[ParseError]:
    """Every problem found in ``text``, in line order; empty when it is valid.

    Text input is checked as ``promtool check metrics`` does, which is stricter
    than scraping: unknown escapes (``\\z``), ``__name__`` as a label, blanks
    at the end of a line, an unparsable ``le``/``quantile``, or a missing final
    newline are reported although a scrape tolerates them.
    """
    errors: list[ParseError] = []
    for _ in iter_families(text, fmt, errors, pedantic=True):
        pass
    if fmt == "text" and isinstance(text, str) and text and not text.endswith("\n"):
        # promtool's "unexpected end of input stream": a cut-off scrape looks like this.
        errors.append(ParseError("the last line does not end with a newline", text.count("\n") + 1))
    errors.sort(key=lambda e: e.line)
    return errors


def check_metrics_cli(path: str, fmt: Format | None) -> int:
    """``metricslib check metrics``: 0 when valid, 1 with problems listed, 2 if unreadable."""
    name = "<stdin>" if path == "-" else path
    try:
        if path == "-":
            raw = sys.stdin.buffer.read()
        else:
            with open(path, "rb") as fh:
                raw = fh.read()
    except OSError as exc:
        print(f"{name}: cannot read: {exc.strerror or exc}", file=sys.stderr)
        return 2
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        print(f"{name}:{line}: not valid UTF-8 (byte {exc.start})", file=sys.stderr)
        return 1
    chosen: Format = fmt or detect_format(text)
    problems = check(text, chosen)
    for err in problems:
        message = str(err)
        prefix = f"line {err.line}: "
        if message.startswith(prefix):
            message = message[len(prefix) :]
        print(f"{name}:{err.line}: {message}", file=sys.stderr)
    if problems:
        print(f"{name}: {len(problems)} problem(s) ({chosen} format)", file=sys.stderr)
        return 1
    print(f"{name}: OK ({chosen} format)")
    return 0
