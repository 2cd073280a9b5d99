"""Who may open a session: the server's API key, or a short-lived client secret."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

# Browsers cannot set headers on a WebSocket, so the key rides in a subprotocol.
KEY_SUBPROTOCOL = "openai-insecure-api-key."
DEFAULT_TTL_S = 600
MAX_TTL_S = 7200


@dataclass
class ClientSecret:
    value: str
    expires_at: int
    session: dict[str, Any]


@dataclass
class Auth:
    """Checks credentials; holds the client secrets it has minted."""

    api_key: str | None
    clock: Any = time.time
    _secrets: dict[str, ClientSecret] = field(default_factory=dict)

    @property
    def required(self) -> bool:
        return self.api_key is not None

    def mint(self, ttl_s: int, session: dict[str, Any]) -> ClientSecret:
        now = int(self.clock())
        self._secrets = {k: s for k, s in self._secrets.items() if s.expires_at > now}
        secret = ClientSecret("ek_" + secrets.token_urlsafe(24), now + ttl_s, session)
        self._secrets[secret.value] = secret
        return secret

    def _secret(self, token: str) -> ClientSecret | None:
        # Compared in constant time, each one: how long a guess takes says nothing.
        found = None
        for value, secret in self._secrets.items():
            if secrets.compare_digest(value.encode(), token.encode()):
                found = secret
        return found

    def check(self, token: str | None) -> tuple[bool, ClientSecret | None]:
        """(allowed, the client secret used if any)."""
        if not self.required:
            return True, self._secret(token or "")
        if token is None:
            return False, None
        if secrets.compare_digest(token.encode(), (self.api_key or "").encode()):
            return True, None
        secret = self._secret(token)
        if secret is not None and secret.expires_at > self.clock():
            return True, secret
        return False, None


def bearer(headers: Any, subprotocols: list[str]) -> str | None:
    """The credential a client offered, from the header or the subprotocol."""
    value = headers.get("authorization") or ""
    if value.lower().startswith("bearer "):
        return value[7:].strip()
    for protocol in subprotocols:
        if protocol.startswith(KEY_SUBPROTOCOL):
            return protocol[len(KEY_SUBPROTOCOL):]
    return None
