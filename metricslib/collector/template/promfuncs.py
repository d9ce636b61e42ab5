"""Prometheus's template functions (humanize, query, label, ...), with Go's types and texts.

``prometheus_functions`` builds the table Prometheus's ``template.Expander``
installs: numbers formatted exactly as Prometheus formats them (``%.4g``
with SI or binary prefixes), query results as ``*sample`` values
(``TemplateSample``), URL helpers over the external URL. Functions that
take ``interface{}`` in Prometheus accept numbers and numeric strings
(``humanize "1234"``) and fail with Go's ``strconv.ParseFloat`` message.
"""

from __future__ import annotations

import ipaddress
import math
import re
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from metricslib.collector.model.regex import GoMatch, GoRegexError, GoSearch, compile_go_search
from metricslib.collector.template.functions import GoFunc
from metricslib.collector.template.gofmt import format_float, sprintf
from metricslib.collector.template.gotime import GoDuration, GoTime
from metricslib.collector.template.values import AnyMap, go_type

__all__ = [
    "QueryFunc",
    "QueryResult",
    "SafeHTML",
    "TemplateSample",
    "bound_functions",
    "convert_to_float",
    "prometheus_functions",
    "split_host_port",
]


@dataclass(frozen=True)
class TemplateSample:
    """One element of a ``query`` result: Prometheus's template ``sample{Labels, Value}``."""

    labels: Mapping[str, str]
    value: float

    go_type_name: ClassVar[str] = "*template.sample"
    go_pointer: ClassVar[bool] = True


QueryFunc = Callable[[str], "list[TemplateSample]"]


class QueryResult(list[TemplateSample]):
    """What ``query`` returns: Go's ``template.queryResult``."""

    go_type_name = "template.queryResult"


class SafeHTML(str):
    """``safeHtml``'s result, ``html/template.HTML``: in text templates, the string itself."""

    go_type_name = "template.HTML"


_SAMPLE = "*template.sample"
_RESULT = "template.queryResult"
_ACCEPTS: dict[str, Callable[[Any], bool]] = {
    _SAMPLE: lambda v: v is None or isinstance(v, TemplateSample),
    _RESULT: lambda v: isinstance(v, list) and all(isinstance(s, TemplateSample) for s in v),
}
# A float64 literal as strconv reads it (sign and underscores handled apart):
# decimal with optional fraction and exponent, or hexadecimal with a mandatory p exponent.
_GO_FLOAT = re.compile(
    r"(?:[\d_]+\.?[\d_]*|\.[\d_]+)(?:[eE][+-]?[\d_]+)?|0[xX](?:[\da-fA-F_]+\.?[\da-fA-F_]*|\.[\da-fA-F_]+)[pP][+-]?[\d_]+"
)


def _fn(fn: Callable[..., Any], *params: str, variadic: str | None = None) -> GoFunc:
    return GoFunc(fn, tuple(params), variadic, accepts=_ACCEPTS)


def _underscores_ok(text: str) -> bool:
    """Go's rule: an underscore sits between digits, or between a base prefix and a digit."""
    body = text[1:] if text[:1] in "+-" else text
    saw, i, hexa = "^", 0, False
    if len(body) >= 2 and body[0] == "0" and body[1].lower() in "box":
        i, saw, hexa = 2, "0", body[1].lower() == "x"
    for ch in body[i:]:
        if ch.isdigit() or (hexa and ch.lower() in "abcdef"):
            saw = "0"
        elif ch == "_":
            if saw != "0":
                return False
            saw = "_"
        elif saw == "_":
            return False
        else:
            saw = "!"
    return saw != "_"


def parse_go_float(text: str) -> float:
    """Go's ``strconv.ParseFloat(text, 64)``, with its error texts."""
    invalid = ValueError(f'strconv.ParseFloat: parsing "{text}": invalid syntax')
    body = text[1:] if text[:1] in "+-" else text
    negative = text.startswith("-")
    special = body.lower()
    if special in ("inf", "infinity"):
        return -math.inf if negative else math.inf
    if special == "nan" and body == text:
        return math.nan
    if ("_" in body and not _underscores_ok(text)) or not _GO_FLOAT.fullmatch(body):
        raise invalid
    clean = body.replace("_", "")
    value = float.fromhex(clean) if clean[:2].lower() == "0x" else float(clean)
    if math.isinf(value):
        raise ValueError(f'strconv.ParseFloat: parsing "{text}": value out of range')
    return -value if negative else value


def convert_to_float(value: Any) -> float:
    """Prometheus's ``convertToFloat``: float64, ints, numeric strings and durations; anything else is an error."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"can't convert {'<nil>' if value is None else 'bool'} to float")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        return parse_go_float(value)
    if isinstance(value, GoDuration):  # Prometheus 3 reads a time.Duration as seconds
        return value.ns / 1e9
    raise ValueError(f"can't convert {go_type(value)} to float")


def _g4(value: float, suffix: str = "") -> str:
    return format_float(value, "g", 4) + suffix


def humanize(i: Any) -> str:
    v = convert_to_float(i)
    if v == 0 or math.isnan(v) or math.isinf(v):
        return _g4(v)
    if abs(v) >= 1:
        prefix = ""
        for p in ("k", "M", "G", "T", "P", "E", "Z", "Y"):
            if abs(v) < 1000:
                break
            prefix = p
            v /= 1000
        return _g4(v, prefix)
    prefix = ""
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(v) >= 1:
            break
        prefix = p
        v *= 1000
    return _g4(v, prefix)


def humanize1024(i: Any) -> str:
    v = convert_to_float(i)
    if abs(v) <= 1 or math.isnan(v) or math.isinf(v):
        return _g4(v)
    prefix = ""
    for p in ("ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"):
        if abs(v) < 1024:
            break
        prefix = p
        v /= 1024
    return _g4(v, prefix)


def humanize_duration(i: Any) -> str:
    v = convert_to_float(i)
    if math.isnan(v) or math.isinf(v):
        return _g4(v)
    if v == 0:
        return _g4(v, "s")
    if abs(v) >= 1:
        sign = "-" if v < 0 else ""
        v = abs(v)
        whole = int(v)
        seconds, minutes = whole % 60, (whole // 60) % 60
        hours, days = (whole // 3600) % 24, whole // 86400
        if days:
            return f"{sign}{days}d {hours}h {minutes}m {seconds}s"
        if hours:
            return f"{sign}{hours}h {minutes}m {seconds}s"
        if minutes:
            return f"{sign}{minutes}m {seconds}s"
        return sign + _g4(v, "s")
    prefix = ""
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(v) >= 1:
            break
        prefix = p
        v *= 1000
    return _g4(v, prefix + "s")


def humanize_percentage(i: Any) -> str:
    return _g4(convert_to_float(i) * 100, "%")


def _float_to_time(v: float) -> GoTime:
    ns = v * 1e9
    if ns > 2**63 - 1 or ns < -(2**63):
        raise ValueError(
            f"{sprintf('%v', [v])} cannot be represented as a nanoseconds timestamp since it overflows int64"
        )
    return GoTime(
        int(int(ns) / 1_000_000)
    )  # model.TimeFromUnixNano: nanoseconds to milliseconds, truncated


def humanize_timestamp(i: Any) -> str:
    v = convert_to_float(i)
    if math.isnan(v) or math.isinf(v):
        return _g4(v)
    return _float_to_time(v).go_string()


def to_time(i: Any) -> GoTime:
    v = convert_to_float(i)
    if math.isnan(v) or math.isinf(v):
        raise ValueError(f"cannot convert {sprintf('%v', [v])} to time.Time")
    return _float_to_time(v)


def to_duration(i: Any) -> GoDuration:
    v = convert_to_float(i)
    if math.isnan(v) or math.isinf(v):
        raise ValueError(f"cannot convert {sprintf('%v', [v])} to time.Duration")
    return GoDuration(int(v * 1e9))


_DURATION = re.compile(
    r"(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?"
)
_UNIT_MS = (365 * 86400_000, 7 * 86400_000, 86400_000, 3600_000, 60_000, 1000, 1)


def parse_duration(text: str) -> float:
    """Prometheus's duration syntax (``1h30m``, ``90s``, ``1w``) in seconds."""
    if text == "":
        raise ValueError("empty duration string")
    if text == "0":
        return 0.0
    m = _DURATION.fullmatch(text)
    if m is None or not any(m.groups()):
        raise ValueError(f'not a valid duration string: "{text}"')
    ms = sum(int(g) * unit for g, unit in zip(m.groups(), _UNIT_MS, strict=True) if g)
    if ms >= 2**63 // 1_000_000:
        raise ValueError(f'duration out of range: "{text}"')
    return ms / 1000


def _compile(pattern: str) -> GoSearch:
    try:
        return compile_go_search(pattern)
    except GoRegexError as exc:
        raise ValueError(f"error parsing regexp: {exc}") from None


_REPL_TOKEN = re.compile(r"\$(?:\$|\{(\w+)\}|(\w+))")


def _expand(m: GoMatch, repl: str) -> str:
    """Go's ``Regexp.Expand``: ``$1``, ``${1}``, ``$name``, ``$$``; unknown or unmatched groups are empty.

    As in Go, ``$1x`` names group ``1x`` (empty), not group 1 followed by x.
    """

    def group(t: re.Match[str]) -> str:
        if t.group(0) == "$$":
            return "$"
        name = t.group(1) or t.group(2)
        try:
            value = m.group(int(name)) if name.isdigit() else m.group(name)
        except IndexError:
            return ""
        return value or ""

    return _REPL_TOKEN.sub(group, repl)


def re_replace_all(pattern: str, repl: str, text: str) -> str:
    try:
        compiled = compile_go_search(pattern)
    except GoRegexError as exc:
        # regexp.MustCompile panics; text/template reports the panic as the call's error.
        raise ValueError(
            f"regexp: Compile({_backquote(pattern)}): error parsing regexp: {exc}"
        ) from None
    return compiled.replace_all(text, lambda m: _expand(m, repl))


def _backquote(text: str) -> str:
    return f"`{text}`" if "`" not in text else '"' + text.replace('"', '\\"') + '"'


def match(pattern: str, text: str) -> bool:
    return _compile(pattern).search(text)


def _is_separator(ch: str) -> bool:
    # strings.Title's rule: ASCII letters, digits and '_' join a word; other ASCII separates;
    # beyond ASCII, letters and digits join and spaces separate.
    if ord(ch) <= 0x7F:
        return not (ch.isalnum() or ch == "_")
    if ch.isalpha() or ch.isdigit():
        return False
    return ch.isspace()


def title(text: str) -> str:
    out, prev = [], " "
    for ch in text:
        out.append(_simple_case(ch, str.title) if _is_separator(prev) else ch)
        prev = ch
    return "".join(out)


def _query_escape(text: str) -> str:
    return urllib.parse.quote_plus(text, safe="")


def graph_link(expr: str) -> str:
    return f"/graph?g0.expr={_query_escape(expr)}&g0.tab=0"


def table_link(expr: str) -> str:
    return f"/graph?g0.expr={_query_escape(expr)}&g0.tab=1"


def split_host_port(host_port: str) -> tuple[str, str] | None:
    """Go's ``net.SplitHostPort``; None where Go returns an error."""
    if host_port.startswith("["):
        end = host_port.find("]")
        if end < 0 or host_port[end + 1 : end + 2] != ":":
            return None
        host, port = host_port[1:end], host_port[end + 2 :]
        if "[" in host or "]" in port or "[" in port:
            return None
        return host, port
    i = host_port.rfind(":")
    if i < 0:
        return None
    host, port = host_port[:i], host_port[i + 1 :]
    if ":" in host or "[" in host_port or "]" in host_port:
        return None
    return host, port


def strip_port(host_port: str) -> str:
    split = split_host_port(host_port)
    return host_port if split is None else split[0]


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return "%" not in host


def strip_domain(host_port: str) -> str:
    split = split_host_port(host_port)
    host, port = (host_port, "") if split is None else split
    if _is_ip(host):
        return host_port
    host = host.split(".")[0]
    if port:
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return host


def _first(result: list[TemplateSample]) -> TemplateSample:
    if result:
        return result[0]
    raise ValueError("first() called on vector with no elements")


_NIL_POINTER = "runtime error: invalid memory address or nil pointer dereference"


def _deref(sample: TemplateSample | None) -> TemplateSample:
    # Prometheus dereferences the *sample without a check: nil is a recovered panic.
    if sample is None:
        raise ValueError(_NIL_POINTER)
    return sample


def _label(name: str, sample: TemplateSample | None) -> str:
    return _deref(sample).labels.get(name, "")


def _value(sample: TemplateSample | None) -> float:
    return float(_deref(sample).value)


def _strvalue(sample: TemplateSample | None) -> str:
    return _deref(sample).labels.get("__value__", "")


def _sort_by_label(name: str, result: list[TemplateSample]) -> QueryResult:
    return QueryResult(sorted(result, key=lambda s: s.labels.get(name, "")))


def _args(*values: Any) -> AnyMap:
    return AnyMap({f"arg{i}": v for i, v in enumerate(values)})


def _simple_case(text: str, convert: Callable[[str], str]) -> str:
    """Go maps each rune by Unicode's simple case mapping: one rune in, one rune out (ß stays ß)."""
    out = []
    for ch in text:
        mapped = convert(ch)
        if len(mapped) != 1:
            mapped = "i" if ch == "\u0130" and convert is str.lower else ch
        out.append(mapped)
    return "".join(out)


def to_upper(text: str) -> str:
    return text.upper() if text.isascii() else _simple_case(text, str.upper)


def to_lower(text: str) -> str:
    return text.lower() if text.isascii() else _simple_case(text, str.lower)


_STATIC: dict[str, GoFunc] = {
    "first": _fn(_first, _RESULT),
    "label": _fn(_label, "string", _SAMPLE),
    "value": _fn(_value, _SAMPLE),
    "strvalue": _fn(_strvalue, _SAMPLE),
    "args": _fn(_args, variadic="any"),
    "reReplaceAll": _fn(re_replace_all, "string", "string", "string"),
    "safeHtml": _fn(SafeHTML, "string"),
    "match": _fn(match, "string", "string"),
    "title": _fn(title, "string"),
    "toUpper": _fn(to_upper, "string"),
    "toLower": _fn(to_lower, "string"),
    "graphLink": _fn(graph_link, "string"),
    "tableLink": _fn(table_link, "string"),
    "sortByLabel": _fn(_sort_by_label, "string", _RESULT),
    "humanize": _fn(humanize, "any"),
    "humanize1024": _fn(humanize1024, "any"),
    "humanizeDuration": _fn(humanize_duration, "any"),
    "humanizePercentage": _fn(humanize_percentage, "any"),
    "humanizeTimestamp": _fn(humanize_timestamp, "any"),
    "toTime": _fn(to_time, "any"),
    "toDuration": _fn(to_duration, "any"),
    "parseDuration": _fn(parse_duration, "string"),
    "stripPort": _fn(strip_port, "string"),
    "stripDomain": _fn(strip_domain, "string"),
}


def prometheus_functions(
    *, query: QueryFunc | None = None, external_url: str = "", path_prefix: str | None = None
) -> dict[str, GoFunc]:
    """The function table of Prometheus's text-mode template expander.

    ``path_prefix`` defaults to the external URL's path, as Prometheus's
    ``pathPrefix`` does.
    """
    return {
        **_STATIC,
        **bound_functions(query=query, external_url=external_url, path_prefix=path_prefix),
    }


def bound_functions(
    *, query: QueryFunc | None = None, external_url: str = "", path_prefix: str | None = None
) -> dict[str, GoFunc]:
    """The functions bound to one expansion (its query and URLs); the rest never change."""

    def run_query(q: str) -> QueryResult:
        if query is None:
            raise ValueError("no query function is available to this template")
        return QueryResult(query(q))

    prefix = urllib.parse.urlsplit(external_url).path if path_prefix is None else path_prefix
    return {
        "query": _fn(run_query, "string"),
        "pathPrefix": _fn(lambda: prefix),
        "externalURL": _fn(lambda: external_url),
    }
