"""Blocking engine iterators consumed from asyncio without blocking the loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TypeVar

T = TypeVar("T")
_DONE = object()


async def iterate_in_thread(make: Callable[[threading.Event], Iterator[T]],
                            name: str) -> AsyncIterator[T]:
    """Run `make(cancel)` in its own thread, yielding what it yields.

    Closing the async iterator sets `cancel`, so engines stop between steps.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[object] = asyncio.Queue()
    cancel = threading.Event()

    def put(value: object) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, value)

    def work() -> None:
        try:
            for value in make(cancel):
                if cancel.is_set():
                    break
                put(value)
        except BaseException as exc:  # handed to the consumer, raised there
            put(exc)
        finally:
            put(_DONE)

    threading.Thread(target=work, name=name, daemon=True).start()
    try:
        while True:
            value = await queue.get()
            if value is _DONE:
                return
            if isinstance(value, BaseException):
                raise value
            yield value  # type: ignore[misc]
    finally:
        cancel.set()
