"""Where conversation logs are saved: one small async interface.

The JSON directory is the first implementation; a database (SQLite, PostgreSQL) is
the next. The runner saves a session's log each time a finalized item changes and
before the event that announces it (`conversation.item.done`) leaves, so nothing a
client saw acknowledged is lost.
"""

from __future__ import annotations

from typing import Protocol

from vivavoce.types import Item


class ConversationStore(Protocol):
    async def save(self, session_id: str, items: list[Item]) -> None:
        """Keep `items` (the session's finalized items, in conversation order) as the
        session's conversation, replacing what was kept before. Must not block the
        event loop."""
        ...
