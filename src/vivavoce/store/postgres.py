"""The store on PostgreSQL: several instances share sessions, client secrets and calls.

psycopg 3 with a connection pool; each transaction runs on a worker thread, so the
event loop never waits on the network. Short connect and statement timeouts: an
unreachable database fails a write quickly (the session goes on unsaved and retries)
instead of hanging it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from vivavoce.store.sql import Cursor, SqlStore, ThreadedDatabase

T = TypeVar("T")
POOL_SIZE = 4
TIMEOUT_S = 3
# Any fixed number: instances starting at once take turns migrating.
MIGRATION_LOCK = 7_301_984_114


class _PgCursor:
    def __init__(self, cur: Any) -> None:
        self._cur = cur
        self.rowcount = 0

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        self._cur.execute(sql.replace("?", "%s"), params)
        self.rowcount = self._cur.rowcount
        return self._cur.fetchall() if self._cur.description is not None else []


class PostgresDatabase(ThreadedDatabase):
    name = "postgres"
    threads = POOL_SIZE

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self._pool: Any = None

    def _connect(self) -> None:
        from psycopg_pool import ConnectionPool

        self._pool = ConnectionPool(
            self.url, min_size=1, max_size=self.threads, open=False, timeout=TIMEOUT_S,
            # A connection broken by a restart of the server is noticed and replaced.
            check=ConnectionPool.check_connection,
            kwargs={"connect_timeout": TIMEOUT_S,
                    "options": f"-c statement_timeout={TIMEOUT_S * 1000}"})
        self._pool.open(wait=True, timeout=TIMEOUT_S * 3)

    def _disconnect(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def _transaction(self, fn: Callable[[Cursor], T], write: bool, locked: bool) -> T:
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            if locked:
                cur.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            return fn(_PgCursor(cur))


def postgres_store(url: str) -> SqlStore:
    return SqlStore(PostgresDatabase(url))
