"""A body's shape: everything but its sample values, to read the next body in bulk.

A target usually sends the same series in the same order every scrape, and
only the values change. :class:`BodyShape` remembers, from one body that went
through the line-by-line parser, the body's words (``bytes.split()``) that
are not values and the exact whitespace between words. A later body with the
same shape differs only in its value words, so its values are read with a few
C-level passes over the whole body (split, compare, ``map(float)``) instead
of a Python loop over its lines.

Equal shape means: the same sequence of separators (only single spaces and
newlines, never two in a row, none leading), the same number of words and
the same non-value words. Since every separator is one character, words and
separators rebuild the body exactly, so each line is the same series text as
last time followed by a new value word. A value word must be a plain number
(``[0-9.eE+-]``, finite); anything else (``NaN``, ``Inf``, a timestamp, an
exemplar, a new comment text, a blank line) is a different shape, and the
caller parses the body line by line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import itemgetter

__all__ = ["BodyShape"]

_SEPARATORS = b" \n"
_OTHER_WHITESPACE = (b"\t", b"\r", b"\x0b", b"\x0c")
_DOUBLES = (b"  ", b" \n", b"\n ", b"\n\n")
_WHITESPACE = b" \t\n\r\x0b\x0c"  # what bytes.split() splits on
_FIRST_BYTES = tuple(bytes([c]) for c in _WHITESPACE)
_NOT_WHITESPACE = bytes(c for c in range(256) if c not in _WHITESPACE)
_DIGITS = b"0123456789"
_NUMBER_EXTRAS = b".eE+-"


def _picker(positions: Sequence[int]) -> Callable[[list[bytes]], tuple[bytes, ...]]:
    if len(positions) == 1:
        only = positions[0]
        return lambda words: (words[only],)
    return itemgetter(*positions)


def _simple_layout(body: bytes) -> bool:
    """Single-character separators only, so ``split()`` and the separators rebuild the body."""
    if not body or body[:1] in (b" ", b"\n"):
        return False
    return not any(w in body for w in _OTHER_WHITESPACE) and not any(d in body for d in _DOUBLES)


class BodyShape:
    """The shape of one body (see the module docstring); :meth:`values` reads
    the values of a body of the same shape, in sample order."""

    __slots__ = ("_fixed", "_fixed_words", "_n_words", "_separators", "_values", "content_type")

    def __init__(self, content_type: str, separators: bytes, n_words: int,
                 fixed: Sequence[int], fixed_words: tuple[bytes, ...], values: Sequence[int]) -> None:
        self.content_type = content_type
        self._separators = separators
        self._n_words = n_words
        self._fixed = _picker(fixed)
        self._fixed_words = fixed_words
        self._values = _picker(values)

    @classmethod
    def of(cls, body: bytes, content_type: str, keys: Sequence[str]) -> BodyShape | None:
        """The shape of ``body``, whose samples (in order, none with a timestamp)
        have the series texts ``keys``; None when the body does not qualify."""
        if not keys or not _simple_layout(body):
            return None
        fixed: list[int] = []
        values: list[int] = []
        word = 0
        sample = 0
        for line in body.split(b"\n"):
            n = line.count(b" ") + 1 if line else 0
            if line[:1] == b"#":
                fixed.extend(range(word, word + n))
            elif line:
                if sample >= len(keys) or line.rpartition(b" ")[0] != keys[sample].encode():
                    return None
                sample += 1
                fixed.extend(range(word, word + n - 1))
                values.append(word + n - 1)
            word += n
        if sample != len(keys):
            return None
        words = body.split()
        if len(words) != word:
            return None
        shape = cls(content_type, body.translate(None, _NOT_WHITESPACE), word, fixed, (), values)
        shape._fixed_words = shape._fixed(words)
        return shape

    def values(self, body: bytes, content_type: str) -> list[float] | None:
        """The sample values of ``body`` when it has this shape, else None."""
        if content_type != self.content_type:
            return None
        separators = body.translate(None, _NOT_WHITESPACE)
        if separators != self._separators:  # the same whitespace characters in the same order...
            return None
        words = body.split()
        if len(words) != self._n_words:
            return None
        # ...and each run of them one character long: n words, no leading run,
        # n - 1 runs between them and maybe one after, as many as characters.
        if body[:1] in _FIRST_BYTES or len(words) - 1 + (body[-1:] in _FIRST_BYTES) != len(separators):
            return None
        if self._fixed(words) != self._fixed_words:
            return None
        tokens = self._values(words)
        others = b"".join(tokens).translate(None, _DIGITS)
        try:
            if not others:  # unsigned integers (counters, mostly): int() is twice as fast
                values = list(map(float, map(int, tokens)))
            elif others.translate(None, _NUMBER_EXTRAS):
                return None  # NaN, Inf, "_" and the like: the grammar judges those line by line
            else:
                values = list(map(float, tokens))
        except (ValueError, OverflowError):
            return None
        total = sum(values)
        if total - total != 0.0:
            return None  # an overflow to ±Inf (or a sum that overflows): line by line
        return values
