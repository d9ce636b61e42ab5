"""text/template's predefined functions: and, or, not, len, index, slice, print*, eq..., html, js, urlquery, call."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

from metricslib.collector.template.functions import GoFunc
from metricslib.collector.template.gofmt import sprint, sprintf, sprintln
from metricslib.collector.template.values import NO_VALUE, AnyMap, compare, equal, go_type, is_true

__all__ = ["BUILTINS"]


def _and(*args: Callable[[], Any]) -> Any:
    value: Any = None
    for arg in args:
        value = arg()
        if not is_true(value):
            return value
    return value


def _or(*args: Callable[[], Any]) -> Any:
    value: Any = None
    for arg in args:
        value = arg()
        if is_true(value):
            return value
    return value


def _not(value: Any) -> bool:
    return not is_true(value)


def _len(value: Any) -> int:
    if value is None or value is NO_VALUE:
        raise ValueError("len of nil pointer")
    if isinstance(value, str):
        return len(value.encode())  # Go's len counts bytes
    if isinstance(value, (Mapping, list, tuple)):
        return len(value)
    raise ValueError(f"len of type {go_type(value)}")


def _index_of(value: Any, cap: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"cannot index slice/array with type {go_type(value)}")
    if value < 0 or value >= cap:
        raise ValueError(f"index out of range: {value}")
    return value


def _index(item: Any, *indexes: Any) -> Any:
    if item is None or item is NO_VALUE:
        raise ValueError("index of untyped nil")
    for index in indexes:
        if item is None:
            raise ValueError("index of nil pointer")
        if isinstance(item, Mapping):
            if index is None or not isinstance(index, str):
                raise ValueError(f"value has type {go_type(index)}; should be string")
            if index in item:
                item = item[index]
            else:
                string_map = not isinstance(item, AnyMap) and all(
                    isinstance(v, str) for v in item.values()
                )
                item = "" if string_map else NO_VALUE
        elif isinstance(item, str):
            item = item.encode()[_index_of(index, len(item.encode()))]
        elif isinstance(item, (list, tuple)):
            item = item[_index_of(index, len(item))]
        else:
            raise ValueError(f"can't index item of type {go_type(item)}")
    return item


def _slice(item: Any, *indexes: Any) -> Any:
    if item is None or item is NO_VALUE:
        raise ValueError("slice of untyped nil")
    if len(indexes) > 3:
        raise ValueError(f"too many slice indexes: {len(indexes)}")
    if isinstance(item, str):
        if len(indexes) == 3:
            raise ValueError("cannot 3-index slice a string")
        data = item.encode()
        size = len(data)
    elif isinstance(item, (list, tuple)):
        size = len(item)
    else:
        raise ValueError(f"can't slice item of type {go_type(item)}")
    bounds = [0, size]
    for i, index in enumerate(indexes):
        if isinstance(index, bool) or not isinstance(index, int):
            raise ValueError(f"cannot index slice/array with type {go_type(index)}")
        if index < 0 or index > size:
            raise ValueError(f"index out of range: {index}")
        if i < 2:
            bounds[i] = index
    if bounds[0] > bounds[1]:
        raise ValueError(f"invalid slice index: {bounds[0]} > {bounds[1]}")
    if isinstance(item, str):
        return item.encode()[bounds[0] : bounds[1]].decode(errors="replace")
    return list(item[bounds[0] : bounds[1]])


def _eq(first: Any, *others: Any) -> bool:
    if not others:
        raise ValueError("missing argument for comparison")
    try:
        return any(equal(first, other) for other in others)
    except ValueError:
        raise
    except Exception as exc:
        raise ValueError(str(exc)) from None


def _cmp(check: Callable[[int], bool]) -> Callable[[Any, Any], bool]:
    def op(a: Any, b: Any) -> bool:
        try:
            return check(compare(a, b))
        except Exception as exc:
            raise ValueError(str(exc)) from None

    return op


def _ne(a: Any, b: Any) -> bool:
    return not _eq(a, b)


def _text_of(args: tuple[Any, ...]) -> str:
    if len(args) == 1 and isinstance(args[0], str):
        return args[0]
    return sprint(args)


_HTML = {'"': "&#34;", "'": "&#39;", "&": "&amp;", "<": "&lt;", ">": "&gt;", "\0": "\ufffd"}
_JS = {
    "\\": "\\\\",
    "'": "\\'",
    '"': '\\"',
    "<": "\\u003C",
    ">": "\\u003E",
    "&": "\\u0026",
    "=": "\\u003D",
}


def _html(*args: Any) -> str:
    return "".join(_HTML.get(c, c) for c in _text_of(args))


def _js(*args: Any) -> str:
    out = []
    for c in _text_of(args):
        if c in _JS:
            out.append(_JS[c])
        elif c < " ":
            out.append(f"\\u00{ord(c):02X}")
        elif ord(c) >= 0x80 and not c.isprintable():
            out.append(f"\\u{ord(c):04X}")
        else:
            out.append(c)
    return "".join(out)


def _urlquery(*args: Any) -> str:
    return urllib.parse.quote_plus(_text_of(args), safe="")


def _print(*args: Any) -> str:
    return sprint(args)


def _println(*args: Any) -> str:
    return sprintln(args)


def _printf(fmt: str, *args: Any) -> str:
    return sprintf(fmt, args)


def _call(fn: Any, *args: Any) -> Any:
    if fn is None or fn is NO_VALUE:
        raise ValueError("call of nil")
    if isinstance(fn, GoFunc):
        return fn.fn(*args)
    if not callable(fn):
        raise ValueError(f"non-function of type {go_type(fn)}")
    return fn(*args)


BUILTINS: dict[str, GoFunc] = {
    "and": GoFunc(_and, ("any",), "any", lazy=True),
    "or": GoFunc(_or, ("any",), "any", lazy=True),
    "not": GoFunc(_not, ("any",)),
    "len": GoFunc(_len, ("any",)),
    "index": GoFunc(_index, ("any",), "any"),
    "slice": GoFunc(_slice, ("any",), "any"),
    "print": GoFunc(_print, (), "any"),
    "printf": GoFunc(_printf, ("string",), "any"),
    "println": GoFunc(_println, (), "any"),
    "eq": GoFunc(_eq, ("any",), "any"),
    "ne": GoFunc(_ne, ("any", "any")),
    "lt": GoFunc(_cmp(lambda c: c < 0), ("any", "any")),
    "le": GoFunc(_cmp(lambda c: c <= 0), ("any", "any")),
    "gt": GoFunc(_cmp(lambda c: c > 0), ("any", "any")),
    "ge": GoFunc(_cmp(lambda c: c >= 0), ("any", "any")),
    "html": GoFunc(_html, (), "any"),
    "js": GoFunc(_js, (), "any"),
    "urlquery": GoFunc(_urlquery, (), "any"),
    "call": GoFunc(_call, ("any",), "any"),
}
