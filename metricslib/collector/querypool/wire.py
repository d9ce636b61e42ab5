"""Messages between the collector and a query process: pickles with out-of-band arrays.

A message is a pickle (protocol 5) whose contiguous buffers (the numpy arrays
of a select plan) travel as separate frames after it: they are written to the
socket straight from their own memory (``sendall``, which lets other threads
run between its system calls) and read straight into fresh writable buffers
(``recv_into``), with no per-element work and no copy inside the pickle. The
first frame says how long the pickle is and how big each buffer is.

(``multiprocessing.connection`` reads a big message through several
intermediate copies; a select plan over 200k series is hundreds of MB.)
"""

from __future__ import annotations

import pickle
import select
import socket
import struct

__all__ = ["Channel"]

_HEAD = struct.Struct("<QI")  # pickle length, buffer count
_SIZE = struct.Struct("<Q")
#: socket buffers asked for (the kernel caps them): fewer wake-ups per big plan
_SOCKET_BUFFER = 4 << 20


class Channel:
    """One end of a Unix socket pair carrying whole messages."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        for opt in (socket.SO_SNDBUF, socket.SO_RCVBUF):
            try:
                sock.setsockopt(socket.SOL_SOCKET, opt, _SOCKET_BUFFER)
            except OSError:
                pass  # the default buffers work, with more wake-ups

    def send(self, message: object) -> None:
        buffers: list[pickle.PickleBuffer] = []
        head = pickle.dumps(message, protocol=5, buffer_callback=buffers.append)
        views = [buf.raw() for buf in buffers]
        sizes = b"".join(_SIZE.pack(v.nbytes) for v in views)
        self.sock.sendall(b"".join((_HEAD.pack(len(head), len(views)), sizes, head)))
        for view in views:
            self.sock.sendall(view)

    def recv(self) -> object:
        """The next message; EOFError when the other side closed (or died)."""
        length, count = _HEAD.unpack(self._read(_HEAD.size))
        sizes = [_SIZE.unpack_from(self._read(_SIZE.size))[0] for _ in range(count)]
        head = self._read(length)
        # Writable buffers: a select's arrays are the caller's to change (the store's contract).
        buffers = [self._read(size) for size in sizes]
        return pickle.loads(head, buffers=buffers)

    def wait(self, timeout: float) -> bool:
        """Whether a message (or the end) arrived within ``timeout`` seconds."""
        ready, _, _ = select.select([self.sock], [], [], max(0.0, timeout))
        return bool(ready)

    def close(self) -> None:
        self.sock.close()

    def _read(self, size: int) -> bytearray:
        buf = bytearray(size)
        view = memoryview(buf)
        pos = 0
        while pos < size:
            got = self.sock.recv_into(view[pos:])
            if not got:
                raise EOFError("the other end of the query channel closed")
            pos += got
        return buf
