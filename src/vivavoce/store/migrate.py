"""Versioned schema migrations: `migrations/NNNN_name.sql`, applied once each, in order.

`schema_version` records each one applied. Every migration runs in its own transaction
under the database's lock (several instances may start at once), so a schema is
either at a version or before it, never half-way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from importlib import resources

from vivavoce.store.sql import Cursor, Database

BOOKKEEPING = """CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at DOUBLE PRECISION NOT NULL)"""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    def statements(self) -> list[str]:
        # The files hold plain DDL, one statement per `;` (no procedural bodies).
        return [s.strip() for s in self.sql.split(";") if s.strip() and not _comment(s)]


def _comment(statement: str) -> bool:
    return all(line.strip().startswith("--") or not line.strip()
               for line in statement.splitlines())


def migrations() -> list[Migration]:
    found = []
    for entry in resources.files("vivavoce.store.migrations").iterdir():
        if entry.name.endswith(".sql"):
            number, _, name = entry.name.removesuffix(".sql").partition("_")
            found.append(Migration(int(number), name, entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise RuntimeError("migrations must be numbered 1, 2, 3, ... without gaps")
    return found


async def migrate(db: Database) -> list[int]:
    """Apply what is missing; the versions applied now."""
    applied: list[int] = []
    for migration in migrations():
        if await db.run(lambda cur, m=migration: _apply(cur, m), write=True, locked=True):
            applied.append(migration.version)
    return applied


def _apply(cur: Cursor, migration: Migration) -> bool:
    cur.execute(BOOKKEEPING)
    if cur.execute("SELECT 1 FROM schema_version WHERE version = ?", (migration.version,)):
        return False
    for statement in migration.statements():
        cur.execute(statement)
    cur.execute("INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.name, time.time()))
    return True


async def schema_version(db: Database) -> int:
    rows = await db.run(lambda cur: (cur.execute(BOOKKEEPING),
                                     cur.execute("SELECT MAX(version) FROM schema_version"))[1])
    return int(rows[0][0] or 0)
