"""Which instance holds which live call (WebRTC, or a phone call's stream): the one call
registry, shared by every instance on the store.

The WebRTC and phone transports register each call as they answer it (`register`, with
the id of the session the call will carry) and release it when it ends (`release`). A sideband
socket for a call, or a hangup, looks it up (`locate`): a call held here is joined or
ended here (`held`: the call itself), one held by another instance is passed to it at
its `address`. Calls held here are also remembered in memory, so they are found while
the store is unreachable, and they count against this instance's limit (`len`).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Protocol

from vivavoce.runtime.resume import Instance
from vivavoce.store import CallRecord, Store

log = logging.getLogger(__name__)


class HeldCall(Protocol):
    """A call as this instance holds it (a WebRTC call, a phone call's stream)."""

    session_opened: asyncio.Event  # its session is open: a sideband may join it

    def end(self, reason: str) -> None: ...


@dataclass
class _Here:
    record: CallRecord
    call: HeldCall | None


class CallRegistry:
    def __init__(self, store: Store | None, instance: Instance) -> None:
        self.store = store
        self.instance = instance
        self._here: dict[str, _Here] = {}

    def __len__(self) -> int:
        return len(self._here)

    async def register(self, call_id: str, session_id: str,
                       call: HeldCall | None = None) -> CallRecord:
        record = CallRecord(call_id, session_id, self.instance.id, self.instance.address)
        self._here[call_id] = _Here(record, call)
        if self.store is not None:
            try:
                await self.store.put_call(record)
            except Exception as exc:  # other instances cannot reach this call meanwhile
                log.warning("call %s not shared with other instances: %s", call_id, exc)
        return record

    async def release(self, call_id: str) -> None:
        self._here.pop(call_id, None)
        if self.store is not None:
            try:
                await self.store.drop_call(call_id)
            except Exception as exc:
                log.warning("call %s stays listed until the store is back: %s", call_id, exc)

    async def locate(self, call_id: str) -> CallRecord | None:
        here = self._here.get(call_id)
        if here is not None:
            return here.record
        return await self.store.call(call_id) if self.store is not None else None

    def holds(self, record: CallRecord) -> bool:
        return record.instance == self.instance.id

    def held(self, call_id: str) -> HeldCall | None:
        """The call itself, if this instance holds it."""
        here = self._here.get(call_id)
        return here.call if here is not None else None
