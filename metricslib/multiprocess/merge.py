"""Pure merging of per-worker metric snapshots (no I/O, no processes).

A snapshot is what one worker's registry collected, reduced to plain data so it
can travel over a socket or sit in a file (``marshal``: about five times
faster than JSON both ways; every process of a run is the same interpreter,
and only our own files and sockets are ever read). ``merge`` folds the live
workers' snapshots and the archive of dead workers into one list of families;
``fold_into_archive`` adds a dead worker's last snapshot to the archive,
keeping what must survive the worker (counters, histograms, ``sum``/``max``/
``min``/``mostrecent`` gauges) and dropping what must not (``live*`` and
``all`` gauges, per-process metrics).
"""

from __future__ import annotations

import marshal
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import MultiprocessError

__all__ = [
    "GAUGE_MODES",
    "FamilyData",
    "SampleData",
    "Snapshot",
    "dumps_collected",
    "dumps_families",
    "families_from_collect",
    "fold_into_archive",
    "loads_families",
    "merge",
    "mode_for",
]

#: Every gauge mode ``set_gauge_mode`` accepts. ``live*`` modes and ``all``
#: forget a worker when it dies; the others keep its last value.
GAUGE_MODES = frozenset(
    {
        "all",
        "liveall",
        "sum",
        "livesum",
        "max",
        "livemax",
        "min",
        "livemin",
        "mostrecent",
        "livemostrecent",
    }
)

_SUMMED_TYPES = frozenset({"counter", "histogram", "gaugehistogram", "summary"})
_PER_PROCESS_PREFIXES = ("process_", "python_")

LabelKey = tuple[tuple[str, str], ...]


@dataclass(slots=True)
class SampleData:
    """One sample; ``changed`` is when its value was last seen to change (mostrecent)."""

    name: str
    labels: dict[str, str]
    value: float
    timestamp: float | None = None
    changed: float = 0.0
    exemplar: Any = None  # always None after a merge; kept so renderers can read it

    def key(self) -> tuple[str, LabelKey]:
        # Workers run the same code, so a series' labels come in the same order everywhere.
        return self.name, tuple(self.labels.items())


@dataclass
class FamilyData:
    """A metric family as plain data, shaped like the SDK's families for the renderers."""

    name: str
    type: str
    documentation: str = ""
    unit: str = ""
    samples: list[SampleData] = field(default_factory=list)


@dataclass
class Snapshot:
    """What one worker reported: its pid and families; ``live`` says if it still runs."""

    pid: int
    families: list[FamilyData]
    live: bool = True


def mode_for(name: str, type_: str, modes: Mapping[str, str]) -> str:
    """The merge rule for a family: an explicit mode wins, else a default by type.

    Counters and histograms are summed; per-process families (``process_*``,
    ``python_*``) stay one series per live worker; gauges default to ``all``
    (one series per live worker, labelled ``pid``) like prometheus_client.
    """
    explicit = modes.get(name)
    if explicit is not None:
        return explicit
    if name.startswith(_PER_PROCESS_PREFIXES):
        return "liveall"
    if type_ in _SUMMED_TYPES:
        return "sum"
    if type_ == "info":
        return "union"
    return "all"


def _combine(mode: str, old: SampleData, new: SampleData) -> None:
    """Fold ``new`` into ``old`` in place according to ``mode``."""
    base = mode[4:] if mode.startswith("live") else mode
    if old.name.endswith("_created"):
        # A series exists since its earliest worker created it.
        old.value = min(old.value, new.value)
    elif base == "sum":
        old.value += new.value
    elif base in ("max", "union"):
        if new.value > old.value or math.isnan(old.value):
            old.value = new.value
    elif base == "min":
        if new.value < old.value or math.isnan(old.value):
            old.value = new.value
    elif base == "mostrecent":
        if new.changed >= old.changed:
            old.value = new.value
            old.changed = new.changed
    else:  # pragma: no cover - modes are validated before they get here
        raise MultiprocessError(f"unknown merge mode {mode!r}")


def _family_samples(family: FamilyData) -> Iterable[SampleData]:
    if family.type == "summary":
        # Quantiles of different workers cannot be combined into true quantiles.
        return (s for s in family.samples if "quantile" not in s.labels)
    return family.samples


def _add_positionally(samples: list[SampleData], merged: list[SampleData], created: str) -> int:
    """Sum ``samples`` into ``merged`` while both list the same series in the same order.

    Workers run the same code, so their families almost always line up: this
    skips building and hashing a key per sample. Returns how many were added;
    the caller handles the rest by key.
    """
    n = 0
    for sample, existing in zip(samples, merged, strict=False):
        if sample.name != existing.name or sample.labels != existing.labels:
            break
        if sample.name == created:
            if sample.value < existing.value:
                existing.value = sample.value
        else:
            existing.value += sample.value
        n += 1
    return n


def merge(
    snapshots: Sequence[Snapshot],
    archive: Sequence[FamilyData],
    modes: Mapping[str, str],
    pid_label: str = "pid",
) -> list[FamilyData]:
    """One list of families: the live snapshots (and stale ones) plus the archive."""
    out: dict[str, FamilyData] = {}
    # Keyed lookups are built only for families whose workers do not line up.
    index: dict[str, dict[tuple[str, LabelKey], SampleData]] = {}

    def keyed(merged: FamilyData) -> dict[tuple[str, LabelKey], SampleData]:
        seen = index.get(merged.name)
        if seen is None:
            seen = {(s.name, tuple(s.labels.items())): s for s in merged.samples}
            index[merged.name] = seen
        return seen

    def add(family: FamilyData, pid: int | None, from_archive: bool) -> None:
        mode = mode_for(family.name, family.type, modes)
        if from_archive and (mode.startswith("live") or mode == "all"):
            return
        per_pid = mode in ("all", "liveall")
        pid_text = str(pid)
        samples = list(_family_samples(family))
        merged = out.get(family.name)
        if merged is None:
            merged = FamilyData(family.name, family.type, family.documentation, family.unit)
            out[family.name] = merged
            merged.samples = [
                SampleData(
                    s.name,
                    {**s.labels, pid_label: pid_text} if per_pid else s.labels,
                    s.value,
                    s.timestamp,
                    s.changed,
                )
                for s in samples
            ]
            return
        start = 0
        if not per_pid and mode in ("sum", "livesum"):
            start = _add_positionally(samples, merged.samples, family.name + "_created")
            if start == len(samples):
                return
        seen = keyed(merged)
        for sample in samples[start:]:
            labels = sample.labels
            if per_pid:
                labels = {**labels, pid_label: pid_text}
            key = (sample.name, tuple(labels.items()))
            existing = seen.get(key)
            if existing is None:
                copy = SampleData(
                    sample.name, labels, sample.value, sample.timestamp, sample.changed
                )
                seen[key] = copy
                merged.samples.append(copy)
            else:
                _combine(mode, existing, sample)

    for snap in snapshots:
        for family in snap.families:
            add(family, snap.pid, from_archive=not snap.live)
    for family in archive:
        add(family, None, from_archive=True)
    return list(out.values())


def fold_into_archive(
    archive: Sequence[FamilyData], dead: Sequence[FamilyData], modes: Mapping[str, str]
) -> list[FamilyData]:
    """The archive after a dead worker's last snapshot is added to it."""
    return merge(
        [Snapshot(0, list(archive), live=False), Snapshot(0, list(dead), live=False)], [], modes
    )


# --- encoding -----------------------------------------------------------------------------


def _family_to_data(f: FamilyData) -> dict[str, Any]:
    return {
        "n": f.name,
        "t": f.type,
        "h": f.documentation,
        "u": f.unit,
        "s": [
            [s.name, s.labels, s.value, s.timestamp, s.changed]
            if s.timestamp is not None or s.changed
            else [s.name, s.labels, s.value]
            for s in f.samples
        ],
    }


def dumps_families(families: Iterable[FamilyData], **extra: Any) -> bytes:
    """Bytes for ``families`` (NaN and infinities survive the trip)."""
    doc = {"v": 1, **extra, "families": [_family_to_data(f) for f in families]}
    return _dumps(doc)


def _plain(obj: Any) -> Any:
    """``obj`` rebuilt from exact built-in types (marshal refuses subclasses)."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, str):
        return str(obj)
    if obj is None or isinstance(obj, bool):
        return obj
    if isinstance(obj, (int, float)) or hasattr(obj, "__float__"):
        return float(obj)
    return str(obj)


def _dumps(doc: dict[str, Any]) -> bytes:
    try:
        return marshal.dumps(doc)
    except ValueError:
        # A custom collector handed us e.g. numpy floats or str subclasses.
        return marshal.dumps(_plain(doc))


def dumps_collected(
    collected: Iterable[Any],
    changed: Callable[[str, Any], float] | None,
    wants_changed: Callable[[str, str], bool],
    **extra: Any,
) -> bytes:
    """Like ``dumps_families`` but straight from a registry's ``collect()``.

    Skips building ``SampleData`` objects: a worker answers a scrape with the
    least work. ``changed(family_name, sample)`` dates a sample for the
    families where ``wants_changed(name, type)`` (the ``mostrecent`` modes).
    """
    out = []
    for fam in collected:
        if changed is not None and wants_changed(fam.name, fam.type):
            rows = [
                [s.name, s.labels, s.value, s.timestamp, changed(fam.name, s)] for s in fam.samples
            ]
        else:
            # The short form: most samples have no timestamp and no change time.
            rows = [
                [s.name, s.labels, s.value]
                if s.timestamp is None
                else [s.name, s.labels, s.value, s.timestamp, 0.0]
                for s in fam.samples
            ]
        out.append({"n": fam.name, "t": fam.type, "h": fam.documentation, "u": fam.unit, "s": rows})
    doc = {"v": 1, **extra, "families": out}
    return _dumps(doc)


def loads_families(
    data: bytes, source: str = "snapshot"
) -> tuple[list[FamilyData], dict[str, Any]]:
    """Families and the other top-level keys; ``source`` names the file in errors."""
    try:
        doc = marshal.loads(data)
        families = [
            FamilyData(
                f["n"],
                f["t"],
                f["h"],
                f["u"],
                [
                    SampleData(s[0], s[1], float(s[2]))
                    if len(s) == 3
                    else SampleData(s[0], s[1], float(s[2]), s[3], float(s[4]))
                    for s in f["s"]
                ],
            )
            for f in doc["families"]
        ]
        extra = {k: v for k, v in doc.items() if k != "families"}
    except (ValueError, EOFError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise MultiprocessError(f"{source}: not a metricslib snapshot ({exc})") from exc
    return families, extra


def families_from_collect(collected: Iterable[Any]) -> list[FamilyData]:
    """Plain-data copies of what a registry's ``collect()`` yielded."""
    out: list[FamilyData] = []
    for fam in collected:
        samples = [
            SampleData(
                s.name,
                dict(s.labels),
                float(s.value),
                None if s.timestamp is None else float(s.timestamp),
            )
            for s in fam.samples
        ]
        out.append(
            FamilyData(
                str(fam.name),
                str(fam.type),
                str(getattr(fam, "documentation", "") or ""),
                str(getattr(fam, "unit", "") or ""),
                samples,
            )
        )
    return out
