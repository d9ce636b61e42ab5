"""What the scrape loop needs from a parser, and the default one.

The loop hands the parser its label cache as the set of known series keys, so
lines of known series take :class:`~metricslib.collector.textparse.formats.ScrapeParser`'s
fast path (a split and a ``float()``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from metricslib.collector.model import Labels
from metricslib.errors import ParseError

__all__ = ["ExpositionParser", "Meta", "Parsed", "ParserFn"]


class Meta(Protocol):
    """A family's metadata (``parse.FamilyMeta`` has this shape)."""

    @property
    def type(self) -> str: ...

    @property
    def help(self) -> str: ...

    @property
    def unit(self) -> str: ...


class Parsed(Protocol):
    """What the scrape loop needs from a parsed body (``parse.ScrapeResult``)."""

    @property
    def samples(self) -> Sequence[tuple[str, float, int | None]]:
        """(series key, value, timestamp in ms or None), in exposition order."""
        ...

    @property
    def metadata(self) -> Mapping[str, Meta]:
        """Family name → type, help, unit."""
        ...

    def labels_for(self, series_key: str) -> Labels:
        """The label set (with ``__name__``) that a series key stands for."""
        ...


#: ``(body, content_type, known series keys) -> Parsed``; raises ValueError
#: (ParseError) on a malformed body.
ParserFn = Callable[[bytes, str, Mapping[str, object]], Parsed]


class ExpositionParser:
    """The default parser: :class:`metricslib.collector.textparse.formats.ScrapeParser`, one
    per target so its metadata-line cache carries over between scrapes."""

    def __init__(self) -> None:
        from metricslib.collector.textparse.formats import ScrapeParser

        self._parser = ScrapeParser()

    def __call__(self, body: bytes, content_type: str, known: Mapping[str, object]) -> Parsed:
        from metricslib.collector.textparse.formats import content_type_format

        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ParseError(f"body is not valid UTF-8 at byte {exc.start}") from exc
        return self._parser.parse(text, content_type_format(content_type), known)
