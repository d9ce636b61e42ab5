"""Line-level syntax shared by both exposition formats: names, labels, numbers.

Everything here works on one line and raises :class:`LineError` (a message without
a line number); the callers know which line they are on and turn it into a
:class:`~metricslib.errors.ParseError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Literal

from metricslib.collector.model import METRIC_NAME, Labels, make_labels
from metricslib.errors import ParseError

__all__ = [
    "Exemplar",
    "Family",
    "FamilyMeta",
    "Format",
    "LineError",
    "Sample",
    "SampleLine",
    "parse_float",
    "parse_sample_line",
    "parse_series_key",
    "unescape_help",
]

Format = Literal["text", "openmetrics"]

METRIC_NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
# OpenMetrics numbers: decimal only (no hex, no underscores), Inf and NaN spelled
# as the spec's examples do; Python's float() alone would accept far more.
# Written so no digit can be matched two ways: a failing match must not
# backtrack quadratically over a long run of digits.
_DECIMAL = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
OM_NUMBER_RE = re.compile(_DECIMAL + r"|[+-]?Inf|NaN")
# The text format follows Go's ParseFloat: case-insensitive inf/infinity/nan.
TEXT_NUMBER_RE = re.compile(_DECIMAL + r"|[+-]?(?i:inf|infinity)|(?i:nan)")
_TEXT_INT_RE = re.compile(r"[+-]?[0-9]+")
# A whole series text in its common shape (no blanks, no trailing comma);
# anything else goes through the careful scanner, which explains what is wrong.
# The quoted-value pattern is "unrolled" ([^"\\]* runs) because Python's regex
# engine is several times slower on a per-character alternation.
_QUOTED = r'"([^"\\]*(?:\\.[^"\\]*)*)"'
_LABEL_PAIR_RE = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)=" + _QUOTED)
_PAIR = r'[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*(?:\\.[^"\\]*)*"'
_SIMPLE_SERIES_RE = re.compile(
    r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(" + _PAIR + r"(?:," + _PAIR + r")*)?\})?"
)
_TEXT_WS_RE = re.compile(r"[ \t]+")
_ESCAPE_RE = re.compile(r"\\(.)")
_ESCAPES = {"\\": "\\", '"': '"', "n": "\n"}
EXEMPLAR_MAX_RUNES = 128


class LineError(Exception):
    """What is wrong with a line; the caller adds the line number."""


@dataclass(frozen=True, slots=True)
class FamilyMeta:
    """A family's metadata. ``type`` is an OpenMetrics type; text ``untyped`` is ``unknown``."""

    type: str = "unknown"
    help: str = ""
    unit: str = ""


@dataclass(frozen=True, slots=True)
class Exemplar:
    labels: dict[str, str]
    value: float
    timestamp: float | None = None  # seconds, as exposed


@dataclass(slots=True)
class Sample:
    """One sample line. ``labels`` are as exposed (empty values kept, no ``__name__``)."""

    name: str
    labels: dict[str, str]
    value: float
    timestamp_ms: int | None = None
    exemplar: Exemplar | None = None
    line: int = 0

    def series(self) -> Labels:
        """The canonical label set a store keys on: ``__name__`` included, empties dropped."""
        return make_labels([(METRIC_NAME, self.name), *self.labels.items()])


@dataclass(slots=True)
class Family:
    """A metric family: its metadata and its samples in input order."""

    name: str
    type: str = "unknown"
    help: str = ""
    unit: str = ""
    samples: list[Sample] = field(default_factory=list)
    line: int = 0  # where the family starts


@dataclass(slots=True)
class SampleLine:
    """A sample line taken apart. ``key`` is the raw series text before the value."""

    key: str
    name: str
    labels: dict[str, str]
    value: float
    timestamp_ms: int | None
    timestamp_s: float | None  # OpenMetrics only, kept for ordering checks
    exemplar: Exemplar | None


def _unescape(raw: str) -> str:
    if "\\" not in raw:
        return raw
    # Unknown escapes stay as written (backslash included), as Prometheus does.
    return _ESCAPE_RE.sub(lambda m: _ESCAPES.get(m.group(1), m.group(0)), raw)


def unescape_help(raw: str, om: bool) -> str:
    if "\\" not in raw:
        return raw
    table = _ESCAPES if om else {"\\": "\\", "n": "\n"}
    return _ESCAPE_RE.sub(lambda m: table.get(m.group(1), m.group(0)), raw)


def parse_float(tok: str, om: bool, what: str = "value") -> float:
    if tok.isascii() and "_" not in tok and tok[:1] > " " and tok[-1:] > " ":
        # For ASCII without "_" or surrounding blanks, float() accepts exactly
        # the decimal grammar; only the spellings of Inf and NaN need the regex.
        try:
            value = float(tok)
        except ValueError:
            pass
        else:
            if value - value == 0.0:
                return value
    pattern = OM_NUMBER_RE if om else TEXT_NUMBER_RE
    if not pattern.fullmatch(tok):
        if tok == "":
            raise LineError(f"missing {what}")
        if tok.endswith("\r"):
            raise LineError(f"invalid {what} {tok!r}: lines must end with \\n, not \\r\\n")
        raise LineError(f"invalid {what} {tok!r}: expected a decimal number, +Inf, -Inf or NaN")
    return float(tok)


_I64_MIN, _I64_MAX = -(2**63), 2**63 - 1


def _om_timestamp(tok: str) -> tuple[int, float]:
    whole, dot, frac = tok.partition(".")
    if (
        whole.isascii()
        and whole.isdigit()
        and len(whole) <= 15
        and (not dot or (frac.isascii() and frac.isdigit() and len(frac) <= 3))
    ):
        # Plain "seconds[.mmm]", the usual shape: exact in integer arithmetic.
        return int(whole) * 1000 + int(frac.ljust(3, "0") if dot else 0), float(tok)
    if not OM_NUMBER_RE.fullmatch(tok) or tok.endswith(("Inf", "NaN")):
        raise LineError(f"invalid timestamp {tok!r}: expected seconds as a finite decimal number")
    try:
        dec = Decimal(tok)
    except InvalidOperation as exc:  # pragma: no cover - the regex already vetted it
        raise LineError(f"invalid timestamp {tok!r}") from exc
    # The spec allows any number of seconds; a store keeps int64 milliseconds,
    # so clamp (this also keeps "1e999999999" from becoming a giant integer).
    if dec.adjusted() > 18:
        return (_I64_MAX if dec > 0 else _I64_MIN), float(tok)
    # Decimal keeps "1.005" at exactly 1005 ms, where float maths gives 1004.
    ms = int(dec * 1000)
    return min(max(ms, _I64_MIN), _I64_MAX), float(tok)


def _text_timestamp(tok: str) -> int:
    if not _TEXT_INT_RE.fullmatch(tok):
        if tok.endswith("\r"):
            raise LineError(f"invalid timestamp {tok!r}: lines must end with \\n, not \\r\\n")
        raise LineError(f"invalid timestamp {tok!r}: expected integer milliseconds")
    ms = int(tok) if len(tok) <= 20 else _I64_MAX + 1
    if not _I64_MIN <= ms <= _I64_MAX:
        raise LineError(f"timestamp {tok[:24]!r} does not fit in 64 bits")
    return ms


def _scan_labels(text: str, pos: int, om: bool, where: str) -> tuple[dict[str, str], int]:
    """Careful label scanner, used when the fast regex fails: precise messages."""
    labels: dict[str, str] = {}
    n = len(text)
    assert text[pos] == "{"
    pos += 1
    ws = "" if om else " \t"
    first = True
    while True:
        while pos < n and text[pos] in ws:
            pos += 1
        if pos < n and text[pos] == "}":
            if first or not om:
                return labels, pos + 1
            raise LineError(f"{where}: trailing comma before '}}'")
        m = LABEL_NAME_RE.match(text, pos)
        if m is None:
            got = text[pos : pos + 10] or "end of line"
            raise LineError(f"{where}: expected a label name, got {got!r}")
        name = m.group(0)
        pos = m.end()
        while pos < n and text[pos] in ws:
            pos += 1
        if pos >= n or text[pos] != "=":
            raise LineError(f"{where}: label {name!r} needs '=' and a quoted value")
        pos += 1
        while pos < n and text[pos] in ws:
            pos += 1
        if pos >= n or text[pos] != '"':
            raise LineError(f"{where}: value of label {name!r} must be in double quotes")
        start = pos + 1
        pos = start
        while pos < n and text[pos] != '"':
            pos += 2 if text[pos] == "\\" else 1
        if pos >= n:
            raise LineError(f"{where}: value of label {name!r} has no closing quote")
        if name in labels:
            raise LineError(f"{where}: label {name!r} appears twice")
        labels[name] = _unescape(text[start:pos])
        pos += 1
        while pos < n and text[pos] in ws:
            pos += 1
        if pos < n and text[pos] == ",":
            pos += 1
            first = False
            if om and pos < n and text[pos] == ",":
                raise LineError(f"{where}: empty label between commas")
            continue
        if pos < n and text[pos] == "}":
            return labels, pos + 1
        got = text[pos : pos + 10] or "end of line"
        raise LineError(f"{where}: expected ',' or '}}' after label {name!r}, got {got!r}")


def _series(line: str, om: bool) -> tuple[str, dict[str, str], int]:
    """Metric name and labels at the start of ``line``; returns the end index."""
    m = _SIMPLE_SERIES_RE.match(line)
    if m is not None:
        end = m.end()
        body = m.group(2)
        # The regex stops early on shapes it does not know (spaces in text
        # format, trailing commas); the careful scanner then takes over.
        if end < len(line) and (
            line[end] == "{"
            # text format allows blanks between the name and its labels
            or (not om and body is None and line[end:].lstrip(" \t")[:1] == "{")
        ):
            m = None
        elif body:
            pairs = _LABEL_PAIR_RE.findall(body)
            labels = dict(pairs)
            if len(labels) != len(pairs):
                seen: set[str] = set()
                for lname, _ in pairs:
                    if lname in seen:
                        raise LineError(f"label {lname!r} appears twice in {line[:end]!r}")
                    seen.add(lname)
            if "\\" in body:
                labels = {k: _unescape(v) for k, v in labels.items()}
            return m.group(1), labels, end
        else:
            return m.group(1), {}, end
    nm = METRIC_NAME_RE.match(line)
    if nm is None:
        got = line[:20]
        raise LineError(f"expected a metric name at the start of the line, got {got!r}")
    name = nm.group(0)
    pos = nm.end()
    if not om:
        while pos < len(line) and line[pos] in " \t":
            pos += 1
    if pos < len(line) and line[pos] == "{":
        labels, pos = _scan_labels(line, pos, om, f"labels of {name!r}")
        return name, labels, pos
    return name, {}, nm.end()


def parse_series_key(key: str) -> Labels:
    """Fully validate a raw series text (``name{l="v",...}``) into canonical ``Labels``."""
    try:
        name, labels, end = _series(key, om=False)
    except LineError as exc:
        raise ParseError(f"series {key!r}: {exc}") from None
    if end != len(key):
        raise ParseError(f"series {key!r}: unexpected text {key[end:]!r} after the labels")
    return make_labels([(METRIC_NAME, name), *labels.items()])


def _exemplar(text: str, om: bool) -> Exemplar:
    """``text`` is what follows ``' # '`` on a sample line."""
    if not text.startswith("{"):
        raise LineError("exemplar must start with '{' after ' # '")
    labels, pos = _scan_labels(text, 0, True, "exemplar labels")
    runes = sum(len(k) + len(v) for k, v in labels.items())
    if runes > EXEMPLAR_MAX_RUNES:
        raise LineError(
            f"exemplar labels are {runes} characters long; the limit is {EXEMPLAR_MAX_RUNES}"
        )
    rest = text[pos:]
    if not rest.startswith(" "):
        raise LineError("exemplar labels must be followed by a space and a value")
    parts = rest[1:].split(" ")
    if len(parts) > 2 or "" in parts:
        raise LineError(f"exemplar must be '{{labels}} value [timestamp]', got {text!r}")
    value = parse_float(parts[0], om, "exemplar value")
    ts: float | None = None
    if len(parts) == 2:
        ts = _om_timestamp(parts[1])[1]
    return Exemplar(labels, value, ts)


def parse_sample_line(line: str, om: bool) -> SampleLine:
    """Take a sample line apart, validating everything the grammar says."""
    name, labels, end = _series(line, om)
    key = line[:end]
    rest = line[end:]
    tok = rest[1:]
    if rest[:1] == " " and "\t" not in tok:
        # The usual shapes, "series value" and "series value timestamp".
        if tok and " " not in tok:
            return SampleLine(key, name, labels, parse_float(tok, om), None, None, None)
        parts = tok.split(" ")
        if len(parts) == 2 and parts[0] and parts[1] and "#" not in tok:
            value = parse_float(parts[0], om)
            if om:
                ms, secs = _om_timestamp(parts[1])
                return SampleLine(key, name, labels, value, ms, secs, None)
            return SampleLine(key, name, labels, value, _text_timestamp(parts[1]), None, None)
    exemplar: Exemplar | None = None
    if om:
        if not rest.startswith(" "):
            if rest == "":
                raise LineError(f"sample {key!r} has no value")
            raise LineError(f"expected a space and a value after {key!r}, got {rest[:10]!r}")
        head, sep, ex = rest.partition(" # ")
        if sep:
            exemplar = _exemplar(ex, om)
        parts = head[1:].split(" ")
        if any("#" in p for p in parts):
            raise LineError("an exemplar must be written as ' # {labels} value [timestamp]'")
        if parts[0] == "" and len(parts) > 1:
            raise LineError(f"more than one space between {key!r} and its value")
        if "" in parts[1:]:
            raise LineError(f"trailing or doubled space after the value of {key!r}")
        if len(parts) > 2:
            raise LineError(f"unexpected text {' '.join(parts[2:])!r} after the timestamp")
        value = parse_float(parts[0], True)
        if len(parts) == 2:
            ms, secs = _om_timestamp(parts[1])
            return SampleLine(key, name, labels, value, ms, secs, exemplar)
        return SampleLine(key, name, labels, value, None, None, exemplar)
    if rest[:1] not in (" ", "\t") and not (key.endswith("}") and rest):
        if rest == "":
            raise LineError(f"sample {key!r} has no value")
        raise LineError(f"expected whitespace and a value after {key!r}, got {rest[:10]!r}")
    parts = _TEXT_WS_RE.split(rest.strip(" \t"))
    if parts == [""]:
        raise LineError(f"sample {key!r} has no value")
    if len(parts) > 2:
        raise LineError(f"unexpected text {' '.join(parts[2:])!r} after the timestamp")
    value = parse_float(parts[0], False)
    if len(parts) == 2:
        return SampleLine(key, name, labels, value, _text_timestamp(parts[1]), None, None)
    return SampleLine(key, name, labels, value, None, None, None)
