"""Waiting, for simulated callers: poll a condition while their tasks run."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


async def until(value: Callable[[], T | None], timeout: float, every: float = 0.005) -> T:
    """`value()` once it is truthy; TimeoutError after `timeout` seconds."""
    async def poll() -> T:
        while not (got := value()):
            await asyncio.sleep(every)
        return got
    return await asyncio.wait_for(poll(), timeout)
