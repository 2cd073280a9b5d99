"""Which instance holds which live WebRTC call, for every instance sharing the store.

The WebRTC transport registers each call when it starts (`register`) and releases it
when it ends (`release`); a sideband socket for a call looks it up (`locate`) and, when
another instance holds it, is proxied there (its `address`). Calls held here are also
remembered in memory, so they are found while the store is unreachable.
"""

from __future__ import annotations

import logging

from vivavoce.runtime.resume import Instance
from vivavoce.store import CallRecord, Store

log = logging.getLogger(__name__)


class CallRegistry:
    def __init__(self, store: Store | None, instance: Instance) -> None:
        self.store = store
        self.instance = instance
        self._here: dict[str, CallRecord] = {}

    async def register(self, call_id: str, session_id: str) -> CallRecord:
        record = CallRecord(call_id, session_id, self.instance.id, self.instance.address)
        self._here[call_id] = record
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
        record = self._here.get(call_id)
        if record is None and self.store is not None:
            record = await self.store.call(call_id)
        return record

    def holds(self, record: CallRecord) -> bool:
        return record.instance == self.instance.id
