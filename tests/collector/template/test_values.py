"""Go's view of Python values: type names, truth, fields, comparisons."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from metricslib.collector.template.values import (
    NO_VALUE,
    CompareError,
    FieldError,
    compare,
    equal,
    go_name,
    go_type,
    is_true,
    lookup_field,
)


@dataclass
class Data:
    labels: dict[str, str]
    external_url: str
    value: float


def test_go_names_of_dataclass_fields() -> None:
    assert [go_name(n) for n in ("labels", "external_labels", "external_url", "value", "api_id")] == [
        "Labels", "ExternalLabels", "ExternalURL", "Value", "APIID",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("value", "name"),
    [(1, "int"), (1.5, "float64"), ("s", "string"), (True, "bool"), (None, "<nil>"), ({"a": "b"}, "map[string]string"),
     ({"a": 1}, "map[string]interface {}"), ([1], "[]interface {}"),
     (Data({}, "", 1.0), "struct { Labels map[string]string; ExternalURL string; Value float64 }")],
)  # fmt: skip
def test_go_type(value: Any, name: str) -> None:
    assert go_type(value) == name


def test_truth() -> None:
    assert not any(is_true(v) for v in (0, 0.0, "", None, NO_VALUE, [], {}, False, ()))
    assert all(is_true(v) for v in (1, -0.5, "0", [0], {"": ""}, True, Data({}, "", 0.0)))


def test_lookup_field() -> None:
    data = Data({"job": "a"}, "u", 2.0)
    assert lookup_field(data, "Labels", missing_zero=False) == {"job": "a"}
    assert lookup_field(data, "ExternalURL", missing_zero=False) == "u"
    assert lookup_field({"job": "a"}, "nope", missing_zero=False) is NO_VALUE
    assert lookup_field({"job": "a"}, "nope", missing_zero=True) == ""
    assert lookup_field(NO_VALUE, "x", missing_zero=True) is NO_VALUE
    with pytest.raises(FieldError, match="can't evaluate field labels in type struct"):
        lookup_field(data, "labels", missing_zero=False)
    with pytest.raises(FieldError, match="can't evaluate field x in type float64"):
        lookup_field(1.5, "x", missing_zero=False)
    with pytest.raises(FieldError, match="job is not a method but has arguments"):
        lookup_field({"job": "a"}, "job", missing_zero=False, has_args=True)


def test_equal_and_compare_follow_go_kinds() -> None:
    assert equal(1, 1) and equal("a", "a") and not equal(1.5, 2.5) and equal(None, NO_VALUE)
    assert not equal(None, "x")
    with pytest.raises(CompareError, match="incompatible types for comparison"):
        equal(1, 1.0)
    with pytest.raises(CompareError, match="non-comparable types"):
        equal({"a": "b"}, {"a": "b"})
    assert compare("a", "b") == -1 and compare(2.0, 1.0) == 1 and compare(3, 3) == 0
    with pytest.raises(CompareError, match="invalid type for comparison"):
        compare(True, False)
