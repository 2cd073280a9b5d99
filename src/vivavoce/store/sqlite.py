"""The store in a SQLite file (WAL mode): the default, for one instance.

One connection on one worker thread: SQLite takes one writer at a time anyway, and the
event loop never waits on the disk. `synchronous=FULL` syncs the log on every commit,
so what was committed survives a crash of the process and of the machine.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from vivavoce.store.sql import Cursor, SqlStore, ThreadedDatabase

T = TypeVar("T")
FILE_NAME = "vivavoce.db"
MEMORY = ":memory:"


class _SqliteCursor:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self.rowcount = 0

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        cur = self._conn.execute(sql, params)
        rows = cur.fetchall() if cur.description is not None else []
        self.rowcount = cur.rowcount
        return rows


class SqliteDatabase(ThreadedDatabase):
    name = "sqlite"

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.path = str(path)
        self._conn: sqlite3.Connection | None = None

    def _connect(self) -> None:
        if self.path != MEMORY:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: transactions are begun and ended here, explicitly.
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=5000")  # another process (the CLI) may be writing
        self._conn = conn

    def _disconnect(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _transaction(self, fn: Callable[[Cursor], T], write: bool, locked: bool) -> T:
        conn = self._conn
        assert conn is not None
        # IMMEDIATE takes the write lock up front: no deadlock upgrading a read later.
        conn.execute("BEGIN IMMEDIATE" if write or locked else "BEGIN")
        try:
            result = fn(_SqliteCursor(conn))
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return result


def sqlite_store(path: str | Path) -> SqlStore:
    return SqlStore(SqliteDatabase(path))
