"""The client side of a transport that is fed by callbacks and tasks (a WebRTC call, a
phone stream): what its client sent, waiting for the runner, and the tasks it runs."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from vivavoce.types import ClientInput


class ClientInbox:
    """The client's input in order, until `end` (then `get` gives None: the client left)."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[ClientInput | None] = asyncio.Queue()
        self.end_reason: str | None = None

    async def get(self) -> ClientInput | None:
        return await self._queue.get()

    def put(self, item: ClientInput) -> None:
        self._queue.put_nowait(item)

    def qsize(self) -> int:
        return self._queue.qsize()

    def end(self, reason: str) -> None:
        """The client is gone (the call is over): the session ends with it."""
        if self.end_reason is None:
            self.end_reason = reason
            self._queue.put_nowait(None)


class Tasks:
    """Background tasks of one connection, cancelled together when it closes."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def cancel(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class CallSide:
    """What a transport fed by callbacks and tasks shares: `receive` takes from its inbox
    until it is ended; its tasks are cancelled together."""

    def __init__(self) -> None:
        self._inbox = ClientInbox()
        self._tasks = Tasks()

    async def receive(self) -> ClientInput | None:
        return await self._inbox.get()

    @property
    def end_reason(self) -> str | None:
        return self._inbox.end_reason

    def end(self, reason: str) -> None:
        """The call is over (hung up, the peer left): the session ends with it."""
        self._inbox.end(reason)
