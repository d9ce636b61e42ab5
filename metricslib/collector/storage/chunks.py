"""Chunk codec: one series' samples in a compact, bit-exact blob.

Layout (little endian)::

    u8 version | u32 n | i64 t0 | i64 first delta | u8 value mode | ... | raw deflate body

Timestamps are stored as zig-zagged delta-of-deltas; values either as integer
deltas after scaling by a power of ten (counters, byte gauges, "12.34" style
decimals: the common case) or as XOR of successive IEEE bits. Every integer
stream is cut to the byte width it needs and byte-shuffled (all low bytes,
then all next bytes, ...) so that deflate sees long runs of zeros. Values that
do not fit the integer mode (NaN, staleness markers, infinities) are kept as
exceptions with their exact bits, so a chunk with one staleness marker still
compresses like its neighbours.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from metricslib.errors import StorageCorruptionError

__all__ = ["decode_chunk", "decode_chunks", "encode_chunk", "encode_chunks"]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
U64 = npt.NDArray[np.uint64]

_VERSION = 1
_HEAD = struct.Struct("<BIqqB")
_MODE_XOR = 0
_MODE_INT_DELTA = 1
_MODE_INT_DOD = 2
_MAX_SCALE = 9
# Beyond 2**53 a float64 no longer holds every integer, so the check below
# could pass by accident of rounding; stay well inside.
_INT_LIMIT = float(2**52)


def _zigzag(x: I64) -> U64:
    out: U64 = ((x << 1) ^ (x >> 63)).view(np.uint64)
    return out


def _unzigzag(z: U64) -> I64:
    out: I64 = ((z >> np.uint64(1)).view(np.int64)) ^ -((z & np.uint64(1)).view(np.int64))
    return out


def _pack_ints(z: U64) -> bytes:
    """Byte width (1 byte) then the shuffled planes of that width."""
    if z.size == 0:
        return b"\x00"
    top = int(z.max())
    width = max(1, (top.bit_length() + 7) // 8)
    planes = z.view(np.uint8).reshape(-1, 8)[:, :width].T
    return bytes([width]) + bytes(planes.tobytes())


def _unpack_ints(buf: memoryview, pos: int, n: int) -> tuple[U64, int]:
    width = buf[pos]
    pos += 1
    if n == 0 or width == 0:
        return np.zeros(n, dtype=np.uint64), pos
    if width > 8:
        raise StorageCorruptionError(f"chunk integer width {width} is impossible")
    end = pos + width * n
    if end > len(buf):
        raise StorageCorruptionError("chunk body is truncated")
    planes = np.frombuffer(buf[pos:end], dtype=np.uint8).reshape(width, n)
    out = np.zeros((n, 8), dtype=np.uint8)
    out[:, :width] = planes.T
    return out.view(np.uint64).reshape(n), end


def _scaled_ints(values: F64) -> tuple[int, I64] | None:
    """(k, ints) with ints / 10**k bit-identical to ``values``, or None."""
    bits = values.view(np.uint64)
    for k in range(_MAX_SCALE + 1):
        scaled = values * (10.0**k) if k else values
        if not np.all(np.abs(scaled) < _INT_LIMIT):
            return None
        ints = np.rint(scaled).astype(np.int64)
        # Check what decoding will really produce (from the integers): rint
        # alone would keep -0.0, which the integers cannot.
        back = ints.astype(np.float64)
        if k:
            back /= 10.0**k
        if np.array_equal(back.view(np.uint64), bits):
            return k, ints
    return None


def encode_chunk(timestamps: I64, values: F64) -> bytes:
    """Encode samples (timestamps strictly increasing) into a blob."""
    ts = np.ascontiguousarray(timestamps, dtype=np.int64)
    vs = np.ascontiguousarray(values, dtype=np.float64)
    n = int(ts.shape[0])
    if n != vs.shape[0]:
        raise ValueError(f"{n} timestamps but {vs.shape[0]} values")
    t0 = int(ts[0]) if n else 0
    d1 = int(ts[1] - ts[0]) if n > 1 else 0
    body = [_pack_ints(_zigzag(np.diff(ts, n=2)))] if n > 2 else [b"\x00"]

    finite = np.isfinite(vs)
    exc_idx = np.flatnonzero(~finite)
    filled = vs
    if exc_idx.size:
        # Carry the previous finite value over each exception so the integer
        # stream stays smooth; the exact bits are restored from the side list.
        filled = vs.copy()
        pos = np.where(finite, np.arange(n), 0)
        np.maximum.accumulate(pos, out=pos)
        filled = np.where(finite, vs, vs[pos])
        filled[~np.isfinite(filled)] = 0.0
    scaled = _scaled_ints(filled) if n else None
    if scaled is None:
        mode = _MODE_XOR
        bits = vs.view(np.uint64)
        xor = bits.copy()
        xor[1:] ^= bits[:-1]
        body.append(b"\x00" + _pack_ints(xor))
    else:
        k, ints = scaled
        delta = np.diff(ints, prepend=np.int64(0))
        dod = np.diff(delta, prepend=np.int64(0))
        # Steady counters have near-constant deltas; noisy ones do better on deltas.
        if int(np.abs(dod).sum()) < int(np.abs(delta).sum()):
            mode, stream = _MODE_INT_DOD, dod
        else:
            mode, stream = _MODE_INT_DELTA, delta
        body.append(bytes([k]) + _pack_ints(_zigzag(stream)))
        body.append(struct.pack("<I", exc_idx.size))
        if exc_idx.size:
            body.append(exc_idx.astype(np.uint32).tobytes())
            body.append(vs[exc_idx].view(np.uint64).tobytes())
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    packed = comp.compress(b"".join(body)) + comp.flush()
    return _HEAD.pack(_VERSION, n, t0, d1, mode) + packed


def encode_chunks(timestamps: I64, values: F64) -> list[bytes]:
    """:func:`encode_chunk` of ``timestamps`` with each row of ``values`` (m x n),
    bit for bit, with the numpy work done over all rows at once.

    A column block's series are cut together with the same timestamps: their
    time stream is encoded once, and rows of plain numbers (no NaN, infinity
    or staleness marker) that scale to integers, the counters, find their
    scale and stream as rows of 2-D arrays; the rest goes one by one. What is
    left per chunk is packing its bytes and deflating them."""
    ts = np.ascontiguousarray(timestamps, dtype=np.int64)
    vs = np.ascontiguousarray(values, dtype=np.float64)
    m, n = vs.shape
    if n < 3 or m == 0:
        return [encode_chunk(ts, row) for row in vs]
    out: list[bytes | None] = [None] * m
    t_body = _pack_ints(_zigzag(np.diff(ts, n=2)))
    t0, d1 = int(ts[0]), int(ts[1] - ts[0])
    rows = np.flatnonzero(np.isfinite(vs).all(axis=1))
    plain = vs[rows]
    bits = plain.view(np.uint64)
    scale = np.full(rows.shape[0], -1, dtype=np.int64)
    ints = np.empty(plain.shape, dtype=np.int64)
    open_ = np.arange(rows.shape[0])
    for k in range(_MAX_SCALE + 1):  # as _scaled_ints, row by row: the first k that round-trips
        if not open_.size:
            break
        scaled = plain[open_] * (10.0**k) if k else plain[open_]
        within = (np.abs(scaled) < _INT_LIMIT).all(axis=1)
        tried = open_[within]
        cand = np.rint(scaled[within]).astype(np.int64)
        back = cand.astype(np.float64)
        if k:
            back /= 10.0**k
        exact = (back.view(np.uint64) == bits[tried]).all(axis=1)
        scale[tried[exact]] = k
        ints[tried[exact]] = cand[exact]
        # Out of range (no larger scale can fit) or exact: decided.
        open_ = tried[~exact]
    scaled_rows = np.flatnonzero(scale >= 0)
    if scaled_rows.size:
        sub = ints[scaled_rows]
        delta = np.diff(sub, axis=1, prepend=np.int64(0))
        dod = np.diff(delta, axis=1, prepend=np.int64(0))
        use_dod = np.abs(dod).sum(axis=1) < np.abs(delta).sum(axis=1)
        z = _zigzag(np.where(use_dod[:, None], dod, delta))
        top = z.max(axis=1)
        width = np.ones(top.shape[0], dtype=np.int64)
        for w in range(1, 8):
            width += top >= np.uint64(1 << (8 * w))
        planes = z.view(np.uint8).reshape(z.shape[0], n, 8)
        tail = struct.pack("<I", 0)
        heads = {mode: _HEAD.pack(_VERSION, n, t0, d1, mode) for mode in (_MODE_INT_DOD, _MODE_INT_DELTA)}
        where = rows[scaled_rows].tolist()
        scales = scale[scaled_rows].tolist()
        modes = np.where(use_dod, _MODE_INT_DOD, _MODE_INT_DELTA).tolist()
        for w in np.unique(width).tolist():
            group = np.flatnonzero(width == w)
            packed = memoryview(np.ascontiguousarray(planes[group, :, :w].transpose(0, 2, 1)).tobytes())
            size = w * n
            for at, g in zip(range(0, size * group.shape[0], size), group.tolist(), strict=True):
                comp = zlib.compressobj(9, zlib.DEFLATED, -15)
                body = comp.compress(b"".join((t_body, bytes((scales[g], w)), packed[at : at + size], tail)))
                out[where[g]] = heads[modes[g]] + body + comp.flush()
    return [blob if blob is not None else encode_chunk(ts, vs[i]) for i, blob in enumerate(out)]


def decode_chunk(blob: bytes) -> tuple[I64, F64]:
    """Inverse of :func:`encode_chunk`; raises StorageCorruptionError on bad input."""
    try:
        version, n, t0, d1, mode = _HEAD.unpack_from(blob, 0)
        if version != _VERSION:
            raise StorageCorruptionError(f"unknown chunk version {version}")
        buf = memoryview(zlib.decompress(blob[_HEAD.size :], -15))
        ts = np.empty(n, dtype=np.int64)
        pos = 0
        dod, pos = _unpack_ints(buf, pos, max(n - 2, 0))
        if n:
            ts[0] = t0
        if n > 1:
            deltas = np.empty(n - 1, dtype=np.int64)
            deltas[0] = d1
            np.cumsum(_unzigzag(dod), out=deltas[1:])
            deltas[1:] += d1
            np.cumsum(deltas, out=ts[1:])
            ts[1:] += t0
        k = buf[pos]
        pos += 1
        z, pos = _unpack_ints(buf, pos, n)
        if mode == _MODE_XOR:
            vs = np.bitwise_xor.accumulate(z).view(np.float64)
        elif mode in (_MODE_INT_DELTA, _MODE_INT_DOD):
            ints = np.cumsum(_unzigzag(z))
            if mode == _MODE_INT_DOD:
                ints = np.cumsum(ints)
            vs = ints.astype(np.float64)
            if k:
                vs /= 10.0**k
            (n_exc,) = struct.unpack_from("<I", buf, pos)
            pos += 4
            if n_exc:
                idx = np.frombuffer(buf[pos : pos + 4 * n_exc], dtype=np.uint32)
                pos += 4 * n_exc
                exc = np.frombuffer(buf[pos : pos + 8 * n_exc], dtype=np.uint64)
                vs.view(np.uint64)[idx] = exc
        else:
            raise StorageCorruptionError(f"unknown chunk value mode {mode}")
        return ts, vs
    except StorageCorruptionError:
        raise
    except (struct.error, zlib.error, ValueError, IndexError) as exc:
        raise StorageCorruptionError(f"chunk cannot be decoded: {exc}") from exc


def decode_chunks(blobs: Sequence[bytes]) -> list[tuple[I64, F64]]:
    """:func:`decode_chunk` of each blob, in order, with the numpy work done in bulk.

    A select reads thousands of chunks that share their shape (the head cuts
    chunks of the same sample count, and steady series need the same byte
    widths): those are decoded as the rows of one 2-D array, so the per-chunk
    cost is parsing a few header bytes, not a dozen numpy calls. Rows are views
    of their group's arrays. Anything unusual goes through :func:`decode_chunk`
    one by one, which also names what is wrong with a damaged blob.
    """
    done: dict[int, tuple[I64, F64]] = {}
    # (n, dod width, value width, mode, scale) -> positions, headers, dod and value bytes
    groups: dict[tuple[int, int, int, int, int], tuple[list[int], list[int], list[int], list[bytes], list[bytes]]] = {}
    exceptions: list[tuple[int, int, bytes]] = []
    for i, blob in enumerate(blobs):
        try:
            version, n, t0, d1, mode = _HEAD.unpack_from(blob, 0)
            if version != _VERSION or n < 3 or mode not in (_MODE_XOR, _MODE_INT_DELTA, _MODE_INT_DOD):
                raise ValueError
            buf = zlib.decompress(blob[_HEAD.size :], -15)
            wd = buf[0]
            pos = 1 + wd * (n - 2)
            k = buf[pos]
            wv = buf[pos + 1]
            end = pos + 2 + wv * n
            if not (0 < wd <= 8 and 0 < wv <= 8):
                raise ValueError
            if mode == _MODE_XOR:
                if end != len(buf):
                    raise ValueError
            else:
                (n_exc,) = struct.unpack_from("<I", buf, end)
                if end + 4 + 12 * n_exc != len(buf):
                    raise ValueError
                if n_exc:
                    exceptions.append((i, n_exc, buf[end + 4 :]))
        except (ValueError, IndexError, struct.error, zlib.error):
            done[i] = decode_chunk(blob)
            continue
        rows, t0s, d1s, dods, vals = groups.setdefault((n, wd, wv, mode, k), ([], [], [], [], []))
        rows.append(i)
        t0s.append(t0)
        d1s.append(d1)
        dods.append(buf[1 : 1 + wd * (n - 2)])
        vals.append(buf[pos + 2 : end])
    for (n, wd, wv, mode, k), (rows, t0s, d1s, dods, vals) in groups.items():
        m = len(rows)
        dod = _unzigzag(_unpack_rows(b"".join(dods), m, wd, n - 2))
        t0 = np.array(t0s, dtype=np.int64)[:, None]
        d1 = np.array(d1s, dtype=np.int64)[:, None]
        deltas = np.empty((m, n - 1), dtype=np.int64)
        deltas[:, :1] = d1
        np.cumsum(dod, axis=1, out=deltas[:, 1:])
        deltas[:, 1:] += d1
        ts = np.empty((m, n), dtype=np.int64)
        ts[:, :1] = t0
        np.cumsum(deltas, axis=1, out=ts[:, 1:])
        ts[:, 1:] += t0
        z = _unpack_rows(b"".join(vals), m, wv, n)
        if mode == _MODE_XOR:
            vs = np.bitwise_xor.accumulate(z, axis=1).view(np.float64)
        else:
            ints = np.cumsum(_unzigzag(z), axis=1)
            if mode == _MODE_INT_DOD:
                ints = np.cumsum(ints, axis=1)
            vs = ints.astype(np.float64)
            if k:
                vs /= 10.0**k
        for r, i in enumerate(rows):
            done[i] = (ts[r], vs[r])
    for i, n_exc, tail in exceptions:
        # The exact bits of NaN, infinities and staleness markers, as decode_chunk puts them back.
        vs_i = done[i][1]
        idx = np.frombuffer(tail[: 4 * n_exc], dtype=np.uint32)
        if int(idx.max()) >= vs_i.shape[0]:
            raise StorageCorruptionError("chunk exception index is out of range")
        vs_i.view(np.uint64)[idx] = np.frombuffer(tail[4 * n_exc : 12 * n_exc], dtype=np.uint64)
    return [done[i] for i in range(len(blobs))]


def _unpack_rows(data: bytes, m: int, width: int, n: int) -> U64:
    """``m`` runs of ``n`` integers, each stored as ``width`` byte planes, as an (m, n) array."""
    planes = np.frombuffer(data, dtype=np.uint8).reshape(m, width, n)
    full = np.zeros((m, n, 8), dtype=np.uint8)
    full[:, :, :width] = planes.transpose(0, 2, 1)
    out: U64 = full.view(np.uint64).reshape(m, n)
    return out
