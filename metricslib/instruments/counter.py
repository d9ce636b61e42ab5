"""Counter: a value that only goes up (or is reset), without a lock on the hot path.

Each thread adds into its own cell (a one-element list, see ``CellsChild``),
so ``cell[0] += amount`` never races with another writer; collection sums
the cells, and no count is ever dropped.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from threading import get_ident
from typing import Any

from metricslib.errors import InvalidValueError
from metricslib.instruments._base import CellsChild, MetricBase, series_text
from metricslib.instruments._timing import ExceptionCounter
from metricslib.model import (
    Exemplar,
    MetricFamily,
    Sample,
    escape_help,
    exemplar_text,
    format_value,
    validate_exemplar,
)

__all__ = ["Counter", "CounterChild"]


def _cells_total(cells: list[list[float]]) -> float:
    total = 0.0
    for cell in cells:
        total += cell[0]
    return total


class CounterChild(CellsChild):
    """One labelled series of a Counter."""

    __slots__ = ("_created", "_exemplar", "_line", "_line_value", "_metric")

    def __init__(self, metric: str, labelnames: Sequence[str], labelvalues: tuple[str, ...]) -> None:
        super().__init__(labelnames, labelvalues)
        self._metric = metric
        self._created = time.time()
        self._exemplar: Exemplar | None = None
        # Rendered text line of the last exposition, and the value it shows.
        self._line: str | None = None
        self._line_value = 0.0

    def inc(self, amount: float = 1.0, exemplar: Mapping[str, str] | None = None) -> None:
        """Add ``amount`` (>= 0); ``exemplar`` labels link this increment to a trace."""
        if amount < 0.0:  # a float constant keeps the comparison on the specialised float path
            raise InvalidValueError(
                f"counter {self._metric!r} can only increase: got inc({amount!r}); use a Gauge"
            )
        try:
            self._cells[get_ident()][0] += amount
        except KeyError:  # this thread's first increment of this series
            self._claim([0.0])[0] += amount
        if exemplar is not None:
            self._exemplar = Exemplar(validate_exemplar(exemplar, self._metric), amount, time.time())

    def get(self) -> float:
        """Current value (sum of every thread's cell)."""
        return _cells_total(self._cell_list)

    def reset(self) -> None:
        """Start again from zero (and a new ``_created`` time)."""
        self._created = time.time()
        self._reset_cells(self._created)
        self._exemplar = None

    def count_exceptions(
        self, exception: type[BaseException] | tuple[type[BaseException], ...] = Exception
    ) -> ExceptionCounter:
        """Context manager / decorator counting exceptions of type ``exception``."""
        return ExceptionCounter(self.inc, exception)


class Counter(MetricBase[CounterChild]):
    """A monotonically increasing count, exposed as ``<name>_total``.

    The name may be given with or without ``_total``; the family name never
    has it and the sample always does, as in ``prometheus_client``.
    """

    _type = "counter"
    _fast_text = True
    _child_methods = ("inc", "reset", "count_exceptions", "get")

    def _make_child(self, labelvalues: tuple[str, ...]) -> CounterChild:
        return CounterChild(self._name, self._labelnames, labelvalues)

    def inc(self, amount: float = 1.0, exemplar: Mapping[str, str] | None = None) -> None:
        raise self._needs_labels("inc")

    def reset(self) -> None:
        raise self._needs_labels("reset")

    def count_exceptions(
        self, exception: type[BaseException] | tuple[type[BaseException], ...] = Exception
    ) -> ExceptionCounter:
        raise self._needs_labels("count_exceptions")

    def get(self) -> float:
        raise self._needs_labels("get")

    def _child_samples(self, child: CounterChild, family: MetricFamily) -> None:
        family.samples.append(
            Sample(self._name + "_total", dict(child._labels), child.get(), None, child._exemplar)
        )
        family.samples.append(Sample(self._name + "_created", dict(child._labels), child._created))

    def _prefixes(self, child: CounterChild, defaults: Mapping[str, str]) -> tuple[Any, ...]:
        """(defaults, ``name_total{...} ``, ``name_created{...} ``), cached on the child."""
        cache = child._text_cache
        if cache is None or cache[0] is not defaults:
            text = series_text(child._labels, defaults)[0]
            inner = f"{{{text}}} " if text else " "
            cache = child._text_cache = (defaults, f"{self._name}_total{inner}", f"{self._name}_created{inner}")
            child._line = None
        return cache

    def _write_text(self, out: list[str], defaults: Mapping[str, str]) -> None:
        name = self._name + "_total"
        out.append(f"# HELP {name} {escape_help(self._documentation)}\n# TYPE {name} counter\n")
        for child in self._snapshot():
            cache = child._text_cache
            if cache is None or cache[0] is not defaults:
                cache = self._prefixes(child, defaults)
            cells = child._cell_list
            total = cells[0][0] if len(cells) == 1 else _cells_total(cells)
            # Large registries are mostly idle series: reuse the line when the value is unchanged.
            if child._line_value != total or child._line is None:
                value = repr(total)
                # Only inf/nan (ending in 'f'/'n') and long numbers need Go-style rewriting.
                if len(value) > 8 or value[-1] in "fn":
                    value = format_value(total)
                child._line = f"{cache[1]}{value}\n"
                child._line_value = total
            out.append(child._line)

    def _write_openmetrics(self, out: list[str], defaults: Mapping[str, str], created: bool) -> None:
        out.append(self._om_header())
        for child in self._snapshot():
            _, total_prefix, created_prefix = self._prefixes(child, defaults)
            exemplar = child._exemplar
            suffix = "" if exemplar is None else exemplar_text(exemplar)
            out.append(f"{total_prefix}{format_value(child.get())}{suffix}\n")
            if created:
                out.append(f"{created_prefix}{format_value(child._created)}\n")
