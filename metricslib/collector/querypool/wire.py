"""Messages between the collector and a query process: pickles with out-of-band arrays.

A message is a pickle (protocol 5) whose contiguous buffers (the numpy arrays
of a select plan) travel as separate frames after it: they are written to the
socket straight from their own memory and read straight into fresh writable
buffers, with no per-element work and no copy inside the pickle. The first
frame says how many buffers follow and how big each is.
"""

from __future__ import annotations

import pickle
import struct
from multiprocessing.connection import Connection

__all__ = ["recv", "send"]

_COUNT = struct.Struct("<I")
_SIZE = struct.Struct("<Q")


def send(conn: Connection, message: object) -> None:
    buffers: list[pickle.PickleBuffer] = []
    head = pickle.dumps(message, protocol=5, buffer_callback=buffers.append)
    views = [buf.raw() for buf in buffers]
    sizes = b"".join(_SIZE.pack(v.nbytes) for v in views)
    conn.send_bytes(b"".join((_COUNT.pack(len(views)), sizes, head)))
    for view in views:
        conn.send_bytes(view)


def recv(conn: Connection) -> object:
    """The next message; EOFError when the other side closed (or died)."""
    frame = memoryview(conn.recv_bytes())
    (count,) = _COUNT.unpack_from(frame)
    pos = _COUNT.size
    buffers = []
    for _ in range(count):
        (size,) = _SIZE.unpack_from(frame, pos)
        pos += _SIZE.size
        # Writable: a select's arrays are the caller's to change (the store's contract).
        buf = bytearray(size)
        if conn.recv_bytes_into(buf) != size:
            raise EOFError("query process message cut short")
        buffers.append(buf)
    return pickle.loads(frame[pos:], buffers=buffers)
