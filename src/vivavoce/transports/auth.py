"""Who may open a session: the server's API key, or a short-lived client secret.

Client secrets are kept in the store, hashed, so a secret minted on one instance opens a
session on any other sharing the database; each instance also remembers the secrets it
minted itself, so they keep working while the store is unreachable.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from vivavoce.store import SecretRecord, Store, digest

log = logging.getLogger(__name__)

# Browsers cannot set headers on a WebSocket, so the key rides in a subprotocol.
KEY_SUBPROTOCOL = "openai-insecure-api-key."
DEFAULT_TTL_S = 600
MAX_TTL_S = 7200


@dataclass
class ClientSecret:
    value: str
    expires_at: int
    session: dict[str, Any]


@dataclass(frozen=True)
class Credential:
    """What a client's credential turned out to be."""

    allowed: bool
    key: bool = False  # the server's own API key
    secret: SecretRecord | None = None  # the client secret used, if one was

    @property
    def owner(self) -> str:
        return "api_key" if self.key else "client_secret" if self.secret else "open"


@dataclass
class Auth:
    """Checks credentials; mints client secrets."""

    api_key: str | None
    store: Store | None = None
    clock: Any = time.time
    _minted: dict[str, SecretRecord] = field(default_factory=dict)

    @property
    def required(self) -> bool:
        return self.api_key is not None

    def is_key(self, token: str | None) -> bool:
        return self.api_key is not None and token is not None \
            and secrets.compare_digest(token.encode(), self.api_key.encode())

    async def mint(self, ttl_s: int, session: dict[str, Any], session_id: str | None = None,
                   resume_token_hash: str | None = None, resumes: bool = False) -> ClientSecret:
        """A new client secret; `session_id` is the session it opens, or (`resumes`)
        the stored session it continues wherever it is used."""
        now = int(self.clock())
        self._minted = {k: s for k, s in self._minted.items() if s.expires_at > now}
        value = "ek_" + secrets.token_urlsafe(24)
        record = SecretRecord(digest(value), now + ttl_s, session, session_id,
                              resume_token_hash, resumes)
        self._minted[record.secret_hash] = record
        if self.store is not None:
            try:
                await self.store.put_secret(record)
            except Exception as exc:  # this instance still knows it
                log.warning("client secret not shared with other instances: %s", exc)
        return ClientSecret(value, record.expires_at, session)

    async def _secret(self, token: str) -> SecretRecord | None:
        hashed = digest(token)
        record = self._minted.get(hashed)
        if record is None and self.store is not None and token.startswith("ek_"):
            try:
                record = await self.store.secret(hashed)
            except Exception as exc:
                log.warning("cannot look up a client secret: %s", exc)
        if record is None or record.expires_at <= self.clock():
            return None
        return record

    async def check(self, token: str | None) -> Credential:
        if self.is_key(token):
            return Credential(True, key=True)
        secret = await self._secret(token) if token else None
        return Credential(secret is not None or not self.required, secret=secret)


def bearer(headers: Any, subprotocols: list[str]) -> str | None:
    """The credential a client offered, from the header or the subprotocol."""
    value = headers.get("authorization") or ""
    if value.lower().startswith("bearer "):
        return value[7:].strip()
    for protocol in subprotocols:
        if protocol.startswith(KEY_SUBPROTOCOL):
            return protocol[len(KEY_SUBPROTOCOL):]
    return None
