"""What every discovery mechanism produces: a target group (a source, its targets, shared labels)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["TargetGroup"]


@dataclass(frozen=True)
class TargetGroup:
    source: str
    targets: tuple[tuple[tuple[str, str], ...], ...]
    labels: tuple[tuple[str, str], ...] = ()
