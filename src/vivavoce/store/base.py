"""The durable store behind one small interface: what it keeps and how it is asked.

Two implementations share every query (`sql.SqlStore`): SQLite, a file under the data
directory (the default), and PostgreSQL, which several instances can share. It keeps
sessions (config, persona, owner, who holds each now), each session's finalized items
in conversation order (and their audio, only if asked), usage per response, client
secrets (hashed) and live WebRTC
calls (which instance holds each, for the sideband). Every method is a coroutine that
never blocks the event loop.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Protocol

from vivavoce.types import Item


def digest(secret: str) -> str:
    """How secrets are kept: a SHA-256, never the secret itself. They are long random
    strings, so a fast hash is enough (nothing to guess from a dictionary)."""
    return hashlib.sha256(secret.encode()).hexdigest()


class Detached(Exception):
    """A write for a session this connection no longer holds: another connection resumed
    it (`reason` says so), or it was deleted."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class SessionRecord:
    id: str
    created_at: float
    updated_at: float
    owner: str  # who opened it: "api_key", "client_secret" or "open" (no key required)
    persona: str
    model: str
    config: dict[str, Any]  # the session object as last sent to the client
    tool_state: dict[str, Any] = field(default_factory=dict)  # server tools' state (the door)
    resume_token_hash: str | None = None
    holder: str | None = None  # the instance serving it now (None: nobody)
    attachment: int = 0  # bumped on every resume: a connection's writes are fenced by it

    def summary(self) -> dict[str, Any]:
        """What operators see of it (never the token's hash)."""
        return {"id": self.id, "object": "vivavoce.session", "created_at": self.created_at,
                "updated_at": self.updated_at, "owner": self.owner, "persona": self.persona,
                "model": self.model, "holder": self.holder}


@dataclass(frozen=True)
class UsageRecord:
    response_id: str
    status: str
    usage: dict[str, Any]  # the `usage` object of its response.done


@dataclass
class Changes:
    """One write of one session, applied in one transaction."""

    session: SessionRecord
    create: bool  # the first write: the session row is inserted
    upserts: list[tuple[int, Item]] = field(default_factory=list)  # (position, item)
    deletes: list[str] = field(default_factory=list)
    usage: list[UsageRecord] = field(default_factory=list)
    audio: list[tuple[str, bytes]] = field(default_factory=list)  # (item id, PCM16 24 kHz)


@dataclass(frozen=True)
class SecretRecord:
    """A client secret, by its hash: the session settings it opens with and, for a
    secret minted for one session, that session and the resume token it installs; or
    (`resumes`) the stored session it continues."""

    secret_hash: str
    expires_at: int
    session: dict[str, Any]
    session_id: str | None = None
    resume_token_hash: str | None = None
    resumes: bool = False


@dataclass(frozen=True)
class CallRecord:
    """A live WebRTC call: which session it carries and which instance holds it, with
    the address other instances reach that instance at."""

    call_id: str
    session_id: str
    instance: str
    address: str


class Store(Protocol):
    async def open(self) -> None:
        """Connect and bring the schema up to date (migrations)."""

    async def close(self) -> None: ...

    # ------------------------------------------------------------------ sessions
    async def write(self, changes: Changes) -> None:
        """Apply `changes` at once, or not at all. Raises `Detached` when the session's
        attachment moved on (resumed elsewhere) or the session is gone."""

    async def session(self, session_id: str) -> SessionRecord | None: ...

    async def items(self, session_id: str) -> list[Item]:
        """The session's items in conversation order."""

    async def usage(self, session_id: str) -> list[UsageRecord]: ...

    async def item_audio(self, session_id: str) -> dict[str, bytes]:
        """The audio kept of the session's items (--store-audio): PCM16 mono 24 kHz by
        item id."""

    async def sessions(self, limit: int, after: str | None = None) -> list[SessionRecord]:
        """Newest first; `after` is the id the previous page ended with."""

    async def attach(self, session_id: str, instance: str,
                     resume_token_hash: str | None = None) -> SessionRecord | None:
        """Hand the session to a new connection on `instance` (its attachment goes up,
        which detaches any other); a new token hash replaces the old when given."""

    async def attachments(self, session_ids: list[str]) -> dict[str, int]:
        """The current attachment of each session that still exists."""

    async def rotate_token(self, session_id: str, old_hash: str | None, new_hash: str) -> bool:
        """Replace the resume token if it still is `old_hash` (None: whatever it is)."""

    async def delete(self, session_id: str) -> bool: ...

    async def purge(self, updated_before: float, now: float) -> int:
        """Erase sessions untouched since `updated_before` and expired client secrets;
        how many sessions went."""

    # ------------------------------------------------------------------ client secrets
    async def put_secret(self, secret: SecretRecord) -> None: ...

    async def secret(self, secret_hash: str) -> SecretRecord | None: ...

    # ------------------------------------------------------------------ calls
    async def put_call(self, call: CallRecord) -> None: ...

    async def call(self, call_id: str) -> CallRecord | None: ...

    async def drop_call(self, call_id: str) -> None: ...
