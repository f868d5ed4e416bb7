"""Memory freed by a huge event goes back to the system.

glibc's ``malloc`` serves a block over its mmap threshold (128 KB to begin with) from its own mapping, returned to
the system when it is freed; but each such free raises the threshold to the freed block's size (up to 32 MB). A
stream's huge event (the 1M transcript's final event: 10 MB) is one line of text, its parsed value and its bytes:
once they have come and gone, every block up to 32 MB is taken from the heap, where freed memory is kept for reuse
and seldom returned. Measured on the 1M transcript's end (four 10 MB events), this kept the App's resident memory
55 to 95 MB above what it held.

``keep_mmap_threshold`` fixes the threshold where glibc starts it, which also stops it moving (``mallopt(3)``).
Elsewhere (macOS, musl, Windows) it does nothing.
"""

from __future__ import annotations

import sys

M_MMAP_THRESHOLD = -3  # mallopt's parameter number (malloc.h)
THRESHOLD = 128 * 1024  # glibc's own starting value

_done = False


def keep_mmap_threshold() -> bool:
    """Fix glibc's mmap threshold at 128 KB for this process (once); True when it was set."""
    global _done
    if _done or not sys.platform.startswith("linux"):
        return _done
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        mallopt = getattr(libc, "mallopt", None)
        gnu = getattr(libc, "gnu_get_libc_version", None)  # glibc only: musl's mallopt does nothing
        if mallopt is None or gnu is None:
            return False
        mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
        mallopt.restype = ctypes.c_int
        _done = mallopt(M_MMAP_THRESHOLD, THRESHOLD) == 1
    except (OSError, AttributeError, ValueError):
        return False
    return _done
