"""Channel: whole messages with out-of-band arrays over a Unix socket pair."""

from __future__ import annotations

import socket
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metricslib.collector.querypool.wire import Channel


def pair() -> tuple[Channel, Channel]:
    a, b = socket.socketpair()
    return Channel(a), Channel(b)


@settings(max_examples=50, deadline=None)
@given(sizes=st.lists(st.integers(0, 3000), max_size=5), text=st.text(max_size=50))
def test_messages_round_trip_with_writable_arrays(sizes: list[int], text: str) -> None:
    a, b = pair()
    try:
        arrays = [np.arange(n, dtype=np.int64) * 3 for n in sizes]
        a.send(("x", text, arrays, [float(n) for n in sizes]))
        message = b.recv()
        assert isinstance(message, tuple)
        tag, got_text, got, floats = message
        assert (tag, got_text, floats) == ("x", text, [float(n) for n in sizes])
        for want, have in zip(arrays, got, strict=True):
            assert have.dtype == want.dtype and np.array_equal(have, want)
            if have.size:
                have[0] = -1  # the store's contract: select arrays are the caller's to change
    finally:
        a.close()
        b.close()


def test_a_message_bigger_than_the_socket_buffers_arrives_whole() -> None:
    a, b = pair()
    big = np.random.default_rng(1).random(3_000_000)  # 24 MB: many socket buffers
    sender = threading.Thread(target=a.send, args=(big,))
    sender.start()
    try:
        got = b.recv()
        assert isinstance(got, np.ndarray) and np.array_equal(got, big)
    finally:
        sender.join()
        a.close()
        b.close()


def test_the_other_end_closing_is_eof_and_wait_sees_it() -> None:
    a, b = pair()
    assert not b.wait(0)
    a.close()
    assert b.wait(0)
    with pytest.raises(EOFError):
        b.recv()
    b.close()
