"""The full, validating parser: lines in, families out, one family at a time.

Used by ``check`` and by backfill. OpenMetrics input is held to every rule of
the 1.0 spec; text 0.0.4 input gets the rules ``promtool check metrics``
applies (syntax, one HELP and one TYPE per family, TYPE before samples).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from metricslib.collector.textparse.family_rules import (
    OM_TYPES,
    TEXT_TYPES,
    belongs,
    check_family,
    claimed_names,
    text_help_problem,
    text_sample_problems,
)
from metricslib.collector.textparse.syntax import (
    METRIC_NAME_RE,
    Family,
    Format,
    LineError,
    Sample,
    parse_sample_line,
    unescape_help,
)
from metricslib.errors import ParseError

__all__ = ["iter_families", "split_lines"]

_OM_META_RE = re.compile(r"# (HELP|TYPE|UNIT)(?: (.*))?")
_TEXT_META_RE = re.compile(r"#[ \t]*(HELP|TYPE)(?:[ \t]+(.*))?")
_UNIT_RE = re.compile(r"[a-zA-Z0-9_:]*")
_TEXT_SUFFIXES = ("", "_bucket", "_count", "_sum")


def split_lines(source: str | Iterable[str]) -> Iterator[str]:
    """Lines without their ``\\n``; only ``\\n`` ends a line (never other Unicode breaks)."""
    if isinstance(source, str):
        lines = source.split("\n")
        if lines[-1] == "":
            lines.pop()  # the final newline ends the last line, it is not a blank line
        yield from lines
        return
    for line in source:
        yield line[:-1] if line.endswith("\n") else line


class _Reader:
    """State carried from line to line. ``errors`` None means raise on the first problem."""

    def __init__(self, om: bool, errors: list[ParseError] | None, pedantic: bool) -> None:
        self.om = om
        self.pedantic = pedantic and not om  # OpenMetrics is always held to every rule
        self.errors = errors
        self.cur: Family | None = None
        self.cur_meta: set[str] = set()
        self.cur_has_type = False
        self.seen: dict[str, int] = {}  # family name -> first line
        self.claimed: dict[str, str] = {}  # sample name -> family that owns it
        self.text_meta: dict[tuple[str, str], int] = {}  # (kind, name) -> line, text format
        self.text_types: dict[str, str] = {}
        self.text_sampled: set[str] = set()  # text families that already have samples
        self.series: dict[object, tuple[float | None, int]] = {}

    def report(self, message: str, line: int) -> None:
        err = ParseError(message, line)
        if self.errors is None:
            raise err
        self.errors.append(err)

    # -- families --------------------------------------------------------------------

    def finish(self) -> Family | None:
        fam = self.cur
        self.cur = None
        if fam is None:
            return None
        if self.om:
            mine = claimed_names(fam.name, fam.type)
            for name in sorted(mine):
                owner = self.claimed.get(name)
                if owner is not None and owner != fam.name:
                    self.report(
                        f"family {fam.name!r} ({fam.type}) clashes with family {owner!r} "
                        f"(line {self.seen[owner]}) over the name {name!r}",
                        fam.line,
                    )
                    break
            for name in mine:
                self.claimed.setdefault(name, fam.name)
            for message, line in check_family(fam):
                self.report(message, line)
        return fam

    def start(self, name: str, line: int, mtype: str = "unknown") -> Family | None:
        done = self.finish()
        if self.om and name in self.seen:
            self.report(
                f"family {name!r} continues here after other families (it started at line "
                f"{self.seen[name]}); a family's lines must be together",
                line,
            )
        self.seen.setdefault(name, line)
        self.cur = Family(name=name, type=mtype, line=line)
        self.cur_meta = set()
        self.series = {}
        return done

    # -- lines -----------------------------------------------------------------------

    def metadata(self, kind: str, rest: str | None, line: int) -> Family | None:
        if not rest:
            self.report(f"# {kind} needs a metric name", line)
            return None
        sep = " " if self.om else None
        parts = rest.split(sep, 1) if sep else re.split(r"[ \t]+", rest, maxsplit=1)
        name = parts[0]
        value = parts[1] if len(parts) == 2 else None
        if not METRIC_NAME_RE.fullmatch(name):
            self.report(f"# {kind}: invalid metric name {name!r}", line)
            return None
        if value is None and (self.om or kind == "TYPE"):
            what = {"HELP": "help text", "TYPE": "a type", "UNIT": "a unit"}[kind]
            self.report(f"# {kind} {name} needs a space and {what} after the name", line)
            return None
        value = value or ""
        if kind == "TYPE":
            value = value if self.om else value.strip(" \t")
            types = OM_TYPES if self.om else TEXT_TYPES
            if value not in types:
                self.report(
                    f"# TYPE {name}: unknown type {value!r} (expected one of "
                    f"{', '.join(sorted(types))})",
                    line,
                )
                return None
            if value == "untyped":
                value = "unknown"
        if kind == "UNIT" and not _UNIT_RE.fullmatch(value):
            self.report(f"# UNIT {name}: invalid unit {value!r}", line)
            return None
        done: Family | None = None
        if self.om:
            cur = self.cur
            if cur is None or cur.name != name:
                done = self.start(name, line)
                cur = self.cur
            elif cur.samples:
                self.report(f"# {kind} for {name!r} comes after its samples; metadata goes first", line)
                return None
            elif kind in self.cur_meta:
                self.report(f"second # {kind} line for {name!r}", line)
                return None
            assert cur is not None
        else:
            first = self.text_meta.get((kind, name))
            if first is not None:
                self.report(f"second # {kind} line for {name!r} (the first is line {first})", line)
                return None
            self.text_meta[(kind, name)] = line
            if kind == "TYPE" and name in self.text_sampled:
                self.report(f"# TYPE for {name!r} comes after its samples", line)
                return None
            cur = self.cur
            if cur is None or cur.name != name:
                done = self.start(name, line, self.text_types.get(name, "unknown"))
                cur = self.cur
            assert cur is not None
        self.cur_meta.add(kind)
        if kind == "HELP":
            problem = text_help_problem(value) if self.pedantic else None
            if problem is not None:
                self.report(f"# HELP {name}: {problem}", line)
            cur.help = unescape_help(value, self.om)
        elif kind == "TYPE":
            cur.type = value
            self.text_types[name] = value
        else:
            cur.unit = value
        return done

    def _text_family_of(self, name: str) -> tuple[str, str]:
        # Only a name minus a known suffix can be a declared family: a dict
        # lookup each, not a scan over every family seen so far.
        for suffix in _TEXT_SUFFIXES:
            if name.endswith(suffix):
                fam = name[: len(name) - len(suffix)]
                mtype = self.text_types.get(fam)
                if mtype is not None and belongs(fam, mtype, name, False):
                    return fam, mtype
        return name, "unknown"

    def sample(self, text: str, line: int) -> Family | None:
        try:
            parsed = parse_sample_line(text, self.om)
        except LineError as exc:
            self.report(str(exc), line)
            return None
        done: Family | None = None
        cur = self.cur
        if cur is None or not belongs(cur.name, cur.type, parsed.name, self.om):
            if self.om and cur is not None and parsed.name == cur.name:
                allowed = ", ".join(sorted(claimed_names(cur.name, cur.type) - {cur.name}))
                self.report(
                    f"{parsed.name!r} is not a valid sample name in {cur.type} family {cur.name!r} "
                    f"(expected one of {allowed})",
                    line,
                )
                return None
            if self.om:
                done = self.start(parsed.name, line)
            else:
                fam, mtype = self._text_family_of(parsed.name)
                done = self.start(fam, line, mtype)
            cur = self.cur
            assert cur is not None
        sample = Sample(
            parsed.name, parsed.labels, parsed.value, parsed.timestamp_ms, parsed.exemplar, line
        )
        cur.samples.append(sample)
        if not self.om:
            self.text_sampled.add(cur.name)
        if self.pedantic:
            for problem in text_sample_problems(cur, sample, text, parsed.key):
                self.report(problem, line)
        if self.om:
            self._order(parsed.name, parsed.labels, parsed.timestamp_s, line)
        return done

    def _order(self, name: str, labels: dict[str, str], ts: float | None, line: int) -> None:
        key = (name, tuple(sorted(labels.items())))
        prev = self.series.get(key)
        self.series[key] = (ts, line)
        if prev is None:
            return
        prev_ts, prev_line = prev
        if (prev_ts is None) != (ts is None):
            self.report(
                f"{name}: series mixes samples with and without timestamps (see line {prev_line})",
                line,
            )
        elif ts is None:
            self.report(f"{name}: series appears twice without timestamps (see line {prev_line})", line)
        elif prev_ts is not None and ts < prev_ts:
            self.report(f"{name}: timestamp {ts} goes back from {prev_ts} (line {prev_line})", line)


def iter_families(
    source: str | Iterable[str],
    fmt: Format,
    errors: list[ParseError] | None = None,
    pedantic: bool = False,
) -> Iterator[Family]:
    """Families in input order; see :func:`metricslib.collector.textparse.formats.parse_families`.

    ``pedantic`` adds, for text input, what ``promtool check metrics`` rejects
    although Prometheus's scraper accepts it (unknown escapes, trailing blanks).
    """
    om = fmt == "openmetrics"
    r = _Reader(om, errors, pedantic)
    eof_line = 0
    lineno = 0
    for lineno, line in enumerate(split_lines(source), 1):
        if eof_line:
            r.report(f"text after '# EOF' (line {eof_line}): nothing may follow it", lineno)
            break
        done: Family | None = None
        if line[:1] == "#":
            if om and line == "# EOF":
                eof_line = lineno
                continue
            m = (_OM_META_RE if om else _TEXT_META_RE).fullmatch(line)
            if m is not None:
                done = r.metadata(m.group(1), m.group(2), lineno)
            elif om:
                r.report(
                    f"a line starting with '#' must be # HELP, # TYPE, # UNIT or # EOF, got {line[:30]!r}",
                    lineno,
                )
        elif om:
            if line == "":
                r.report("blank line (OpenMetrics allows none)", lineno)
                continue
            done = r.sample(line, lineno)
        else:
            stripped = line.lstrip(" \t")
            if stripped == "":
                continue
            if stripped[0] == "#":
                m = _TEXT_META_RE.fullmatch(stripped)
                if m is not None:
                    done = r.metadata(m.group(1), m.group(2), lineno)
            else:
                done = r.sample(stripped, lineno)
        if done is not None:
            yield done
    last = r.finish()
    if last is not None:
        yield last
    if om and not eof_line:
        r.report("missing '# EOF' at the end of OpenMetrics input", max(lineno, 1))
