"""The store in a SQLite file (WAL mode): the default, for one instance.

One connection on one worker thread: SQLite takes one writer at a time anyway, and the
event loop never waits on the disk. `synchronous=FULL` syncs the log on every commit,
so what was committed survives a crash of the process and of the machine.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from vivavoce.store.sql import Cursor, SqlStore

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


class SqliteDatabase:
    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self.path != MEMORY:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: transactions are begun and ended here, explicitly.
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=5000")  # another process (the CLI) may be writing
        return conn

    async def open(self) -> None:
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="vivavoce-sqlite")
        self._conn = await asyncio.get_running_loop().run_in_executor(self._executor,
                                                                      self._connect)

    async def close(self) -> None:
        if self._executor is None:
            return
        conn, executor = self._conn, self._executor
        self._conn, self._executor = None, None
        if conn is not None:
            await asyncio.get_running_loop().run_in_executor(executor, conn.close)
        executor.shutdown(wait=False)

    async def run(self, fn: Callable[[Cursor], T], write: bool = False,
                  locked: bool = False) -> T:
        if self._executor is None:
            raise RuntimeError("the SQLite store is not open")
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, self._transaction, fn, write or locked)

    def _transaction(self, fn: Callable[[Cursor], T], write: bool) -> T:
        conn = self._conn
        assert conn is not None
        # IMMEDIATE takes the write lock up front: no deadlock upgrading a read later.
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            result = fn(_SqliteCursor(conn))
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return result


def sqlite_store(path: str | Path) -> SqlStore:
    return SqlStore(SqliteDatabase(path))
