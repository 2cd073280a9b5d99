"""Giving freed memory back to the system.

glibc keeps what a session freed in its heaps (one per thread that allocated: the event
loop, the store's and the engines' threads) rather than returning it, so a server's RSS
creeps up with every session it has served although nothing is held. Trimming once the
last session has gone returns it.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
from collections.abc import Callable


def _libc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim
        return None


_TRIM = _libc_trim()


async def give_back() -> None:
    """Return the heaps' free memory to the system: off the event loop, since walking a
    model server's heaps takes a while (nothing where not glibc)."""
    if _TRIM is not None:
        await asyncio.to_thread(_TRIM, 0)
