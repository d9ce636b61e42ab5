"""Reading a backfill file: lines in, checked per-series sample arrays out.

Used by ``metricslib import`` (see importer.py for the rules). Speed: a line
whose series text was seen before costs a split and a dict lookup; values and
timestamps are checked and converted in bulk per 8 MB block with one regular
expression and numpy (numbers.py). A new series text goes through the
exposition parser's ``parse_sample_line`` once, and any block with something
unusual (exemplars, special values, odd spacing) is judged by that parser line
by line, so errors carry the parser's message and the file's line number.
"""

from __future__ import annotations

import io
import itertools
import multiprocessing
import os
import re
import threading
from array import array
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import numpy.typing as npt

from metricslib.collector.model import METRIC_NAME, Labels, make_labels
from metricslib.collector.storage.numbers import parse_pairs
from metricslib.collector.textparse.syntax import LineError, parse_sample_line
from metricslib.errors import ParseError

__all__ = ["PARALLEL_BYTES", "read_file_parallel", "read_samples", "spare_cpus"]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
_BLOCK = 8 << 20
# Below this a second process costs more than it saves.
PARALLEL_BYTES = 16 << 20
# The common shapes, checked for a whole block at once; anything else is
# looked at token by token with the parser's own rules.
# Possessive quantifiers: no backtracking, several times faster on 8 MB blocks.
_NUM = r"-?+[0-9]++(?:\.[0-9]++)?+(?:[eE][+-]?+[0-9]++)?+"
_FAST_OM = re.compile(rf"(?:{_NUM} [0-9]{{1,12}}+(?:\.[0-9]{{1,3}}+)?+\n)*+")
_FAST_TEXT = re.compile(rf"(?:{_NUM} -?+[0-9]{{1,15}}+\n)*+")
_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_OM_META = re.compile(
    rf"# (?:TYPE {_NAME} (?:counter|gauge|histogram|gaugehistogram|stateset|info|summary|unknown)"
    rf"|HELP {_NAME}(?: .*)?|UNIT {_NAME} [a-zA-Z0-9_:]*)"
)


class _Blocks:
    """Per-block columns, plus where each block's sample lines are in the file."""

    def __init__(self) -> None:
        self.sids: list[npt.NDArray[np.int32]] = []
        self.ts: list[I64] = []
        self.vs: list[F64] = []
        #: (first line number, line numbers of the block's non-sample lines)
        self.where: list[tuple[int, list[int]]] = []

    def line_of(self, block: int, k: int) -> int:
        """File line of the k-th sample line of a block."""
        first, others = self.where[block]
        line = first + k
        for other in others:  # few: metadata lines
            if other <= line:
                line += 1
        return line

    def global_line(self, i: int) -> int:
        for block, sids in enumerate(self.sids):
            if i < sids.size:
                return self.line_of(block, i)
            i -= int(sids.size)
        return 0


def _convert(
    rests: list[str], om: bool, line_of: Callable[[int], int], key_of: Callable[[int], str]
) -> tuple[F64, I64]:
    """Check and convert one block's "value timestamp" texts."""
    if not rests:
        return np.empty(0, np.float64), np.empty(0, np.int64)
    joined = "\n".join(rests) + "\n"
    if (_FAST_OM if om else _FAST_TEXT).fullmatch(joined):
        parsed = parse_pairs(joined, om)
        if parsed is not None:
            return parsed
        pairs = np.fromstring(joined, dtype=np.float64, sep=" ").reshape(-1, 2)
        vs = np.ascontiguousarray(pairs[:, 0])
        # OpenMetrics: at most 3 decimals and 12 digits, so float64 is far inside 0.5 ms.
        ts = np.rint(pairs[:, 1] * 1000.0).astype(np.int64) if om else pairs[:, 1].astype(np.int64)
        return vs, ts
    # Something unusual in this block (exemplars, odd spacing, special values):
    # rebuild each line and let the full parser judge it.
    out_v: list[float] = []
    out_t: list[int] = []
    for k, rest in enumerate(rests):
        line = f"{key_of(k)} {rest}"
        try:
            sl = parse_sample_line(line, om)
        except LineError as exc:
            raise ParseError(str(exc), line_of(k)) from None
        if sl.timestamp_ms is None:
            raise ParseError(f"sample {sl.key!r} has no timestamp; a backfill needs one", line_of(k))
        out_v.append(sl.value)
        out_t.append(sl.timestamp_ms)
    return np.array(out_v, dtype=np.float64), np.array(out_t, dtype=np.int64)


def _read_blocks(
    f: IO[str], on_progress: Callable[[int], None], first_line: int = 1
) -> Iterator[tuple[int, list[str]]]:
    """(first line number, lines without newline), block by block."""
    carry = ""
    lineno = first_line
    done = 0
    while True:
        chunk = f.read(_BLOCK)
        if not chunk:
            break
        done += len(chunk)
        text = carry + chunk
        cut = text.rfind("\n")
        if cut < 0:
            carry = text
            continue
        lines = text[:cut].split("\n")
        carry = text[cut + 1 :]
        yield lineno, lines
        lineno += len(lines)
        on_progress(done)
    if carry:
        yield lineno, [carry]
    on_progress(done)


@dataclass
class _Part:
    """What one stretch of the file holds, before series are numbered file-wide."""

    labels: list[Labels]
    blocks: _Blocks
    eof_line: int
    first_line: int
    last_line: int  # 0 when the stretch has no lines


def _parse(source: Iterator[tuple[int, list[str]]], om: bool, first_line: int = 1) -> _Part:
    """The line loop; raises ParseError on the first bad line."""
    keys: dict[str, int] = {}
    key_text: dict[int, str] = {}  # a series text per series, to rebuild odd lines
    labels: list[Labels] = []
    by_labels: dict[Labels, int] = {}
    blocks = _Blocks()
    eof_line = 0
    last_line = 0
    for first, lines in source:
        sids = array("i")
        rests: list[str] = []
        others: list[int] = []
        add_sid = sids.append
        add_rest = rests.append
        if eof_line and lines:
            raise ParseError("content after '# EOF'", first)
        for line in lines:
            # The hot path: a series text seen before. Comments and blank lines
            # miss the dict too ("#" and "" are never keys) and are sorted out below.
            key, _, rest = line.partition(" ")
            sid = keys.get(key)
            if sid is not None:
                add_sid(sid)
                add_rest(rest)
                continue
            # Every line so far went to rests or others, so this is its number.
            n = first + len(rests) + len(others)
            if not line or line[0] == "#":
                others.append(n)
                if om:
                    if line == "# EOF":
                        eof_line = n
                        if n != first + len(lines) - 1:
                            raise ParseError("content after '# EOF'", n + 1)
                    elif not line:
                        raise ParseError("blank lines are not allowed in OpenMetrics", n)
                    elif not _OM_META.fullmatch(line):
                        raise ParseError(f"invalid comment or metadata line {line[:60]!r}", n)
                continue
            # A new series text, or a line in an unusual shape: the full parser decides.
            try:
                sl = parse_sample_line(line, om)
            except LineError as exc:
                raise ParseError(str(exc), n) from None
            if sl.timestamp_ms is None:
                raise ParseError(f"sample {sl.key!r} has no timestamp; a backfill needs one", n)
            lab = make_labels([(METRIC_NAME, sl.name), *sl.labels.items()])
            sid = by_labels.get(lab)
            if sid is None:
                sid = by_labels[lab] = len(labels)
                labels.append(lab)
            if sl.key == key and sl.exemplar is None:
                keys[key] = sid  # later lines of this series take the fast path
            add_sid(sid)
            key_text.setdefault(sid, sl.key)
            # Text that converts back to exactly what the parser read.
            ts_text = _ms_to_om(sl.timestamp_ms) if om else str(sl.timestamp_ms)
            add_rest(f"{_value_token(sl.value)} {ts_text}")
        if lines:
            last_line = first + len(lines) - 1
        block = len(blocks.where)
        blocks.where.append((first, others))
        vs, ts = _convert(
            rests,
            om,
            lambda k, b=block: blocks.line_of(b, k),  # type: ignore[misc]
            lambda k, ids=sids: key_text[ids[k]],  # type: ignore[misc]
        )
        blocks.sids.append(np.frombuffer(sids, dtype=np.int32) if sids else np.empty(0, np.int32))
        blocks.ts.append(ts)
        blocks.vs.append(vs)
    return _Part(labels, blocks, eof_line, first_line, last_line)


def _finish(parts: list[_Part], om: bool) -> tuple[list[tuple[Labels, I64, F64]], int]:
    """Number series file-wide, check what spans stretches, group by series."""
    labels: list[Labels] = []
    index: dict[Labels, int] = {}
    blocks = _Blocks()
    eof_line = 0
    last_line = 0
    for part in parts:
        if eof_line and part.last_line:
            raise ParseError("content after '# EOF'", part.first_line)
        eof_line = eof_line or part.eof_line
        last_line = part.last_line or last_line
        for lab in part.labels:
            if lab not in index:
                index[lab] = len(labels)
                labels.append(lab)
        remap = np.array([index[lab] for lab in part.labels], dtype=np.int32)
        blocks.sids.extend(remap[s] if s.size else s for s in part.blocks.sids)
        blocks.ts.extend(part.blocks.ts)
        blocks.vs.extend(part.blocks.vs)
        blocks.where.extend(part.blocks.where)
    if om and not eof_line:
        raise ParseError("OpenMetrics input must end with '# EOF'", last_line)
    return _group(labels, blocks)


def read_samples(
    f: IO[str], fmt: str, on_progress: Callable[[int], None] = lambda n: None
) -> tuple[list[tuple[Labels, I64, F64]], int]:
    """Parse and check a whole file: (series with their samples, exact duplicates
    dropped). Raises ParseError (with its line) on the first problem."""
    om = fmt == "openmetrics"
    return _finish([_parse(_read_blocks(f, on_progress), om)], om)


def _split_points(path: Path, size: int, parts: int) -> list[int]:
    """Byte offsets that cut the file into ``parts`` stretches at line ends."""
    cuts = [0]
    with path.open("rb") as f:
        for i in range(1, parts):
            f.seek(max(cuts[-1], size * i // parts))
            f.readline()
            cuts.append(f.tell())
    cuts.append(size)
    return sorted(set(cuts))


def _parse_range(path: str, start: int, end: int, om: bool) -> _Part | tuple[str, int]:
    """Worker: parse bytes [start, end) of the file; a failure comes back as (message, line)."""
    with open(path, "rb") as f:
        first_line = 1
        pos = 0
        while pos < start:  # line numbers: count the newlines before our stretch
            chunk = f.read(min(_BLOCK, start - pos))
            first_line += chunk.count(b"\n")
            pos += len(chunk)
        data = f.read(end - start)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return (f"not valid UTF-8 (byte {start + exc.start} of the file)", first_line + data.count(b"\n", 0, exc.start))
    try:
        return _parse(_read_blocks(io.StringIO(text), lambda n: None, first_line), om, first_line)
    except ParseError as exc:
        message = str(exc)
        prefix = f"line {exc.line}: "
        return (message[len(prefix) :] if message.startswith(prefix) else message, exc.line)


def spare_cpus() -> int:
    """Parse processes worth starting: CPUs not already kept busy by other work.

    On a saturated machine a second process only adds overhead (measured:
    slower than one process), so the one-minute load average decides."""
    cpus = os.cpu_count() or 1
    try:
        busy = os.getloadavg()[0]
    except OSError:  # pragma: no cover - no load average on this platform
        busy = 0.0
    return max(1, min(4, cpus, int(cpus - busy + 0.5)))


def read_file_parallel(
    path: Path, fmt: str, workers: int, on_progress: Callable[[int], None] = lambda n: None
) -> tuple[list[tuple[Labels, I64, F64]], int]:
    """``read_samples`` for a file on disk, stretches parsed in ``workers`` processes."""
    om = fmt == "openmetrics"
    size = path.stat().st_size
    cuts = _split_points(path, size, workers)
    # fork is cheap (the workers need only this module, already imported) but
    # unsafe once other threads exist; the CLI has none, a server might.
    alone = threading.active_count() == 1
    fork = alone and "fork" in multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if fork else "spawn")
    with ProcessPoolExecutor(max_workers=len(cuts) - 1, mp_context=ctx) as pool:
        futures = [pool.submit(_parse_range, str(path), a, b, om) for a, b in itertools.pairwise(cuts)]
        parts: list[_Part] = []
        for fut, end in zip(futures, cuts[1:], strict=True):
            got = fut.result()
            if isinstance(got, tuple):
                raise ParseError(got[0], got[1])
            parts.append(got)
            on_progress(end)
    return _finish(parts, om)


def _ms_to_om(ms: int) -> str:
    sign, ms = ("-", -ms) if ms < 0 else ("", ms)
    return f"{sign}{ms // 1000}.{ms % 1000:03d}"


def _value_token(v: float) -> str:
    if v != v:
        return "NaN"
    if v in (float("inf"), float("-inf")):
        return "+Inf" if v > 0 else "-Inf"
    return repr(v)


def _group(labels: list[Labels], blocks: _Blocks) -> tuple[list[tuple[Labels, I64, F64]], int]:
    if not labels:
        return [], 0
    sids = np.concatenate(blocks.sids)
    ts = np.concatenate(blocks.ts)
    vs = np.concatenate(blocks.vs)
    order = np.argsort(sids, kind="stable")  # keeps file order within a series
    sids, ts, vs = sids[order], ts[order], vs[order]

    def line(i: int) -> int:
        return blocks.global_line(int(order[i]))

    same_series = sids[1:] == sids[:-1]
    dt = ts[1:] - ts[:-1]
    back = np.flatnonzero(same_series & (dt < 0))
    if back.size:
        i = int(back[0]) + 1
        raise ParseError(
            f"series {_show(labels[int(sids[i])])}: timestamp {int(ts[i])} ms is older than "
            f"{int(ts[i - 1])} ms on line {line(i - 1)}; samples of a series must be in time order",
            line(i),
        )
    dup = same_series & (dt == 0)
    n_dup = int(dup.sum())
    if n_dup:
        bits = vs.view(np.uint64)
        clash = np.flatnonzero(dup & (bits[1:] != bits[:-1]))
        if clash.size:
            i = int(clash[0]) + 1
            raise ParseError(
                f"series {_show(labels[int(sids[i])])}: timestamp {int(ts[i])} ms appears again "
                f"with value {float(vs[i])!r} (line {line(i - 1)} has {float(vs[i - 1])!r})",
                line(i),
            )
        keep = np.ones(ts.size, dtype=bool)
        keep[1:] = ~dup
        sids, ts, vs = sids[keep], ts[keep], vs[keep]
    bounds = np.flatnonzero(sids[1:] != sids[:-1]) + 1
    starts = np.concatenate(([0], bounds)).tolist()
    ends = [*bounds.tolist(), int(sids.size)]
    series = [(labels[int(sids[a])], ts[a:b], vs[a:b]) for a, b in zip(starts, ends, strict=True)]
    return series, n_dup


def _show(labels: Labels) -> str:
    d = dict(labels)
    name = d.pop(METRIC_NAME, "")
    return name + "{" + ",".join(f'{k}="{v}"' for k, v in d.items()) + "}"
