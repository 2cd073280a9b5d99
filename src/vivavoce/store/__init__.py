"""Conversations kept beyond the socket: the pure log, and where it is saved."""

from vivavoce.store.base import ConversationStore
from vivavoce.store.json_dir import JsonDirectoryStore
from vivavoce.store.log import ConversationLog

__all__ = ["ConversationLog", "ConversationStore", "JsonDirectoryStore"]
