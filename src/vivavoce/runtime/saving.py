"""Keeps one live session in the store, off the audio path.

The session's events wait for the store only where the protocol promises durability:
an event that makes an item final (`conversation.item.done`, an item added complete)
leaves once that item is written. Everything else (config, usage, later transcripts)
is written behind. One background task per session writes the latest state, so work
waiting for the store is one pending write per session however fast events come: the
queue is bounded by the number of open sessions.

When the store is unreachable (a write fails, or takes longer than `ack_timeout_s`),
nothing waits for it any more: the client is told once that the conversation is not
being saved (`take_alarm`), the conversation goes on, and the task keeps retrying
with backoff; once a write succeeds, everything said meanwhile is in the store.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from dataclasses import replace
from typing import Any

from vivavoce.protocol.errors import ProtocolError
from vivavoce.store import Changes, Detached, SessionRecord, Store, UsageRecord
from vivavoce.store.sync import SavedItems
from vivavoce.types import Event, Item

log = logging.getLogger(__name__)

RETRY_S = (0.2, 0.5, 1.0, 2.0)
ACK_TIMEOUT_S = 2.0


def unsaved_error() -> Event:
    return ProtocolError(
        "conversation_not_saved", "The conversation store is unreachable, so this "
        "conversation is not being saved right now. It goes on, and what is said is saved "
        "once the store is back.", type="server_error").to_event()


class SessionSaver:
    def __init__(self, store: Store, record: SessionRecord, saved: list[Item], *,
                 in_store: bool, tool_state: dict[str, Any],
                 ack_timeout_s: float = ACK_TIMEOUT_S) -> None:
        """`saved`: the items the store holds for it already (a resumed session's);
        `in_store`: whether its row exists (else the first write creates it);
        `tool_state`: the session's live tool state, written with every write."""
        self.store = store
        self.record = record
        self.in_store = in_store
        self.ack_timeout_s = ack_timeout_s
        self.available = True
        # Set when this connection lost the session (resumed elsewhere, deleted): why.
        self.lost: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._tool_state = tool_state
        self._saved = SavedItems(saved)
        self._items = saved
        self._usage: list[UsageRecord] = []
        self._audio: dict[str, bytes] = {}  # item id → its audio, to write
        self._wanted = 0
        self._written = 0
        self._alarm = False
        self._wake = asyncio.Event()
        self._progress = asyncio.Condition()
        self._task = asyncio.create_task(self._run())

    def want(self, *, items: list[Item] | None = None, config: dict[str, Any] | None = None,
             usage: UsageRecord | None = None, audio: dict[str, bytes] | None = None) -> int:
        """Ask for a write; its number, for `durable`."""
        if items is not None:
            self._items = items
        if audio:
            self._audio.update(audio)
        if config is not None:
            self.record.config = config
        if usage is not None:
            self._usage.append(usage)
        self._wanted += 1
        self._wake.set()
        return self._wanted

    async def durable(self, wanted: int) -> None:
        """Until write `wanted` is in the store, the session is lost, or the store is
        found unreachable (then at once: the conversation must go on)."""
        if not self.available:
            return
        try:
            async with asyncio.timeout(self.ack_timeout_s), self._progress:
                await self._progress.wait_for(
                    lambda: self._written >= wanted or not self.available or self.lost.done())
        except TimeoutError:
            self._unavailable("a write took longer than "
                              f"{self.ack_timeout_s:g} s")

    def take_alarm(self) -> bool:
        """Whether the client is owed the 'not being saved' error (once per outage)."""
        alarm, self._alarm = self._alarm, False
        return alarm

    async def close(self) -> None:
        """Write what is pending (if the store answers in time), then stop."""
        if self.available and not self.lost.done() and self._written < self._wanted:
            await self.durable(self._wanted)
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    def _unavailable(self, why: str) -> None:
        if self.available:
            log.warning("session %s is not being saved: %s", self.record.id, why)
            self.available = False
            self._alarm = True

    async def _notify(self) -> None:
        async with self._progress:
            self._progress.notify_all()

    async def _run(self) -> None:
        failures = 0
        while True:
            await self._wake.wait()
            self._wake.clear()
            wanted = self._wanted
            upserts, deletes = self._saved.changes(self._items)
            usage, self._usage = self._usage, []
            audio, self._audio = self._audio, {}
            # A snapshot taken on the event loop: the write runs on another thread.
            session = replace(self.record, config=copy.deepcopy(self.record.config),
                              tool_state=copy.deepcopy(self._tool_state))
            try:
                await self.store.write(Changes(session, not self.in_store, upserts, deletes,
                                               usage, list(audio.items())))
            except Detached as exc:
                log.info("session %s: %s", self.record.id, exc.reason)
                self.lost.set_result(exc.reason)
                await self._notify()
                return
            except Exception as exc:  # unreachable, timed out, restarting: retry
                self._usage[:0] = usage
                self._audio = {**audio, **self._audio}
                self._unavailable(f"{type(exc).__name__}: {exc}")
                await self._notify()
                await asyncio.sleep(RETRY_S[min(failures, len(RETRY_S) - 1)])
                failures += 1
                self._wake.set()
                continue
            self.in_store = True
            self._saved.saved(upserts, deletes)
            self._written = wanted
            if not self.available:
                log.info("session %s is saved again", self.record.id)
                self.available = True
            failures = 0
            await self._notify()
