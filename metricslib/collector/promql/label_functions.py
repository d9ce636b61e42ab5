"""``label_replace`` and ``label_join``, with Go's ``$1``/``${name}`` template
expansion and quoting, and the label-name grammar they check.
"""

from __future__ import annotations

from metricslib.collector.model import METRIC_NAME, Labels
from metricslib.collector.model.regex import GoRegexError, compile_go_regex
from metricslib.collector.model.relabel import expand_template
from metricslib.collector.promql.values import Block
from metricslib.errors import QueryExecutionError

__all__ = [
    "label_join",
    "label_replace",
    "valid_label_name",
]


def valid_label_name(name: str) -> bool:
    # Prometheus 3 accepts any valid UTF-8 label name that is not empty.
    if not name:
        return False
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _relabel(block: Block, rows: list[tuple[Labels, bool]]) -> Block:
    out = Block(
        [lbl for lbl, _ in rows],
        block.values.copy(),
        block.present.copy(),
        [drop for _, drop in rows],
    )
    return out.consolidate()


def _set_label(labels: Labels, name: str, value: str) -> Labels:
    d = dict(labels)
    if value:
        d[name] = value
    else:
        d.pop(name, None)
    return tuple(sorted(d.items()))


def label_replace(block: Block, dst: str, repl: str, src: str, regex: str) -> Block:
    try:
        # Prometheus anchors the regex and compiles it with Go's RE2 (linear time).
        pattern = compile_go_regex(regex, dot_matches_newline=True)
    except GoRegexError as exc:
        raise QueryExecutionError(
            f"invalid regular expression in label_replace(): error parsing regexp: {exc}"
        ) from exc
    if not valid_label_name(dst):
        raise QueryExecutionError(f"invalid destination label name in label_replace(): {dst}")
    rows: list[tuple[Labels, bool]] = []
    for lbl, drop in zip(block.labels, block.drop_name, strict=False):
        m = pattern.fullmatch(dict(lbl).get(src, ""))
        if m is None:
            rows.append((lbl, drop))
            continue
        rows.append((_set_label(lbl, dst, expand_template(repl, m)), drop and dst != METRIC_NAME))
    return _relabel(block, rows)


def label_join(block: Block, dst: str, sep: str, srcs: list[str]) -> Block:
    if not valid_label_name(dst):
        raise QueryExecutionError(f"invalid destination label name in label_join(): {dst}")
    rows: list[tuple[Labels, bool]] = []
    for lbl, drop in zip(block.labels, block.drop_name, strict=False):
        d = dict(lbl)
        value = sep.join(d.get(s, "") for s in srcs)
        rows.append((_set_label(lbl, dst, value), drop and dst != METRIC_NAME))
    return _relabel(block, rows)
