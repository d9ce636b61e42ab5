"""Vectorised decimal parsing for the importer's fast path.

Input is text already checked by the importer's regular expression: lines of
``VALUE SP TIMESTAMP LF`` where VALUE is ``-?digits(.digits)?`` (exponents are
not handled here) and TIMESTAMP is ``digits(.ddd)?`` seconds (OpenMetrics) or
``-?digits`` milliseconds (text).

Exactness: a value with at most 15 significant digits is an integer below
2**53 divided by a power of ten below 10**23, both exact in float64, so the
one IEEE division is correctly rounded: the result is bit-identical to
``float(token)``. Longer values are handed to ``float()`` one by one.
Timestamps are built with integer arithmetic only.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["parse_pairs"]

_P10 = 10 ** np.arange(19, dtype=np.int64)
_F10 = 10.0 ** np.arange(23)
_EXACT_DIGITS = 15


def parse_pairs(joined: str, om: bool) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]] | None:
    """(values, timestamps in ms) for every line, or None when this fast path
    does not apply (an exponent somewhere): the caller falls back."""
    raw = joined.encode("ascii")
    if b"e" in raw or b"E" in raw:
        return None
    buf = np.frombuffer(raw, dtype=np.uint8)
    seps = np.flatnonzero((buf == 32) | (buf == 10))
    starts = np.empty(seps.size, dtype=np.int64)
    starts[0] = 0
    starts[1:] = seps[:-1] + 1
    is_digit = (buf >= 48) & (buf <= 57)
    c = np.cumsum(is_digit, dtype=np.int64)
    c_end = c[seps]  # digits up to each token's end
    n_digits = c_end - (c[starts] - is_digit[starts])
    # Place value of each digit: how many digits follow it inside its token.
    rank = np.repeat(c_end, seps - starts + 1) - c
    np.minimum(rank, 18, out=rank)
    contrib = np.where(is_digit, (buf.astype(np.int64) - 48) * _P10[rank], 0)
    mant = np.add.reduceat(contrib, starts)
    frac = np.zeros(starts.size, dtype=np.int64)
    dots = np.flatnonzero(buf == 46)
    if dots.size:
        tok = np.searchsorted(starts, dots, "right") - 1
        frac[tok] = c_end[tok] - c[dots]
    neg = buf[starts] == 45

    v_frac = np.minimum(frac[0::2], 22)
    values = mant[0::2].astype(np.float64) / _F10[v_frac]
    values[neg[0::2]] *= -1.0
    long = np.flatnonzero(n_digits[0::2] > _EXACT_DIGITS)
    if long.size:
        tokens = joined.split()
        values[long] = [float(tokens[2 * i]) for i in long.tolist()]
    t_mant = mant[1::2]
    stamps = t_mant * _P10[3 - frac[1::2]] if om else np.where(neg[1::2], -t_mant, t_mant)
    return values, stamps
