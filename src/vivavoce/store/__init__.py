"""Conversations kept beyond the socket: the pure log, and the durable store (SQLite or
PostgreSQL) behind one interface."""

from vivavoce.store.base import (
    CallRecord,
    Changes,
    Detached,
    SecretRecord,
    SessionRecord,
    Store,
    UsageRecord,
    digest,
)
from vivavoce.store.factory import default_data_dir, store_for
from vivavoce.store.log import ConversationLog

__all__ = ["CallRecord", "Changes", "ConversationLog", "Detached", "SecretRecord",
           "SessionRecord", "Store", "UsageRecord", "default_data_dir", "digest", "store_for"]
