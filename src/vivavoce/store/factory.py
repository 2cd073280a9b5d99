"""Which store a server uses: PostgreSQL when given a URL, else a SQLite file in the data
directory (`--data-dir`, `VIVAVOCE_DATA_DIR`, else the user's data directory), or
SQLite in memory when nothing is to be kept (`--no-store`)."""

from __future__ import annotations

import os
from pathlib import Path

from vivavoce.store.postgres import postgres_store
from vivavoce.store.sql import SqlStore
from vivavoce.store.sqlite import FILE_NAME, MEMORY, sqlite_store


def default_data_dir() -> Path:
    explicit = os.environ.get("VIVAVOCE_DATA_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "vivavoce"


def store_for(database_url: str | None = None, data_dir: str | None = None,
              keep: bool = True) -> SqlStore:
    if database_url:
        if not database_url.startswith(("postgresql://", "postgres://")):
            raise ValueError("--database-url must be a postgresql:// URL")
        return postgres_store(database_url)
    if not keep:
        return sqlite_store(MEMORY)
    return sqlite_store(Path(data_dir or default_data_dir()) / FILE_NAME)
