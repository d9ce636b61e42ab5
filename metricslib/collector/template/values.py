"""Go's view of Python values: type names, truth, field access, comparison.

Templates run over Python values standing in for Go's: ``str`` is
``string``, ``int`` is ``int``, ``float`` is ``float64``, ``bool`` is
``bool``, ``None`` is ``nil``, a ``Mapping`` is a map, a list or tuple is a
slice, and a dataclass is a struct whose Go field names are its field names
in CamelCase (``external_url`` is ``.ExternalURL``). ``NO_VALUE`` is Go's
invalid value (what a missing key gives; it prints as ``<no value>``).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from typing import Any

__all__ = [
    "NO_VALUE", "AnyMap", "CompareError", "FieldError", "GoStringer", "NoValue", "compare", "equal",
    "go_fields", "go_name", "go_type", "is_true", "lookup_field",
]  # fmt: skip

_INITIALISMS = {"url": "URL", "id": "ID", "http": "HTTP", "api": "API", "ip": "IP"}


class NoValue:
    """Go's invalid ``reflect.Value``: a missing map key without ``missingkey=zero``."""

    _instance: NoValue | None = None

    def __new__(cls) -> NoValue:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<no value>"


NO_VALUE = NoValue()


class AnyMap(dict[str, Any]):
    """A Go ``map[string]interface{}``: a missing key is nil (``<no value>``), never ""."""

    go_type_name = "map[string]interface {}"


class GoStringer:
    """A value with a Go ``String()`` method: fmt prints ``go_string()`` for ``%v`` and ``%s``."""

    go_type_name = "fmt.Stringer"

    def go_string(self) -> str:
        raise NotImplementedError


def go_name(field_name: str) -> str:
    """``external_url`` -> ``ExternalURL``: the exported Go name of a dataclass field."""
    return "".join(_INITIALISMS.get(p, p[:1].upper() + p[1:]) for p in field_name.split("_") if p)


def go_fields(obj: Any) -> dict[str, str] | None:
    """Go field name -> Python attribute of a dataclass instance (None for other values)."""
    if not dataclasses.is_dataclass(obj) or isinstance(obj, type):
        return None
    return _struct_fields(type(obj))


@functools.lru_cache(maxsize=256)
def _struct_fields(cls: type) -> dict[str, str]:
    return {go_name(f.name): f.name for f in dataclasses.fields(cls)}


def go_type(value: Any) -> str:
    """The Go type name Go would print for ``value`` (``%T`` and error messages)."""
    if value is None:
        return "<nil>"
    if value is NO_VALUE:
        return "<invalid reflect.Value>"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return getattr(value, "go_type_name", "string")
    name = getattr(value, "go_type_name", None)
    if isinstance(name, str):
        return name
    if isinstance(value, Mapping):
        if all(isinstance(v, str) for v in value.values()):
            return "map[string]string"
        return "map[string]interface {}"
    if isinstance(value, (list, tuple)):
        return "[]interface {}"
    if callable(value):
        return "func(...interface {}) (interface {}, error)"
    fields = go_fields(value)
    if fields is not None:
        inner = "; ".join(f"{g} {go_type(getattr(value, p))}" for g, p in fields.items())
        return f"struct {{ {inner} }}"
    return type(value).__name__


def is_true(value: Any) -> bool:
    """Go's truth for if/with/and/or/not: false, 0, "", nil and empty collections are false."""
    if value is None or value is NO_VALUE:
        return False
    if isinstance(value, (bool, int, float, str)):
        return bool(value)
    if isinstance(value, (Mapping, list, tuple)):
        return len(value) > 0
    return True  # structs, pointers, functions


class FieldError(Exception):
    """Why a field cannot be read; the executor adds Go's location prefix."""


def lookup_field(receiver: Any, name: str, *, missing_zero: bool, has_args: bool = False) -> Any:
    """``receiver.name`` as Go's text/template evaluates a field or map key."""
    if receiver is NO_VALUE:
        return NO_VALUE
    if receiver is None:
        raise FieldError(f"nil pointer evaluating interface {{}}.{name}")
    if isinstance(receiver, Mapping):
        if has_args:
            raise FieldError(f"{name} is not a method but has arguments")
        if name in receiver:
            return receiver[name]
        if not missing_zero or isinstance(receiver, AnyMap):
            return NO_VALUE
        # The zero value of the map's element type: "" for map[string]string.
        return "" if all(isinstance(v, str) for v in receiver.values()) else NO_VALUE
    fields = go_fields(receiver)
    if fields is not None and name in fields:
        if has_args:
            raise FieldError(f"{name} has arguments but cannot be invoked as function")
        return getattr(receiver, fields[name])
    method = getattr(receiver, "go_methods", None)
    if isinstance(method, Mapping) and name in method:
        return method[name]
    raise FieldError(f"can't evaluate field {name} in type {go_type(receiver)}")


class CompareError(Exception):
    """Go's comparison errors (incompatible types, non-comparable values)."""


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if value is None or value is NO_VALUE:
        return "nil"
    return "other"


def equal(a: Any, b: Any) -> bool:
    """Go's ``eq`` for two values: basic kinds compare by kind (ints and floats do not mix)."""
    ka, kb = _kind(a), _kind(b)
    if ka == "nil" or kb == "nil":
        return ka == kb
    if ka != kb:
        raise CompareError("incompatible types for comparison")
    if ka == "other":
        if isinstance(a, (Mapping, list, tuple)) or isinstance(b, (Mapping, list, tuple)):
            raise CompareError(f"non-comparable types {go_type(a)}, {go_type(b)}")
        return a is b or bool(a == b)
    return bool(a == b)


def compare(a: Any, b: Any) -> int:
    """Go's ordering for ``lt``/``le``/``gt``/``ge``: -1, 0 or 1; basic kinds only."""
    ka, kb = _kind(a), _kind(b)
    if ka in ("bool", "nil", "other") or kb in ("bool", "nil", "other"):
        raise CompareError("invalid type for comparison")
    if ka != kb:
        raise CompareError("incompatible types for comparison")
    if a < b:
        return -1
    return 1 if a > b else 0
