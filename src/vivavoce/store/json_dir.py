"""Conversation logs as JSON files: `<directory>/<session id>.json`, one per session."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

from vivavoce.types import Item


class JsonDirectoryStore:
    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    async def save(self, session_id: str, items: list[Item]) -> None:
        # A file write can stall on a busy disk: never on the event loop.
        await asyncio.to_thread(self._write, session_id, items)

    def _write(self, session_id: str, items: list[Item]) -> None:
        """Replace the file atomically: a reader sees the old log or the new, never half."""
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{session_id}.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps({"session_id": session_id, "saved_at": time.time(),
                                   "items": items}, indent=1), encoding="utf-8")
        os.replace(tmp, path)
