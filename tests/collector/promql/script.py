"""Parser for Prometheus's PromQL test-script format (``promql/promqltest``).

A script is a sequence of commands separated by blank lines; ``#`` lines
count as blank (so a comment ends a block, as in Prometheus):

- ``load <interval>`` / ``load_with_nhcb <interval>`` and indented series lines
  ``metric{l="v"} 1+2x3 _ stale 4x2``;
- ``clear``;
- ``eval instant at <time> <expr>`` / ``eval range from <t0> to <t1> step <s> <expr>``
  (and the older ``eval_fail``, ``eval_ordered``, ``eval_warn``, ``eval_info``)
  followed by ``expect ...`` lines and expected series or a bare scalar.

Native histogram samples (``{{...}}``) are recognised but not decoded: the
runner skips whatever depends on them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from metricslib.collector.model import STALE_NAN, Labels, make_labels
from metricslib.collector.promql.parser.lexer import lex, parse_duration_ms, unquote
from metricslib.errors import PromQLParseError

__all__ = [
    "ClearCmd",
    "Command",
    "EvalCmd",
    "Expectation",
    "ExpectedSeries",
    "LoadCmd",
    "ScriptError",
    "expand_values",
    "parse_script",
    "parse_series_labels",
]


class ScriptError(ValueError):
    """The script itself is malformed; names the file line."""

    def __init__(self, line: int, message: str) -> None:
        self.line = line
        super().__init__(f"line {line}: {message}")


#: A point in a series description: a float, None for ``_`` (omitted), or
#: HISTOGRAM for a native histogram sample we do not decode.
HISTOGRAM = "histogram"
Point = float | None | str


@dataclass(slots=True)
class LoadCmd:
    line: int
    interval_ms: int
    with_nhcb: bool
    series: list[tuple[Labels, list[Point]]] = field(default_factory=list)


@dataclass(slots=True)
class ClearCmd:
    line: int


@dataclass(frozen=True, slots=True)
class Expectation:
    """``expect <kind> [msg: text | regex: pattern]``; neither means "any"."""

    kind: str  # fail, ordered, warn, no_warn, info, no_info
    message: str | None = None
    regex: str | None = None

    def matches(self, text: str) -> bool:
        if self.message is not None:
            return text == self.message
        if self.regex is not None:
            return re.search(self.regex, text) is not None
        return True


@dataclass(slots=True)
class ExpectedSeries:
    labels: Labels
    points: list[Point]
    position: int  # 1-based line order within the eval, for "ordered"


@dataclass(slots=True)
class EvalCmd:
    line: int
    expr: str
    instant: bool
    start_ms: int
    end_ms: int = 0
    step_ms: int = 0
    fail: bool = False
    ordered: bool = False
    warn: bool = False
    info: bool = False
    expectations: list[Expectation] = field(default_factory=list)
    series: list[ExpectedSeries] = field(default_factory=list)
    scalar: float | None = None
    string: str | None = None
    range_vector: tuple[int, int, int] | None = None  # expect range vector from/to/step
    expected_histograms: bool = False

    def is_fail(self) -> bool:
        return self.fail or any(e.kind == "fail" for e in self.expectations)

    def is_ordered(self) -> bool:
        return self.ordered or any(e.kind == "ordered" for e in self.expectations)

    def of_kind(self, kind: str) -> list[Expectation]:
        return [e for e in self.expectations if e.kind == kind]


Command = LoadCmd | ClearCmd | EvalCmd

_PAT_LOAD = re.compile(r"^load(?:_(with_nhcb))?\s+(.+?)$")
_PAT_INSTANT = re.compile(r"^eval(?:_(fail|warn|ordered|info))?\s+instant\s+(?:at\s+(.+?))?\s+(.+)$")
_PAT_RANGE = re.compile(
    r"^eval(?:_(fail|warn|info))?\s+range\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+?)\s+(.+)$"
)
_PAT_EXPECT = re.compile(r"^expect\s+(ordered|fail|warn|no_warn|info|no_info)(?:\s+(regex|msg):(.+))?$")
_PAT_RANGE_VECTOR = re.compile(r"^expect range vector\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+)$")
_NUM = r"[+-]?(?:inf|nan|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:e[+-]?[0-9]+)?)"
_PAT_ITEM = re.compile(rf"^({_NUM}|stale)(?:({_NUM})?x([0-9]+))?$", re.IGNORECASE)
_PAT_BLANK = re.compile(r"^_(?:x([0-9]+))?$")


def _duration(text: str, line: int) -> int:
    text = text.strip()
    try:
        return parse_duration_ms(text)
    except ValueError:
        # Script times may also be plain seconds ("eval instant at 0 ...").
        try:
            return round(float(text) * 1000)
        except ValueError:
            raise ScriptError(line, f"invalid duration {text!r}") from None


def _number(text: str) -> float | None:
    """Go's parseNumber: ParseInt(s, 0, 64), then ParseFloat."""
    t = text.strip()
    try:
        if re.fullmatch(r"[+-]?0[xX][0-9a-fA-F]+", t):
            return float(int(t, 16))
        if re.fullmatch(r"[+-]?0[0-7]+", t):
            return float(int(t, 8))
        if re.fullmatch(r"[+-]?(?:inf|infinity|nan)", t, re.IGNORECASE) or re.fullmatch(
            r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", t
        ):
            return float(t)
    except ValueError:
        return None
    return None


def _parse_float(text: str) -> float:
    if text.lower() == "stale":
        return STALE_NAN
    value = _number(text)
    if value is None:
        raise ValueError(f"invalid number {text!r}")
    return value


def expand_values(text: str, line: int = 0) -> list[Point]:
    """Expand ``1+2x3 _ stale _x2 4x1`` into points (None for omitted)."""
    points: list[Point] = []
    for item in _split_items(text):
        if item.startswith("{{"):
            # Native histograms (and their "+{{..}}xN" series) are not decoded.
            count = re.search(r"x([0-9]+)$", item)
            points.extend([HISTOGRAM] * (int(count.group(1)) + 1 if count else 1))
            continue
        blank = _PAT_BLANK.match(item)
        if blank:
            points.extend([None] * (int(blank.group(1)) if blank.group(1) else 1))
            continue
        m = _PAT_ITEM.match(item)
        if m is None:
            raise ScriptError(line, f"invalid series value {item!r}")
        start = _parse_float(m.group(1))
        if m.group(3) is None:
            points.append(start)
            continue
        times = int(m.group(3))
        delta = _parse_float(m.group(2)) if m.group(2) else 0.0
        value = start
        for _ in range(times + 1):
            points.append(value)
            value += delta
    return points


def _split_items(text: str) -> list[str]:
    """Whitespace-separated items, keeping ``{{ ... }}`` (which holds spaces) whole."""
    items: list[str] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        j = i
        while j < n and not text[j].isspace():
            if text.startswith("{{", j):
                end = text.find("}}", j)
                j = n if end < 0 else end + 2
            else:
                j += 1
        items.append(text[i:j])
        i = j
    return items


def _split_series(text: str) -> tuple[str, str]:
    """Split ``metric{labels} values`` into its selector and values parts."""
    i, n = 0, len(text)
    while i < n and not text[i].isspace() and text[i] != "{":
        i += 1
    if i < n and text[i] == "{":
        quote = ""
        while i < n:
            ch = text[i]
            if quote:
                if ch == "\\":
                    i += 1
                elif ch == quote:
                    quote = ""
            elif ch in "\"'`":
                quote = ch
            elif ch == "}":
                i += 1
                break
            i += 1
    return text[:i], text[i:]


def parse_series_labels(selector: str, line: int = 0) -> Labels:
    """``name{a="b"}`` or ``{"name", a="b"}`` or ``{}`` to a label set."""
    try:
        tokens = lex(selector)
    except PromQLParseError as exc:
        raise ScriptError(line, f"invalid series {selector!r}: {exc}") from None
    pairs: list[tuple[str, str]] = []
    k = 0

    def fail(why: str) -> ScriptError:
        return ScriptError(line, f"invalid series {selector!r}: {why}")

    if tokens[k].kind == "IDENT":
        pairs.append(("__name__", tokens[k].text))
        k += 1
    if tokens[k].kind == "OP" and tokens[k].text == "{":
        k += 1
        while not (tokens[k].kind == "OP" and tokens[k].text == "}"):
            tok = tokens[k]
            if tok.kind not in ("IDENT", "STRING"):
                raise fail(f"unexpected {tok.describe()}")
            name = tok.text if tok.kind == "IDENT" else unquote(tok.text)
            k += 1
            if tok.kind == "STRING" and tokens[k].kind == "OP" and tokens[k].text in (",", "}"):
                pairs.append(("__name__", name))
            else:
                if not (tokens[k].kind == "OP" and tokens[k].text == "="):
                    raise fail(f"expected '=' after label {name!r}")
                if tokens[k + 1].kind != "STRING":
                    raise fail(f"expected a quoted value for label {name!r}")
                pairs.append((name, unquote(tokens[k + 1].text)))
                k += 2
            if tokens[k].kind == "OP" and tokens[k].text == ",":
                k += 1
        k += 1
    if tokens[k].kind != "EOF" or not tokens[0:1] or (not pairs and k == 0):
        raise fail("expected a metric name and/or {labels}")
    names = [p[0] for p in pairs]
    if len(set(names)) != len(names):
        raise fail("duplicate label name")
    return make_labels(pairs)


def _lines(text: str) -> list[str]:
    out = []
    for raw in text.split("\n"):
        stripped = raw.strip()
        out.append("" if stripped.startswith("#") else stripped)
    return out


def parse_script(text: str) -> list[Command]:
    """Parse a whole script into commands. Raises ScriptError on malformed input."""
    lines = _lines(text)
    commands: list[Command] = []
    i = 0
    while i < len(lines):
        current = lines[i]
        if not current:
            i += 1
            continue
        word = re.split(r"[\t ]+", current, maxsplit=1)[0].lower()
        if word == "clear":
            commands.append(ClearCmd(i + 1))
            i += 1
        elif word.startswith("load"):
            i = _parse_load(lines, i, commands)
        elif word.startswith("eval"):
            i = _parse_eval(lines, i, commands)
        else:
            raise ScriptError(i + 1, f"invalid command {current!r}")
    return commands


def _parse_load(lines: list[str], i: int, commands: list[Command]) -> int:
    m = _PAT_LOAD.match(lines[i])
    if m is None:
        raise ScriptError(i + 1, "invalid load command, expected load[_with_nhcb] <interval>")
    cmd = LoadCmd(i + 1, _duration(m.group(2), i + 1), m.group(1) == "with_nhcb")
    i += 1
    while i < len(lines) and lines[i]:
        selector, values = _split_series(lines[i])
        cmd.series.append((parse_series_labels(selector, i + 1), expand_values(values, i + 1)))
        i += 1
    commands.append(cmd)
    return i


def _parse_eval(lines: list[str], i: int, commands: list[Command]) -> int:
    line_no = i + 1
    instant = _PAT_INSTANT.match(lines[i])
    ranged = None if instant else _PAT_RANGE.match(lines[i])
    if instant is not None:
        mod, at, expr = instant.groups()
        cmd = EvalCmd(line_no, expr, True, _duration(at or "0s", line_no))
    elif ranged is not None:
        mod, start, end, step, expr = ranged.groups()
        cmd = EvalCmd(
            line_no, expr, False, _duration(start, line_no), _duration(end, line_no), _duration(step, line_no)
        )
        if cmd.end_ms < cmd.start_ms:
            raise ScriptError(line_no, "end timestamp is before start timestamp")
    else:
        raise ScriptError(line_no, f"invalid eval command {lines[i]!r}")
    cmd.fail, cmd.warn, cmd.info, cmd.ordered = mod == "fail", mod == "warn", mod == "info", mod == "ordered"
    position = 0
    i += 1
    while i < len(lines) and lines[i]:
        current = lines[i]
        i += 1
        if cmd.fail and current.startswith("expected_fail_message"):
            cmd.expectations.append(Expectation("fail", message=current[len("expected_fail_message") :].strip()))
            break
        if cmd.fail and current.startswith("expected_fail_regexp"):
            cmd.expectations.append(Expectation("fail", regex=current[len("expected_fail_regexp") :].strip()))
            break
        if current.startswith("expect range vector"):
            rv = _PAT_RANGE_VECTOR.match(current)
            if rv is None:
                raise ScriptError(i, f"invalid range vector definition {current!r}")
            start, end, step = (_duration(g, i) for g in rv.groups())
            cmd.range_vector = (start, end, step)
            continue
        if current.startswith("expect string"):
            literal = current[len("expect string") :].strip()
            if not literal:
                raise ScriptError(i, "expect string needs a quoted string literal")
            try:
                cmd.string = unquote(literal)
            except PromQLParseError as exc:
                raise ScriptError(i, f"invalid string literal {literal!r}: {exc}") from None
            continue
        if current.split(" ")[0] == "expect":
            m = _PAT_EXPECT.match(current)
            if m is None:
                raise ScriptError(i, f"invalid expect statement {current!r}")
            kind, how, text = m.groups()
            text = text.strip() if text is not None else None
            cmd.expectations.append(
                Expectation(kind, message=text if how == "msg" else None, regex=text if how == "regex" else None)
            )
            continue
        scalar = _number(current)
        if scalar is not None:
            cmd.scalar = scalar
            break
        if "{{" in current:
            cmd.expected_histograms = True
        position += 1
        selector, values = _split_series(current)
        points = expand_values(values, i)
        if cmd.instant and cmd.range_vector is None and len(points) > 1:
            raise ScriptError(i, "multiple values in an instant evaluation need 'expect range vector'")
        cmd.series.append(ExpectedSeries(parse_series_labels(selector, i), points, position))
    commands.append(cmd)
    return i
