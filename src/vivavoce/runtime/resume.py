"""Resuming a stored session on a new connection, and letting go of one that another
connection took (here, or on another instance sharing the store)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from vivavoce.protocol.errors import ProtocolError
from vivavoce.runtime.live import LiveSessions
from vivavoce.store import Store
from vivavoce.store.sql import DELETED, RESUMED_ELSEWHERE

log = logging.getLogger(__name__)

WATCH_INTERVAL_S = 1.0


@dataclass(frozen=True)
class Instance:
    """This server process among those sharing a store."""

    id: str
    address: str  # where other instances reach it (a sideband for a call it holds)


class ResumeError(Exception):
    """A resume that cannot happen: said to the client, then the socket closes."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def to_event(self) -> dict:
        return ProtocolError(self.code, self.message, "resume",
                             type="invalid_request_error").to_event()


def not_found(session_id: str) -> ResumeError:
    return ResumeError("session_not_found", f"There is no session '{session_id}' to resume: "
                       "it never existed here, or it was deleted.")


def store_unreachable() -> ResumeError:
    return ResumeError("store_unavailable", "The conversation store is unreachable right "
                       "now, so the session cannot be restored; try again shortly.")


async def watch_attachments(store: Store, sessions: LiveSessions,
                            interval_s: float = WATCH_INTERVAL_S,
                            sleep: Callable[[float], object] = asyncio.sleep) -> None:
    """Forever: end each open session here that another connection resumed (on another
    instance) or that was deleted. A write would notice too; this notices when idle."""
    while True:
        await sleep(interval_s)  # type: ignore[misc]
        held = {sid: live for sid, live in sessions.items()
                if live.saver is not None and live.saver.in_store}
        if not held:
            continue
        try:
            current = await store.attachments(list(held))
        except Exception as exc:  # the store is away: the writes report that
            log.debug("cannot check attachments: %s", exc)
            continue
        for sid, live in held.items():
            assert live.saver is not None
            if sid not in current:
                live.end(DELETED)
            elif current[sid] != live.saver.record.attachment:
                live.end(RESUMED_ELSEWHERE)
