"""Keep freed memory for the next query instead of returning it to the kernel (glibc).

Evaluating a range query allocates numpy temporaries of a few hundred kB to a
few MB and frees them moments later. With glibc's defaults the larger ones
are mapped and unmapped on every query, and freed memory at the top of the
heap is trimmed back to the kernel, so the next query page-faults it in
again, zero-filled. Measured on this project's query benchmark, that was up
to a third of the time of long range queries (see docs/benchmarks.md). The
collector therefore asks glibc to serve arrays up to 4 MB from the heap and
to keep up to 64 MB of free memory around. Other C libraries are left alone.

It also limits glibc to two malloc arenas (``M_ARENA_MAX``). By default every
thread that allocates gets its own arena, up to eight per core: the scrape
workers, HTTP connections and the flush thread each grew one, and each kept
its own free memory and its own fragments of the head's arrays (which are
grown by the appending thread and shrunk by the flush thread). The
interpreter holds the GIL while it allocates, so more arenas bought no
parallelism, only resident memory.
"""

from __future__ import annotations

import ctypes
import sys

__all__ = ["tune_malloc"]

# glibc's mallopt() parameters (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8


def tune_malloc(
    *, mmap_threshold: int = 4 << 20, trim_threshold: int = 64 << 20, top_pad: int = 16 << 20, arena_max: int = 2
) -> bool:
    """Apply the settings to this process; whether the C library accepted them."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    # Setting any one of these turns off glibc's own adjustment of the others, so all three are set.
    settings = ((_M_MMAP_THRESHOLD, mmap_threshold), (_M_TRIM_THRESHOLD, trim_threshold), (_M_TOP_PAD, top_pad),
                (_M_ARENA_MAX, arena_max))
    return all(mallopt(param, value) == 1 for param, value in settings)
