"""Every query the store makes, written once for SQLite and PostgreSQL alike.

A `Database` runs a function in a transaction on a worker thread (never on the event
loop) and hands it a `Cursor`: `execute` takes `?` placeholders (the PostgreSQL
cursor rewrites them) and returns the rows, if any.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

from vivavoce.store.base import (
    CallRecord,
    Changes,
    Detached,
    SecretRecord,
    SessionRecord,
    UsageRecord,
)
from vivavoce.types import Item

T = TypeVar("T")

# Why a connection's writes stop: said to its client when the socket closes.
RESUMED_ELSEWHERE = "session resumed by another connection"
DELETED = "session deleted"


class Cursor(Protocol):
    rowcount: int

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]: ...


class Database(Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def run(self, fn: Callable[[Cursor], T], write: bool = False,
                  locked: bool = False) -> T:
        """`fn` in one transaction; `locked` holds the database's migration lock."""
        ...


class ThreadedDatabase:
    """A `Database` whose connections live on worker threads of their own: the event
    loop hands each transaction over and awaits it. Subclasses connect, disconnect and
    run one transaction, all on those threads."""

    threads = 1
    name = "database"

    def __init__(self) -> None:
        self._executor: ThreadPoolExecutor | None = None

    def _connect(self) -> None:
        raise NotImplementedError

    def _disconnect(self) -> None:
        raise NotImplementedError

    def _transaction(self, fn: Callable[[Cursor], T], write: bool, locked: bool) -> T:
        raise NotImplementedError

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        if self._executor is None:
            raise RuntimeError(f"the {self.name} store is not open")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def open(self) -> None:
        self._executor = ThreadPoolExecutor(self.threads,
                                            thread_name_prefix=f"vivavoce-{self.name}")
        await self._call(self._connect)

    async def close(self) -> None:
        if self._executor is None:
            return
        try:
            await self._call(self._disconnect)
        finally:
            self._executor.shutdown(wait=False)
            self._executor = None

    async def run(self, fn: Callable[[Cursor], T], write: bool = False,
                  locked: bool = False) -> T:
        return await self._call(self._transaction, fn, write, locked)


_SESSION_COLUMNS = ("id, created_at, updated_at, owner, persona, model, config, tool_state, "
                    "resume_token_hash, holder, attachment")


def _session(row: tuple[Any, ...]) -> SessionRecord:
    return SessionRecord(id=row[0], created_at=row[1], updated_at=row[2], owner=row[3],
                         persona=row[4], model=row[5], config=json.loads(row[6]),
                         tool_state=json.loads(row[7]), resume_token_hash=row[8],
                         holder=row[9], attachment=int(row[10]))


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _marks(values: list[str]) -> str:
    return ", ".join("?" for _ in values)


class SqlStore:
    """The `Store` on a SQL database."""

    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.clock = clock

    async def open(self) -> None:
        from vivavoce.store.migrate import migrate

        await self.db.open()
        await migrate(self.db)

    async def close(self) -> None:
        await self.db.close()

    # ------------------------------------------------------------------ sessions
    async def write(self, changes: Changes) -> None:
        await self.db.run(lambda cur: self._write(cur, changes, self.clock()), write=True)

    def _write(self, cur: Cursor, changes: Changes, now: float) -> None:
        s = changes.session
        if changes.create:
            cur.execute(f"INSERT INTO sessions ({_SESSION_COLUMNS}) VALUES "
                        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (s.id, s.created_at, now, s.owner, s.persona, s.model,
                         _dumps(s.config), _dumps(s.tool_state), s.resume_token_hash,
                         s.holder, s.attachment))
        else:
            # The fence: a connection that lost the session writes nothing more.
            cur.execute("UPDATE sessions SET updated_at = ?, config = ?, tool_state = ? "
                        "WHERE id = ? AND attachment = ?",
                        (now, _dumps(s.config), _dumps(s.tool_state), s.id, s.attachment))
            if cur.rowcount == 0:
                exists = cur.execute("SELECT 1 FROM sessions WHERE id = ?", (s.id,))
                raise Detached(RESUMED_ELSEWHERE if exists else DELETED)
        for item_id in changes.deletes:
            for table in ("items", "item_audio"):
                cur.execute(f"DELETE FROM {table} WHERE session_id = ? AND item_id = ?",
                            (s.id, item_id))
        for position, item in changes.upserts:
            cur.execute("INSERT INTO items (session_id, item_id, position, body, saved_at) "
                        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (session_id, item_id) DO UPDATE "
                        "SET position = excluded.position, body = excluded.body, "
                        "saved_at = excluded.saved_at",
                        (s.id, item["id"], position, _dumps(item), now))
        for item_id, audio in changes.audio:
            cur.execute("INSERT INTO item_audio (session_id, item_id, audio, saved_at) "
                        "VALUES (?, ?, ?, ?) ON CONFLICT (session_id, item_id) DO UPDATE "
                        "SET audio = excluded.audio, saved_at = excluded.saved_at",
                        (s.id, item_id, audio, now))
        for use in changes.usage:
            cur.execute("INSERT INTO response_usage (session_id, response_id, status, "
                        "input_tokens, output_tokens, body, created_at) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (session_id, response_id) "
                        "DO NOTHING",
                        (s.id, use.response_id, use.status,
                         int(use.usage.get("input_tokens") or 0),
                         int(use.usage.get("output_tokens") or 0), _dumps(use.usage), now))

    async def session(self, session_id: str) -> SessionRecord | None:
        rows = await self.db.run(lambda cur: cur.execute(
            f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE id = ?", (session_id,)))
        return _session(rows[0]) if rows else None

    async def items(self, session_id: str) -> list[Item]:
        rows = await self.db.run(lambda cur: cur.execute(
            "SELECT body FROM items WHERE session_id = ? ORDER BY position, item_id",
            (session_id,)))
        return [json.loads(row[0]) for row in rows]

    async def usage(self, session_id: str) -> list[UsageRecord]:
        rows = await self.db.run(lambda cur: cur.execute(
            "SELECT response_id, status, body FROM response_usage WHERE session_id = ? "
            "ORDER BY created_at, response_id", (session_id,)))
        return [UsageRecord(r[0], r[1], json.loads(r[2])) for r in rows]

    async def item_audio(self, session_id: str) -> dict[str, bytes]:
        rows = await self.db.run(lambda cur: cur.execute(
            "SELECT item_id, audio FROM item_audio WHERE session_id = ?", (session_id,)))
        return {row[0]: bytes(row[1]) for row in rows}

    async def sessions(self, limit: int, after: str | None = None) -> list[SessionRecord]:
        def page(cur: Cursor) -> list[tuple[Any, ...]]:
            if after is None:
                return cur.execute(f"SELECT {_SESSION_COLUMNS} FROM sessions "
                                   "ORDER BY created_at DESC, id DESC LIMIT ?", (limit,))
            mark = cur.execute("SELECT created_at FROM sessions WHERE id = ?", (after,))
            if not mark:
                return []
            return cur.execute(f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE "
                               "created_at < ? OR (created_at = ? AND id < ?) "
                               "ORDER BY created_at DESC, id DESC LIMIT ?",
                               (mark[0][0], mark[0][0], after, limit))

        return [_session(row) for row in await self.db.run(page)]

    async def attach(self, session_id: str, instance: str,
                     resume_token_hash: str | None = None) -> SessionRecord | None:
        def take(cur: Cursor) -> list[tuple[Any, ...]]:
            return cur.execute(
                "UPDATE sessions SET holder = ?, attachment = attachment + 1, updated_at = ?, "
                "resume_token_hash = COALESCE(?, resume_token_hash) WHERE id = ? "
                f"RETURNING {_SESSION_COLUMNS}",
                (instance, self.clock(), resume_token_hash, session_id))

        rows = await self.db.run(take, write=True)
        return _session(rows[0]) if rows else None

    async def attachments(self, session_ids: list[str]) -> dict[str, int]:
        if not session_ids:
            return {}
        rows = await self.db.run(lambda cur: cur.execute(
            f"SELECT id, attachment FROM sessions WHERE id IN ({_marks(session_ids)})",
            tuple(session_ids)))
        return {row[0]: int(row[1]) for row in rows}

    async def rotate_token(self, session_id: str, old_hash: str | None, new_hash: str) -> bool:
        def swap(cur: Cursor) -> int:
            if old_hash is None:
                cur.execute("UPDATE sessions SET resume_token_hash = ? WHERE id = ?",
                            (new_hash, session_id))
            else:  # compare-and-swap: of two uses of one token, only the first wins
                cur.execute("UPDATE sessions SET resume_token_hash = ? "
                            "WHERE id = ? AND resume_token_hash = ?",
                            (new_hash, session_id, old_hash))
            return cur.rowcount

        return await self.db.run(swap, write=True) == 1

    async def delete(self, session_id: str) -> bool:
        def erase(cur: Cursor) -> int:
            # Children first: no reliance on the database enforcing ON DELETE CASCADE.
            for table in ("items", "item_audio", "response_usage", "calls"):
                cur.execute(f"DELETE FROM {table} WHERE session_id = ?", (session_id,))
            cur.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
            return cur.rowcount

        return await self.db.run(erase, write=True) == 1

    async def purge(self, updated_before: float, now: float) -> int:
        def erase(cur: Cursor) -> int:
            cur.execute("DELETE FROM client_secrets WHERE expires_at <= ?", (int(now),))
            old = "SELECT id FROM sessions WHERE updated_at < ?"
            for table in ("items", "item_audio", "response_usage", "calls"):
                cur.execute(f"DELETE FROM {table} WHERE session_id IN ({old})",
                            (updated_before,))
            cur.execute("DELETE FROM sessions WHERE updated_at < ?", (updated_before,))
            return cur.rowcount

        return await self.db.run(erase, write=True)

    # ------------------------------------------------------------------ client secrets
    async def put_secret(self, secret: SecretRecord) -> None:
        await self.db.run(lambda cur: cur.execute(
            "INSERT INTO client_secrets (secret_hash, expires_at, session, session_id, "
            "resume_token_hash, resumes, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (secret.secret_hash, secret.expires_at, _dumps(secret.session), secret.session_id,
             secret.resume_token_hash, int(secret.resumes), self.clock())), write=True)

    async def secret(self, secret_hash: str) -> SecretRecord | None:
        rows = await self.db.run(lambda cur: cur.execute(
            "SELECT secret_hash, expires_at, session, session_id, resume_token_hash, resumes "
            "FROM client_secrets WHERE secret_hash = ?", (secret_hash,)))
        if not rows:
            return None
        r = rows[0]
        return SecretRecord(r[0], int(r[1]), json.loads(r[2]), r[3], r[4], bool(r[5]))

    # ------------------------------------------------------------------ calls
    async def put_call(self, call: CallRecord) -> None:
        await self.db.run(lambda cur: cur.execute(
            "INSERT INTO calls (call_id, session_id, instance, address, created_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (call_id) DO UPDATE SET "
            "session_id = excluded.session_id, instance = excluded.instance, "
            "address = excluded.address",
            (call.call_id, call.session_id, call.instance, call.address, self.clock())),
            write=True)

    async def call(self, call_id: str) -> CallRecord | None:
        rows = await self.db.run(lambda cur: cur.execute(
            "SELECT call_id, session_id, instance, address FROM calls WHERE call_id = ?",
            (call_id,)))
        return CallRecord(*rows[0]) if rows else None

    async def drop_call(self, call_id: str) -> None:
        await self.db.run(lambda cur: cur.execute("DELETE FROM calls WHERE call_id = ?",
                                                  (call_id,)), write=True)
